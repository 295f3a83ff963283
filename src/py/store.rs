//! `_core.Store` and the plain record classes it returns. The public
//! `vidvault.Store` (python/vidvault/store.py) wraps it with datetime
//! handling, context management and the media-level methods.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::catalog::{CameraRow, SegmentRow};
use crate::crypto::SecretKey;
use crate::error::Error;
use crate::py::errors::{to_py, IntoPyResult};
use crate::py::frame::{PyFrame, PyFrameReader};
use crate::py::writer::PyWriter;
use crate::retention::RetentionSetting;
use crate::segment::format::CodecConfig;
use crate::store::{Store, StoreOptions};
use crate::time::{TimeBase, TimeRange, Timestamp, NANOS_PER_SECOND};

/// An int (ns since the epoch, UTC) or anything `vidvault.timeutil.to_ns`
/// understands (aware datetime, ISO-8601 string).
pub fn timestamp_arg(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(v) = obj.extract::<i64>() {
        return Ok(v);
    }
    obj.py().import("vidvault.timeutil")?.getattr("to_ns")?.call1((obj,))?.extract()
}

fn key_arg(py: Python<'_>, key: &[u8]) -> PyResult<SecretKey> {
    SecretKey::from_slice(key).py(py)
}

pub fn config_from_args(
    codec: String,
    extradata: Option<Vec<u8>>,
    time_base: (u32, u32),
    width: u32,
    height: u32,
    params: String,
) -> PyResult<CodecConfig> {
    let time_base = TimeBase::new(time_base.0, time_base.1).ok_or_else(|| {
        Python::attach(|py| {
            to_py(py, Error::invalid(format!("invalid time base {}/{}", time_base.0, time_base.1)))
        })
    })?;
    Ok(CodecConfig { codec, extradata: extradata.unwrap_or_default(), time_base, width, height, params })
}

fn secs_to_ns(s: f64) -> i64 {
    (s * NANOS_PER_SECOND as f64).round() as i64
}

/// Store options from keyword arguments (seconds as floats, sizes as ints);
/// unknown names are an error rather than silently ignored.
fn options(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<StoreOptions> {
    let mut o = StoreOptions::default();
    let invalid = |msg: String| Python::attach(|py| to_py(py, Error::invalid(msg)));
    let Some(kwargs) = kwargs else { return Ok(o) };
    for (k, v) in kwargs.iter() {
        let name: String = k.extract()?;
        let positive = |x: f64| {
            if x > 0.0 {
                Ok(x)
            } else {
                Err(invalid(format!("{name} must be positive")))
            }
        };
        match name.as_str() {
            "sync_interval" => o.sync_interval = Duration::from_secs_f64(positive(v.extract()?)?),
            "roll_seconds" => o.roll_after_ns = secs_to_ns(positive(v.extract()?)?),
            "roll_bytes" => o.roll_bytes = v.extract::<u64>()?.max(1),
            "gap_threshold" => o.gap_threshold_ns = secs_to_ns(positive(v.extract()?)?),
            "io_threads" => o.io_threads = v.extract::<usize>()?.max(1),
            "flush_bytes" => o.flush_bytes = v.extract::<usize>()?.max(4096),
            "max_pending_bytes" => o.max_pending_bytes = v.extract()?,
            "min_free_bytes" => o.min_free_bytes = v.extract()?,
            "segment_cache" => o.segment_cache = v.extract::<usize>()?.max(1),
            "index_cache" => o.index_cache = v.extract::<usize>()?.max(1),
            "pressure_interval" => o.pressure_interval = Duration::from_secs_f64(positive(v.extract()?)?),
            "commit_mode" => {
                o.commit = match v.extract::<String>()?.as_str() {
                    "syncfs" => crate::store::CommitMode::Filesystem,
                    "fdatasync" => crate::store::CommitMode::PerFile,
                    other => {
                        return Err(invalid(format!(
                            "commit_mode {other:?}: use \"syncfs\" or \"fdatasync\""
                        )))
                    }
                }
            }
            other => return Err(invalid(format!("unknown store option {other:?}"))),
        }
    }
    o.max_pending_bytes = o.max_pending_bytes.max(o.flush_bytes);
    Ok(o)
}

#[pyclass(frozen, module = "vidvault._core", name = "Camera")]
pub struct PyCamera {
    #[pyo3(get)]
    id: String,
    #[pyo3(get)]
    labels: BTreeMap<String, String>,
    /// When the camera was added, ns since the epoch.
    #[pyo3(get)]
    created: i64,
    retention: RetentionSetting,
}

impl From<CameraRow> for PyCamera {
    fn from(r: CameraRow) -> Self {
        PyCamera { id: r.id, labels: r.labels, created: r.created.0, retention: r.retention }
    }
}

#[pymethods]
impl PyCamera {
    /// None (store default), a class name, or (max_age_ns, max_bytes, min_age_ns).
    #[getter]
    fn retention<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::py::retention::setting_to_py(py, &self.retention)
    }

    fn __repr__(&self) -> String {
        format!("Camera(id={:?}, labels={:?})", self.id, self.labels)
    }
}

/// A catalog row. `end`, `frames`, `bytes` and `content_hash` are None while open.
#[pyclass(frozen, module = "vidvault._core", name = "Segment")]
pub struct PySegment {
    #[pyo3(get)]
    id: u64,
    #[pyo3(get)]
    camera: String,
    #[pyo3(get)]
    path: String,
    #[pyo3(get)]
    state: &'static str,
    #[pyo3(get)]
    codec: String,
    #[pyo3(get)]
    start: i64,
    #[pyo3(get)]
    end: Option<i64>,
    #[pyo3(get)]
    frames: Option<u64>,
    #[pyo3(get)]
    bytes: Option<u64>,
    content_hash: Option<[u8; 32]>,
    prev_hash: [u8; 32],
    #[pyo3(get)]
    created: i64,
    #[pyo3(get)]
    sealed_at: Option<i64>,
}

impl From<SegmentRow> for PySegment {
    fn from(r: SegmentRow) -> Self {
        PySegment {
            id: r.id,
            camera: r.camera,
            path: r.path,
            state: r.state.as_str(),
            codec: r.codec,
            start: r.start_ts.0,
            end: r.end_ts.map(|t| t.0),
            frames: r.frames,
            bytes: r.bytes,
            content_hash: r.content_hash,
            prev_hash: r.prev_hash,
            created: r.created.0,
            sealed_at: r.sealed_at.map(|t| t.0),
        }
    }
}

#[pymethods]
impl PySegment {
    /// SHA-256 of the segment's bytes before its footer (None while open).
    #[getter]
    fn content_hash<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.content_hash.map(|h| PyBytes::new(py, &h))
    }

    /// Content hash of the camera's previous segment: the hash chain link.
    #[getter]
    fn prev_hash<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.prev_hash)
    }

    fn __repr__(&self) -> String {
        format!(
            "Segment(id={}, camera={:?}, state={:?}, start={}, end={}, frames={})",
            self.id,
            self.camera,
            self.state,
            Timestamp(self.start),
            self.end.map(|e| Timestamp(e).to_string()).unwrap_or_else(|| "open".into()),
            crate::py::frame::py_opt(self.frames)
        )
    }
}

#[pyclass(frozen, module = "vidvault._core", name = "CodecConfig")]
pub struct PyCodecConfig {
    #[pyo3(get)]
    codec: String,
    extradata: Vec<u8>,
    #[pyo3(get)]
    time_base: (u32, u32),
    #[pyo3(get)]
    width: u32,
    #[pyo3(get)]
    height: u32,
    #[pyo3(get)]
    params: String,
}

#[pymethods]
impl PyCodecConfig {
    #[getter]
    fn extradata<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.extradata)
    }

    fn __repr__(&self) -> String {
        format!(
            "CodecConfig(codec={:?}, {}x{}, time_base={}/{}, extradata={} bytes)",
            self.codec,
            self.width,
            self.height,
            self.time_base.0,
            self.time_base.1,
            self.extradata.len()
        )
    }
}

#[pyclass(frozen, module = "vidvault._core", name = "Store")]
pub struct PyStore {
    pub(crate) inner: Store,
}

fn range(start: i64, end: i64) -> TimeRange {
    TimeRange::new(Timestamp(start), Timestamp(end))
}

#[pymethods]
impl PyStore {
    /// Options (all optional): sync_interval, roll_seconds, roll_bytes,
    /// gap_threshold, io_threads, flush_bytes, max_pending_bytes,
    /// min_free_bytes, pressure_interval, commit_mode ("syncfs" | "fdatasync"),
    /// segment_cache (open segment files kept), index_cache (segment indexes kept).
    #[staticmethod]
    #[pyo3(signature = (path, key, **options_))]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        key: &[u8],
        options_: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyStore> {
        let key = key_arg(py, key)?;
        let opts = options(options_)?;
        let inner = py.detach(|| Store::create(&path, key, opts)).py(py)?;
        Ok(PyStore { inner })
    }

    #[staticmethod]
    #[pyo3(signature = (path, key, *, rebuild_catalog = false, **options_))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        key: &[u8],
        rebuild_catalog: bool,
        options_: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyStore> {
        let key = key_arg(py, key)?;
        let opts = options(options_)?;
        let inner = py.detach(|| Store::open(&path, key, opts, rebuild_catalog)).py(py)?;
        Ok(PyStore { inner })
    }

    #[getter]
    fn store_id(&self) -> String {
        self.inner.store_id()
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.root().to_path_buf()
    }

    /// `retention`: None (store default), a class name, or a
    /// `(max_age_ns, max_bytes, min_age_ns)` tuple of the camera's own.
    #[pyo3(signature = (id, labels = None, retention = None))]
    fn add_camera(
        &self,
        py: Python<'_>,
        id: &str,
        labels: Option<BTreeMap<String, String>>,
        retention: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyCamera> {
        let setting = crate::py::retention::setting_arg(retention)?;
        py.detach(|| self.inner.add_camera(id, labels.unwrap_or_default(), setting)).py(py).map(Into::into)
    }

    fn set_labels(&self, py: Python<'_>, id: &str, labels: BTreeMap<String, String>) -> PyResult<PyCamera> {
        py.detach(|| self.inner.set_labels(id, labels)).py(py).map(Into::into)
    }

    fn camera(&self, py: Python<'_>, id: &str) -> PyResult<PyCamera> {
        py.detach(|| self.inner.camera(id)).py(py).map(Into::into)
    }

    fn cameras(&self, py: Python<'_>) -> PyResult<Vec<PyCamera>> {
        let rows = py.detach(|| self.inner.cameras()).py(py)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[pyo3(signature = (camera, codec, *, extradata = None, time_base = (1, 1_000_000_000), width = 0, height = 0, params = String::new()))]
    #[allow(clippy::too_many_arguments)]
    fn writer(
        &self,
        py: Python<'_>,
        camera: &str,
        codec: String,
        extradata: Option<Vec<u8>>,
        time_base: (u32, u32),
        width: u32,
        height: u32,
        params: String,
    ) -> PyResult<PyWriter> {
        let config = config_from_args(codec, extradata, time_base, width, height, params)?;
        let w = py.detach(|| self.inner.writer(camera, config)).py(py)?;
        Ok(PyWriter::new(w))
    }

    fn read(&self, py: Python<'_>, camera: &str, start: i64, end: i64) -> PyResult<PyFrameReader> {
        let cursor = py.detach(|| self.inner.read(camera, range(start, end))).py(py)?;
        Ok(PyFrameReader::new(cursor))
    }

    fn seek(&self, py: Python<'_>, camera: &str, ts: i64) -> PyResult<Option<PyFrame>> {
        let f = py.detach(|| self.inner.seek(camera, Timestamp(ts))).py(py)?;
        Ok(f.map(|f| PyFrame::from_core(py, f)))
    }

    fn segments(&self, py: Python<'_>, camera: &str, start: i64, end: i64) -> PyResult<Vec<PySegment>> {
        let rows = py.detach(|| self.inner.segments(camera, range(start, end))).py(py)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[pyo3(signature = (camera, start, end, min_gap = None))]
    fn gaps(
        &self,
        py: Python<'_>,
        camera: &str,
        start: i64,
        end: i64,
        min_gap: Option<i64>,
    ) -> PyResult<Vec<(i64, i64)>> {
        let gaps = py.detach(|| self.inner.gaps(camera, range(start, end), min_gap)).py(py)?;
        Ok(gaps.into_iter().map(|g| (g.start.0, g.end.0)).collect())
    }

    fn segment_config(&self, py: Python<'_>, segment_id: u64) -> PyResult<PyCodecConfig> {
        let c = py.detach(|| self.inner.segment_config(segment_id)).py(py)?;
        Ok(PyCodecConfig {
            codec: c.codec,
            extradata: c.extradata,
            time_base: (c.time_base.num, c.time_base.den),
            width: c.width,
            height: c.height,
            params: c.params,
        })
    }

    #[pyo3(signature = (deep = false))]
    fn fsck<'py>(&self, py: Python<'py>, deep: bool) -> PyResult<Bound<'py, PyDict>> {
        let r = py.detach(|| self.inner.fsck(deep)).py(py)?;
        let d = PyDict::new(py);
        d.set_item("segments", r.segments)?;
        d.set_item("frames", r.frames)?;
        d.set_item("bytes", r.bytes)?;
        d.set_item("problems", problems(py, &r.problems)?)?;
        Ok(d)
    }

    fn rebuild_catalog<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = py.detach(|| self.inner.rebuild_catalog()).py(py)?;
        let d = PyDict::new(py);
        d.set_item("cameras", r.cameras)?;
        d.set_item("segments", r.segments)?;
        d.set_item("repaired", r.repaired)?;
        d.set_item("holds", r.holds)?;
        d.set_item("tombstones", r.tombstones)?;
        d.set_item("problems", problems(py, &r.problems)?)?;
        Ok(d)
    }

    /// What recovery did when the store was opened (one dict per segment).
    fn recovery_report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for r in self.inner.recovery_report() {
            let d = PyDict::new(py);
            d.set_item("camera", &r.camera)?;
            d.set_item("segment_id", r.segment_id)?;
            d.set_item("path", r.path.to_string_lossy().to_string())?;
            d.set_item("action", r.action)?;
            d.set_item("frames", r.frames)?;
            d.set_item("discarded_bytes", r.discarded_bytes)?;
            d.set_item("detail", &r.detail)?;
            out.append(d)?;
        }
        Ok(out)
    }

    fn export_public_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let k = py.detach(|| self.inner.export_public_key()).py(py)?;
        Ok(PyBytes::new(py, &k))
    }

    fn sign_export<'py>(&self, py: Python<'py>, message: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let sig = py.detach(|| self.inner.sign_export(message)).py(py)?;
        Ok(PyBytes::new(py, &sig))
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.close()).py(py)
    }
}

fn problems<'py>(py: Python<'py>, problems: &[crate::store::fsck::Problem]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for p in problems {
        let d = PyDict::new(py);
        d.set_item("camera", &p.camera)?;
        d.set_item("segment_id", p.segment_id)?;
        d.set_item("path", p.path.to_string_lossy().to_string())?;
        d.set_item("offset", p.offset)?;
        d.set_item("detail", &p.detail)?;
        out.append(d)?;
    }
    Ok(out)
}
