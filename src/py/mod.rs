//! Python bindings (`vidvault._core`). Thin by rule: argument conversion,
//! GIL release around every call that does I/O or cryptography, and error
//! mapping. Anything with logic lives in the pure core where Rust tests
//! reach it; the Python-facing API is shaped in python/vidvault/.

use pyo3::prelude::*;

mod access;
mod errors;
mod frame;
mod redact;
mod retention;
mod store;
mod writer;

#[pyfunction]
fn is_gb28181_id(id: &str) -> bool {
    crate::camera::is_gb28181_id(id)
}

#[pyfunction]
fn gb28181_device_type(id: &str) -> Option<&'static str> {
    crate::camera::gb28181_device_type(id)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::PyStore>()?;
    m.add_class::<writer::PyWriter>()?;
    m.add_class::<frame::PyFrame>()?;
    m.add_class::<frame::PyFrameReader>()?;
    m.add_class::<store::PyCamera>()?;
    m.add_class::<store::PySegment>()?;
    m.add_class::<store::PyCodecConfig>()?;
    m.add_class::<retention::PyHold>()?;
    m.add_function(wrap_pyfunction!(redact::redact_regions, m)?)?;
    m.add_function(wrap_pyfunction!(is_gb28181_id, m)?)?;
    m.add_function(wrap_pyfunction!(access::verify_audit_log, m)?)?;
    m.add_function(wrap_pyfunction!(gb28181_device_type, m)?)?;
    m.add("FORMAT_VERSION", crate::segment::format::FORMAT_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
