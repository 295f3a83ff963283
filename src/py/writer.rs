//! `Writer`: appends one camera's access units. `append` is the hot path: it
//! borrows the payload (no copy for `bytes`), releases the GIL and seals.

use std::sync::Arc;

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::py::convert::{config_from_args, timestamp_arg};
use crate::py::errors::IntoPyResult;
use crate::segment::writer::NewFrame;
use crate::store::writer::CameraWriter;
use crate::time::Timestamp;

#[pyclass(frozen, module = "vidvault._core", name = "Writer")]
pub struct PyWriter {
    inner: Arc<CameraWriter>,
}

impl PyWriter {
    pub fn new(inner: Arc<CameraWriter>) -> Self {
        PyWriter { inner }
    }
}

#[pymethods]
impl PyWriter {
    #[getter]
    fn camera(&self) -> &str {
        self.inner.camera()
    }

    /// Appends one access unit. `ts` is wall-clock UTC (int ns, aware
    /// datetime or ISO-8601 string, as `to_ns` reads them); `pts`/`dts`/`duration` are in the writer's time base.
    #[pyo3(signature = (ts, data, *, keyframe = false, pts = None, dts = None, duration = None))]
    #[allow(clippy::too_many_arguments)]
    fn append(
        &self,
        py: Python<'_>,
        ts: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        keyframe: bool,
        pts: Option<i64>,
        dts: Option<i64>,
        duration: Option<i64>,
    ) -> PyResult<()> {
        let ts = Timestamp(timestamp_arg(ts)?);
        let append = |bytes: &[u8]| {
            py.detach(|| self.inner.append(&NewFrame { ts, data: bytes, keyframe, pts, dts, duration }))
        };
        let result = if let Ok(b) = data.cast::<PyBytes>() {
            append(b.as_bytes())
        } else {
            // bytearray, memoryview, numpy arrays, av.Packet: anything with
            // the buffer protocol; copied once while holding the GIL.
            let buf = PyBuffer::<u8>::get(data)?;
            let owned = buf.to_vec(py)?;
            append(&owned)
        };
        result.py(py)
    }

    /// Blocks until every frame appended so far is on disk (fdatasync).
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.sync()).py(py)
    }

    /// Seals the current segment and syncs; the writer can no longer append.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.close()).py(py)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Switches codec parameters; the next frame must be a keyframe and
    /// starts a new segment.
    #[pyo3(signature = (codec, *, extradata = None, time_base = (1, 1_000_000_000), width = 0, height = 0, params = String::new()))]
    #[allow(clippy::too_many_arguments)]
    fn reconfigure(
        &self,
        py: Python<'_>,
        codec: String,
        extradata: Option<Vec<u8>>,
        time_base: (u32, u32),
        width: u32,
        height: u32,
        params: String,
    ) -> PyResult<()> {
        let config = config_from_args(py, codec, extradata, time_base, width, height, params)?;
        self.inner.reconfigure(config).py(py)
    }

    /// Counters: frames, payload_bytes, segments, queued_bytes, current_segment.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("frames", s.frames)?;
        d.set_item("payload_bytes", s.payload_bytes)?;
        d.set_item("segments", s.segments)?;
        d.set_item("queued_bytes", s.queued_bytes)?;
        d.set_item("current_segment", s.current_segment)?;
        d.set_item("syncs", s.syncs)?;
        d.set_item("recent_sync_us", s.recent_sync_us)?;
        Ok(d)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("Writer(camera={:?}, closed={})", self.inner.camera(), self.inner.is_closed())
    }
}
