//! `Store.lay_out_clip`: the MP4 sample tables of infos this store listed
//! (`crate::clip_layout`), for the virtual raw clip the web viewer serves.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::clip_layout::{lay_out, ClipTiming};
use crate::py::errors::IntoPyResult;
use crate::py::frame_info::PyFrameInfo;
use crate::py::store::PyStore;

/// What `crate::clip_layout::ClipLayout` holds, as Python values.
#[pyclass(frozen, module = "vidvault._core", name = "ClipLayout")]
pub struct PyClipLayout {
    #[pyo3(get)]
    first_pts: i64,
    #[pyo3(get)]
    first_dts: i64,
    #[pyo3(get)]
    tables: Py<PyBytes>,
    #[pyo3(get)]
    sample_offsets: Vec<u64>,
    #[pyo3(get)]
    sample_sizes: Vec<u64>,
    #[pyo3(get)]
    duration: i64,
    #[pyo3(get)]
    presented: i64,
    #[pyo3(get)]
    media_time: i64,
    #[pyo3(get)]
    edit_duration: i64,
    #[pyo3(get)]
    payload_bytes: u64,
}

#[pymethods]
impl PyStore {
    /// The sample tables of `infos` (decode order) presenting `[start, end)`;
    /// `head_without_tables`: the file's bytes before the first sample other
    /// than the tables. InvalidArgumentError says why it cannot be laid out.
    #[pyo3(signature = (infos, *, time_base, timescale, movie_timescale, start, end, head_without_tables))]
    #[allow(clippy::too_many_arguments)]
    fn lay_out_clip(
        &self,
        py: Python<'_>,
        infos: Vec<PyRef<'_, PyFrameInfo>>,
        time_base: (i64, i64),
        timescale: i64,
        movie_timescale: i64,
        start: i64,
        end: i64,
        head_without_tables: u64,
    ) -> PyResult<PyClipLayout> {
        let frames: Vec<_> = infos.iter().map(|i| i.clip_frame()).collect();
        drop(infos);
        let timing = ClipTiming { time_base, timescale, movie_timescale, start, end };
        let layout = py.detach(|| lay_out(&frames, &timing, head_without_tables)).py(py)?;
        Ok(PyClipLayout {
            first_pts: layout.first_pts,
            first_dts: layout.first_dts,
            tables: PyBytes::new(py, &layout.tables).unbind(),
            sample_offsets: layout.sample_offsets,
            sample_sizes: layout.sample_sizes,
            duration: layout.duration,
            presented: layout.presented,
            media_time: layout.media_time,
            edit_duration: layout.edit_duration,
            payload_bytes: layout.payload_bytes,
        })
    }
}
