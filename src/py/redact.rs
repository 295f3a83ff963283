//! `_core.redact_regions`: the pixel kernels of `crate::redact` on a numpy
//! frame, in place, with the GIL released.

use numpy::{PyArray3, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::redact::{redact, Method, Region, Shape};

/// Hides `boxes` (x0, y0, x1, y1 in pixels, may reach outside the frame) of
/// a C-contiguous `HxWx3 uint8` array in place.
///
/// `method`: "blur" | "pixelate" | "fill"; `shape`: "rectangle" | "ellipse";
/// `strength` scales blur radius / block size; `color` is the fill colour in
/// the frame's own channel order.
#[pyfunction]
#[pyo3(signature = (frame, boxes, *, method, shape, strength = 1.0, color = (0, 0, 0)))]
pub fn redact_regions(
    py: Python<'_>,
    frame: &Bound<'_, PyArray3<u8>>,
    boxes: Vec<(i64, i64, i64, i64)>,
    method: &str,
    shape: &str,
    strength: f32,
    color: (u8, u8, u8),
) -> PyResult<()> {
    let method = match method {
        "blur" => Method::Blur { strength },
        "pixelate" => Method::Pixelate { strength },
        "fill" => Method::Fill { color: [color.0, color.1, color.2] },
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown redaction method {other:?}; use \"blur\", \"pixelate\" or \"fill\""
            )))
        }
    };
    let shape = match shape {
        "rectangle" => Shape::Rectangle,
        "ellipse" => Shape::Ellipse,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown redaction shape {other:?}; use \"rectangle\" or \"ellipse\""
            )))
        }
    };
    if !(strength.is_finite() && strength > 0.0) {
        return Err(PyValueError::new_err(format!("strength must be > 0, got {strength}")));
    }
    // try_readwrite, not the extractor's readwrite: a read-only or already
    // borrowed array must be an error, not a panic.
    let mut frame = frame.try_readwrite().map_err(|e| {
        PyValueError::new_err(format!("frame cannot be written in place ({e}); pass a writeable array"))
    })?;
    let dims = frame.shape().to_vec();
    if dims[2] != 3 {
        return Err(PyValueError::new_err(format!("frame must be HxWx3 uint8, got shape {dims:?}")));
    }
    let (height, width) = (dims[0], dims[1]);
    let pixels = frame
        .as_slice_mut()
        .map_err(|_| PyValueError::new_err("frame must be C-contiguous (use numpy.ascontiguousarray)"))?;
    let regions: Vec<Region> = boxes.into_iter().map(|(x0, y0, x1, y1)| Region { x0, y0, x1, y1 }).collect();
    py.detach(|| redact(pixels, width, height, &regions, shape, method))
        .map_err(|e| PyValueError::new_err(e.detail))
}
