//! GB/T 28181 device ids: the core's checks, for Python callers.

use pyo3::prelude::*;

#[pyfunction]
pub fn is_gb28181_id(id: &str) -> bool {
    crate::camera::is_gb28181_id(id)
}

#[pyfunction]
pub fn gb28181_device_type(id: &str) -> Option<&'static str> {
    crate::camera::gb28181_device_type(id)
}
