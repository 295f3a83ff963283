//! `FrameInfo`: a stored frame's clear metadata and payload length, listed
//! without decrypting (`Store.frame_infos`), and `Store.read_frame`, which
//! decrypts the one frame an info names.

use pyo3::prelude::*;

use crate::py::convert::time_range;
use crate::py::errors::IntoPyResult;
use crate::py::frame::PyFrame;
use crate::py::store::PyStore;
use crate::segment::reader::FrameInfo;

/// Where a frame is and what it is, without its bytes (not authenticated
/// until `Store.read_frame` decrypts it).
#[pyclass(frozen, module = "vidvault._core", name = "FrameInfo")]
pub struct PyFrameInfo {
    #[pyo3(get)]
    ts: i64,
    #[pyo3(get)]
    pts: Option<i64>,
    #[pyo3(get)]
    dts: Option<i64>,
    #[pyo3(get)]
    duration: Option<i64>,
    #[pyo3(get)]
    keyframe: bool,
    #[pyo3(get)]
    segment: u64,
    #[pyo3(get)]
    seq: u64,
    /// Offset of the frame's record in its segment file.
    #[pyo3(get)]
    offset: u64,
    /// Length of the access unit in bytes.
    #[pyo3(get)]
    size: usize,
}

impl From<FrameInfo> for PyFrameInfo {
    fn from(f: FrameInfo) -> Self {
        PyFrameInfo {
            ts: f.meta.ts.0,
            pts: f.meta.pts,
            dts: f.meta.dts,
            duration: f.meta.duration,
            keyframe: f.meta.keyframe,
            segment: f.segment_id,
            seq: f.meta.seq,
            offset: f.offset,
            size: f.size,
        }
    }
}

impl PyFrameInfo {
    /// What the clip layout needs of it.
    pub(crate) fn clip_frame(&self) -> crate::clip_layout::ClipFrame {
        crate::clip_layout::ClipFrame {
            ts: self.ts,
            pts: self.pts,
            dts: self.dts,
            duration: self.duration,
            keyframe: self.keyframe,
            size: self.size as u64,
            segment: self.segment,
            seq: self.seq,
        }
    }
}

#[pymethods]
impl PyFrameInfo {
    fn __len__(&self) -> usize {
        self.size
    }

    fn __repr__(&self) -> String {
        format!(
            "FrameInfo(ts={}, keyframe={}, bytes={}, segment={}, seq={})",
            crate::time::Timestamp(self.ts),
            if self.keyframe { "True" } else { "False" },
            self.size,
            self.segment,
            self.seq
        )
    }
}

#[pymethods]
impl PyStore {
    /// The frames `read` returns for `[start, end)`, as metadata only.
    fn frame_infos(&self, py: Python<'_>, camera: &str, start: i64, end: i64) -> PyResult<Vec<PyFrameInfo>> {
        let infos = py
            .detach(|| {
                self.inner
                    .frame_infos(camera, time_range(start, end))?
                    .collect::<crate::error::Result<Vec<_>>>()
            })
            .py(py)?;
        Ok(infos.into_iter().map(Into::into).collect())
    }

    /// The authenticated frame an info names.
    fn read_frame(&self, py: Python<'_>, segment: u64, offset: u64, seq: u64) -> PyResult<PyFrame> {
        let f = py.detach(|| self.inner.read_frame(segment, offset, seq)).py(py)?;
        Ok(PyFrame::from_core(py, f))
    }
}
