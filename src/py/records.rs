//! The plain, frozen record classes `_core` returns: `Camera`, `Segment`,
//! `CodecConfig` and `Hold`. Each is a snapshot of a core value; none holds
//! a handle to the store.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::catalog::{CameraRow, SegmentRow};
use crate::py::convert::{py_opt, setting_to_py};
use crate::retention::{Hold, RetentionSetting};
use crate::segment::format::CodecConfig;
use crate::time::Timestamp;

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
        setting_to_py(py, &self.retention)
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
            py_opt(self.frames)
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

impl From<CodecConfig> for PyCodecConfig {
    fn from(c: CodecConfig) -> Self {
        PyCodecConfig {
            codec: c.codec,
            extradata: c.extradata,
            time_base: (c.time_base.num, c.time_base.den),
            width: c.width,
            height: c.height,
            params: c.params,
        }
    }
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

/// A legal hold: a snapshot of the core's `Hold`, whose rules it asks.
#[pyclass(frozen, module = "vidvault._core", name = "Hold")]
pub struct PyHold {
    hold: Hold,
}

impl From<Hold> for PyHold {
    fn from(hold: Hold) -> Self {
        PyHold { hold }
    }
}

#[pymethods]
impl PyHold {
    #[getter]
    fn id(&self) -> u64 {
        self.hold.id
    }

    #[getter]
    fn camera(&self) -> &str {
        &self.hold.camera
    }

    #[getter]
    fn start(&self) -> i64 {
        self.hold.start.0
    }

    #[getter]
    fn end(&self) -> i64 {
        self.hold.end.0
    }

    #[getter]
    fn case(&self) -> &str {
        &self.hold.case
    }

    #[getter]
    fn reason(&self) -> &str {
        &self.hold.reason
    }

    #[getter]
    fn actor(&self) -> &str {
        &self.hold.actor
    }

    #[getter]
    fn created(&self) -> i64 {
        self.hold.created.0
    }

    #[getter]
    fn until(&self) -> Option<i64> {
        self.hold.until.map(|t| t.0)
    }

    #[getter]
    fn released_at(&self) -> Option<i64> {
        self.hold.released.as_ref().map(|r| r.0 .0)
    }

    #[getter]
    fn released_by(&self) -> Option<&str> {
        self.hold.released.as_ref().map(|r| r.1.as_str())
    }

    /// In force at `now` (ns): not released and not past `until`.
    fn active_at(&self, now: i64) -> bool {
        self.hold.active_at(Timestamp(now))
    }

    fn __repr__(&self) -> String {
        let h = &self.hold;
        format!(
            "Hold(id={}, camera={:?}, case={:?}, {} .. {}, {})",
            h.id,
            h.camera,
            h.case,
            h.start,
            h.end,
            if h.released.is_some() { "released" } else { "in force" }
        )
    }
}
