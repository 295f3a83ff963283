//! `_core.Store`: the store facade's lifecycle, cameras, writers, reads and
//! checks. Retention, access and audit add their methods in their own files
//! (retention.rs, access.rs, audit.rs), which depend on this one, never the
//! reverse. The public `vidvault.Store` (python/vidvault/store.py) wraps it
//! with datetime handling, context management and the media-level methods.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::py::convert::{config_from_args, key_arg, setting_arg, store_options, time_range};
use crate::py::errors::IntoPyResult;
use crate::py::frame::{PyFrame, PyFrameReader};
use crate::py::records::{PyCamera, PyCodecConfig, PySegment};
use crate::py::writer::PyWriter;
use crate::store::Store;
use crate::time::Timestamp;

#[pyclass(frozen, module = "vidvault._core", name = "Store")]
pub struct PyStore {
    pub(crate) inner: Store,
}

#[pymethods]
impl PyStore {
    /// Options (all optional; None or absent keeps the core's default), in
    /// seconds or bytes: sync_interval, roll_after, roll_bytes, gap_threshold,
    /// io_threads, flush_bytes, max_pending_bytes, min_free_bytes,
    /// pressure_interval, commit_mode ("syncfs" | "fdatasync"), segment_cache
    /// (open segment files kept), index_cache (segment indexes kept).
    #[staticmethod]
    #[pyo3(signature = (path, key, **options_))]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        key: &[u8],
        options_: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyStore> {
        let key = key_arg(py, key)?;
        let opts = store_options(py, options_)?;
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
        let opts = store_options(py, options_)?;
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
        let setting = setting_arg(retention)?;
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
        let config = config_from_args(py, codec, extradata, time_base, width, height, params)?;
        let w = py.detach(|| self.inner.writer(camera, config)).py(py)?;
        Ok(PyWriter::new(w))
    }

    fn read(&self, py: Python<'_>, camera: &str, start: i64, end: i64) -> PyResult<PyFrameReader> {
        let cursor = py.detach(|| self.inner.read(camera, time_range(start, end))).py(py)?;
        Ok(PyFrameReader::new(cursor))
    }

    fn seek(&self, py: Python<'_>, camera: &str, ts: i64) -> PyResult<Option<PyFrame>> {
        let f = py.detach(|| self.inner.seek(camera, Timestamp(ts))).py(py)?;
        Ok(f.map(|f| PyFrame::from_core(py, f)))
    }

    fn segments(&self, py: Python<'_>, camera: &str, start: i64, end: i64) -> PyResult<Vec<PySegment>> {
        let rows = py.detach(|| self.inner.segments(camera, time_range(start, end))).py(py)?;
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
        let gaps = py.detach(|| self.inner.gaps(camera, time_range(start, end), min_gap)).py(py)?;
        Ok(gaps.into_iter().map(|g| (g.start.0, g.end.0)).collect())
    }

    fn segment_config(&self, py: Python<'_>, segment_id: u64) -> PyResult<PyCodecConfig> {
        py.detach(|| self.inner.segment_config(segment_id)).py(py).map(Into::into)
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
