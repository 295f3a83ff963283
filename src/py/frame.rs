//! `Frame` and the iterator that yields them.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::py::convert::py_opt;
use crate::py::errors::to_py;
use crate::segment::reader::Frame;
use crate::store::read::FrameCursor;

/// One stored access unit with its timestamps.
#[pyclass(frozen, module = "vidvault._core", name = "Frame")]
pub struct PyFrame {
    /// Wall-clock presentation time, ns since the Unix epoch (UTC).
    #[pyo3(get)]
    ts: i64,
    /// Source pts/dts/duration in the segment's time base (None if absent).
    #[pyo3(get)]
    pts: Option<i64>,
    #[pyo3(get)]
    dts: Option<i64>,
    #[pyo3(get)]
    duration: Option<i64>,
    #[pyo3(get)]
    keyframe: bool,
    /// Segment id and record sequence number it was read from.
    #[pyo3(get)]
    segment: u64,
    #[pyo3(get)]
    seq: u64,
    data: Py<PyBytes>,
}

impl PyFrame {
    pub fn from_core(py: Python<'_>, f: Frame) -> PyFrame {
        PyFrame {
            ts: f.meta.ts.0,
            pts: f.meta.pts,
            dts: f.meta.dts,
            duration: f.meta.duration,
            keyframe: f.meta.keyframe,
            segment: f.segment_id,
            seq: f.meta.seq,
            data: PyBytes::new(py, &f.data).unbind(),
        }
    }
}

#[pymethods]
impl PyFrame {
    /// The access unit bytes, exactly as appended.
    #[getter]
    fn data(&self, py: Python<'_>) -> Py<PyBytes> {
        self.data.clone_ref(py)
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.data.bind(py).as_bytes().len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Frame(ts={}, pts={}, dts={}, keyframe={}, bytes={}, segment={}, seq={})",
            crate::time::Timestamp(self.ts),
            py_opt(self.pts),
            py_opt(self.dts),
            if self.keyframe { "True" } else { "False" },
            self.__len__(py),
            self.segment,
            self.seq
        )
    }
}

/// Iterator over `store.read(...)`. Each step decrypts one frame with the GIL released.
#[pyclass(frozen, module = "vidvault._core", name = "FrameReader")]
pub struct PyFrameReader {
    cursor: Mutex<FrameCursor>,
}

impl PyFrameReader {
    pub fn new(cursor: FrameCursor) -> Self {
        PyFrameReader { cursor: Mutex::new(cursor) }
    }
}

#[pymethods]
impl PyFrameReader {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyFrame>> {
        let next = py.detach(|| self.cursor.lock().unwrap_or_else(|p| p.into_inner()).next());
        match next {
            None => Ok(None),
            Some(Ok(f)) => Ok(Some(PyFrame::from_core(py, f))),
            Some(Err(e)) => Err(to_py(py, e)),
        }
    }
}
