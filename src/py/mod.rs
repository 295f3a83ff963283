//! Python bindings (`vidvault._core`). Thin by rule: argument conversion,
//! GIL release around every call that does I/O or cryptography, and error
//! mapping. Anything with logic lives in the pure core where Rust tests
//! reach it; the Python-facing API is shaped in python/vidvault/. The
//! binding never imports that package.
//!
//! Files depend one way: errors <- convert <- (records, frame, writer) <-
//! store <- (retention, access, audit, keys, frame_info, clip_layout, replica: more `impl PyStore` blocks, by
//! concern); redact and camera_id stand alone. This file only assembles the
//! module.

use pyo3::prelude::*;

mod access;
mod audit;
mod camera_id;
mod clip_layout;
mod convert;
mod errors;
mod faults;
mod frame;
mod frame_info;
mod keys;
mod records;
mod redact;
mod replica;
mod retention;
mod store;
mod tier;
mod writer;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::add_classes(m)?;
    m.add_class::<store::PyStore>()?;
    m.add_class::<writer::PyWriter>()?;
    m.add_class::<frame::PyFrame>()?;
    m.add_class::<frame::PyFrameReader>()?;
    m.add_class::<frame_info::PyFrameInfo>()?;
    m.add_class::<clip_layout::PyClipLayout>()?;
    m.add_class::<records::PyCamera>()?;
    m.add_class::<records::PySegment>()?;
    m.add_class::<records::PyCodecConfig>()?;
    m.add_class::<records::PyHold>()?;
    m.add_class::<replica::PyReplicaKeys>()?;
    m.add_function(wrap_pyfunction!(convert::to_ns, m)?)?;
    m.add_function(wrap_pyfunction!(redact::redact_regions, m)?)?;
    m.add_function(wrap_pyfunction!(camera_id::is_gb28181_id, m)?)?;
    m.add_function(wrap_pyfunction!(camera_id::gb28181_device_type, m)?)?;
    m.add_function(wrap_pyfunction!(audit::verify_audit_log, m)?)?;
    m.add_function(wrap_pyfunction!(faults::_inject_fault, m)?)?;
    m.add_function(wrap_pyfunction!(faults::_clear_faults, m)?)?;
    m.add_function(wrap_pyfunction!(faults::_fault_report, m)?)?;
    m.add_function(wrap_pyfunction!(audit::verify_store_audit_log, m)?)?;
    m.add_function(wrap_pyfunction!(audit::restart_audit_log, m)?)?;
    m.add("FORMAT_VERSION", crate::segment::format::FORMAT_VERSION)?;
    m.add("PARTIAL_COPY_BLOCK", crate::segment::bytes::BLOCK)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
