//! Maps core errors onto the exception classes of `vidvault.errors`, carrying
//! the structured fields (camera, path, offset, pid...) as attributes.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::Error;

pub fn to_py(py: Python<'_>, err: Error) -> PyErr {
    match build(py, &err) {
        Ok(e) => e,
        Err(_) => PyRuntimeError::new_err(err.to_string()),
    }
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    let class = match err {
        Error::Io { path, source, .. } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            kwargs.set_item("errno", source.raw_os_error())?;
            match source.raw_os_error() {
                Some(libc::ENOSPC) | Some(libc::EDQUOT) => "StorageFullError",
                _ => "StorageError",
            }
        }
        Error::WrongKey { path, .. } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            "WrongKeyError"
        }
        Error::Corrupt { camera, path, offset, .. } => {
            kwargs.set_item("camera", camera)?;
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            kwargs.set_item("offset", offset)?;
            "CorruptSegmentError"
        }
        Error::Locked { path, pid } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            kwargs.set_item("pid", pid)?;
            "StoreLockedError"
        }
        Error::NotAStore { path, .. } | Error::StoreExists { path } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            if matches!(err, Error::StoreExists { .. }) {
                "StoreExistsError"
            } else {
                "NotAStoreError"
            }
        }
        Error::CatalogMissing { path } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            "CatalogMissingError"
        }
        Error::Catalog { .. } => "CatalogError",
        Error::UnknownCamera(id) => {
            kwargs.set_item("camera", id)?;
            "UnknownCameraError"
        }
        Error::CameraExists(id) => {
            kwargs.set_item("camera", id)?;
            "CameraExistsError"
        }
        Error::WriterBusy(id) => {
            kwargs.set_item("camera", id)?;
            "WriterBusyError"
        }
        Error::WriterFailed { camera, segment, .. } => {
            kwargs.set_item("camera", camera)?;
            kwargs.set_item("segment", segment)?;
            "WriterFailedError"
        }
        Error::KeyShredded { camera, day } => {
            kwargs.set_item("camera", camera)?;
            kwargs.set_item("day", day)?;
            "ShreddedError"
        }
        Error::AccessDenied { principal, action, reason, audit_seq } => {
            kwargs.set_item("principal", principal)?;
            kwargs.set_item("action", action)?;
            kwargs.set_item("reason", reason)?;
            kwargs.set_item("audit_seq", audit_seq)?;
            "AccessDenied"
        }
        Error::InvalidArgument(_) => "InvalidArgumentError",
        Error::Closed => "StoreClosedError",
    };
    let cls = py.import("vidvault.errors")?.getattr(class)?;
    let instance = cls.call((err.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

/// `?`-friendly conversion inside binding methods.
pub trait IntoPyResult<T> {
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for crate::error::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
