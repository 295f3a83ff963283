//! The exception classes of `vidvault._core`, declared here at module init,
//! and the mapping of each core error onto one of them.
//!
//! The classes are built by the binding itself (no import of the Python
//! package, so `vidvault.errors` can re-export them without a cycle). Several
//! also derive from a builtin exception (`WrongKeyError` is a `KeyError`,
//! `StorageError` an `OSError`...), which `create_exception!` cannot express,
//! so they are made with `type(name, bases, namespace)`, the way a `class`
//! statement makes them, and kept for the life of the interpreter.
//!
//! The core's messages say what failed and where; what a Python user can do
//! about it is added here, per class, as the `hint` attribute and at the end
//! of the message.

use pyo3::exceptions::{
    PyException, PyFileExistsError, PyKeyError, PyLookupError, PyOSError, PyPermissionError, PyRuntimeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PySuper, PyTuple, PyType};

use crate::error::Error;

/// A builtin exception a class derives from besides its vidvault parent, so
/// `except KeyError` and the like keep catching what they caught before.
#[derive(Clone, Copy)]
enum Builtin {
    None,
    KeyError,
    LookupError,
    FileExistsError,
    ValueError,
    OSError,
    PermissionError,
}

impl Builtin {
    fn type_object(self, py: Python<'_>) -> Option<Bound<'_, PyType>> {
        Some(match self {
            Builtin::None => return None,
            Builtin::KeyError => py.get_type::<PyKeyError>(),
            Builtin::LookupError => py.get_type::<PyLookupError>(),
            Builtin::FileExistsError => py.get_type::<PyFileExistsError>(),
            Builtin::ValueError => py.get_type::<PyValueError>(),
            Builtin::OSError => py.get_type::<PyOSError>(),
            Builtin::PermissionError => py.get_type::<PyPermissionError>(),
        })
    }
}

const BASE: &str = "VidvaultError";

/// Every class the core raises: (name, vidvault parent, builtin base, doc).
/// Parents come before their children. Python-only errors (media, models,
/// verification, redaction...) are declared in python/vidvault/errors.py on
/// top of the same `VidvaultError`.
const CLASSES: &[(&str, &str, Builtin, &str)] = &[
    (BASE, "", Builtin::None, "Base class of every vidvault error.\n\nEvery error carries a message saying what failed, where, and what to do;\nthe structured parts (camera, path, offset, pid, ...) are attributes as\nwell, so a service can react without parsing text. ``hint`` is the what-to-do\npart alone (None when there is nothing to add)."),
    ("WrongKeyError", BASE, Builtin::KeyError, "The master key does not open the store (attribute: ``path``)."),
    ("CorruptSegmentError", BASE, Builtin::None, "Stored bytes fail their checksum or authentication.\n\nAttributes: ``camera``, ``path`` (segment file), ``offset`` (byte offset)."),
    ("StoreDamagedError", BASE, Builtin::None, "The keystore or the audit log is damaged, or disagrees with what the store\nrecorded; nothing was changed (``path``, ``offset``: None when not about one byte)."),
    ("StoreLockedError", BASE, Builtin::None, "Another process holds the store open for writing (``pid``, ``path``)."),
    ("NotAStoreError", BASE, Builtin::None, "The path is not a vidvault store (``path``)."),
    ("StoreExistsError", BASE, Builtin::FileExistsError, "A store already exists where one was to be created (``path``)."),
    ("CatalogMissingError", BASE, Builtin::None, "The catalog database is missing; rebuild it from the segment files (``path``)."),
    ("CatalogError", BASE, Builtin::None, "The catalog database failed (SQLite error)."),
    ("UnknownCameraError", BASE, Builtin::LookupError, "No camera with that id (``camera``)."),
    ("CameraExistsError", BASE, Builtin::None, "A camera with that id already exists (``camera``)."),
    ("WriterBusyError", BASE, Builtin::None, "The camera already has an open writer (``camera``)."),
    ("WriterFailedError", BASE, Builtin::None, "A writer hit an unrecoverable I/O error (``camera``, ``segment``)."),
    ("ShreddedError", BASE, Builtin::None, "The footage's key was destroyed by retention (``camera``, ``day``)."),
    ("InvalidArgumentError", BASE, Builtin::ValueError, "An argument is out of range or malformed."),
    ("TierError", BASE, Builtin::None, "The object-storage tier cannot be used: the bucket is missing or\nunreachable, the credentials are refused, an upload failed, an object read\nback does not match what was uploaded. The message names the endpoint and\nthe bucket, never the credentials."),
    ("StoreClosedError", BASE, Builtin::None, "The store was closed."),
    ("StorageError", BASE, Builtin::OSError, "An operating-system call failed (``path``, ``errno``)."),
    ("StorageFullError", "StorageError", Builtin::None, "The disk is full (ENOSPC/EDQUOT)."),
    ("AccessDenied", BASE, Builtin::PermissionError, "A session's grants do not allow the request. The attempt is in the\naudit log (``audit_seq``); ``reason`` names the missing grant."),
];

/// Where the classes say they live: the public module that re-exports them,
/// so tracebacks and pickles name `vidvault.errors.WrongKeyError` as before.
const MODULE: &str = "vidvault.errors";

static TYPES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn types(py: Python<'_>) -> PyResult<&Vec<Py<PyType>>> {
    TYPES.get_or_try_init(py, || {
        let mut made: Vec<Py<PyType>> = Vec::with_capacity(CLASSES.len());
        for &(name, parent, builtin, doc) in CLASSES {
            let namespace = PyDict::new(py);
            namespace.set_item("__module__", MODULE)?;
            namespace.set_item("__qualname__", name)?;
            namespace.set_item("__doc__", doc)?;
            let mut bases: Vec<Bound<'_, PyType>> = Vec::new();
            if parent.is_empty() {
                // The base: `__init__(message, **fields)` and `__str__`, bound
                // as methods through functools.partialmethod (a builtin
                // function alone would not receive `self`).
                let partialmethod = py.import("functools")?.getattr("partialmethod")?;
                namespace.set_item("__init__", partialmethod.call1((wrap_pyfunction!(error_init, py)?,))?)?;
                namespace.set_item("__str__", partialmethod.call1((wrap_pyfunction!(error_str, py)?,))?)?;
                namespace.set_item("hint", py.None())?;
                bases.push(py.get_type::<PyException>());
            } else {
                let parent_class = CLASSES.iter().position(|c| c.0 == parent).and_then(|i| made.get(i));
                let Some(parent_class) = parent_class else {
                    return Err(PyRuntimeError::new_err(format!(
                        "{name}: parent {parent} is not declared before it"
                    )));
                };
                bases.push(parent_class.bind(py).clone());
            }
            bases.extend(builtin.type_object(py));
            let class = py.get_type::<PyType>().call1((name, PyTuple::new(py, bases)?, namespace))?;
            made.push(class.cast_into::<PyType>()?.unbind());
        }
        Ok(made)
    })
}

fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let i = CLASSES.iter().position(|c| c.0 == name);
    match i.and_then(|i| types(py).map(|t| t.get(i).map(|c| c.bind(py).clone())).transpose()) {
        Some(found) => found,
        None => Err(PyRuntimeError::new_err(format!("no exception class {name} is declared"))),
    }
}

/// Adds every class to the module (at init).
pub fn add_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for (&(name, ..), class) in CLASSES.iter().zip(types(m.py())?) {
        m.add(name, class.clone_ref(m.py()))?;
    }
    Ok(())
}

/// `VidvaultError.__init__(self, message, **fields)`: the message is the
/// exception's single argument (so `str(e)` and pickling work as for any
/// exception) and every field becomes an attribute.
#[pyfunction]
#[pyo3(signature = (this, message, **fields))]
fn error_init(
    this: &Bound<'_, PyAny>,
    message: &Bound<'_, PyAny>,
    fields: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let base = class(this.py(), BASE)?;
    PySuper::new(&base, this)?.call_method1("__init__", (message,))?;
    this.setattr("message", message)?;
    if let Some(fields) = fields {
        for (name, value) in fields.iter() {
            this.setattr(name.cast_into::<PyString>()?, value)?;
        }
    }
    Ok(())
}

/// `VidvaultError.__str__`: the message alone (KeyError would quote it).
#[pyfunction]
fn error_str<'py>(this: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    this.getattr("message")
}

/// `InvalidArgumentError(message)` for a check done in the binding itself.
pub fn invalid_argument(py: Python<'_>, message: String) -> PyErr {
    match class(py, "InvalidArgumentError").and_then(|c| c.call1((message.clone(),))) {
        Ok(e) => PyErr::from_value(e),
        Err(_) => PyValueError::new_err(message),
    }
}

pub fn to_py(py: Python<'_>, err: Error) -> PyErr {
    match build(py, &err) {
        Ok(e) => e,
        Err(_) => PyRuntimeError::new_err(err.to_string()),
    }
}

/// What a Python user can do about `err`, when the binding knows better than
/// the core (which does not know its front ends).
fn hint(err: &Error) -> Option<String> {
    let text = match err {
        _ if err.is_disk_full() => {
            "free space on that disk or apply retention (Store.enforce_retention); nothing synced is \
             lost, and writes retried once there is room go on where they stopped"
        }
        Error::WrongKey { .. } => {
            "give the key the store was created with (key=: 32 bytes or 64 hex characters; on the command \
             line: --key-file FILE or VIDVAULT_KEY)"
        }
        Error::Corrupt { .. } => {
            "other segments stay readable; Store.fsck(deep=True) or `vidvault fsck STORE` gives a full report"
        }
        Error::StoreExists { .. } => "use Store.open to open it",
        Error::CatalogMissing { .. } => {
            "rebuild it from the segment files with `vidvault fsck STORE --rebuild` or \
             Store.open(..., rebuild_catalog=True)"
        }
        Error::UnknownCamera(id) => return Some(format!("add it first with store.add_camera({id:?})")),
        _ => return None,
    };
    Some(text.to_string())
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    let class_name = match err {
        Error::Io { path, source, .. } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            kwargs.set_item("errno", source.raw_os_error())?;
            if err.is_disk_full() {
                "StorageFullError"
            } else {
                "StorageError"
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
        Error::Damaged { path, offset, .. } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            kwargs.set_item("offset", offset)?;
            "StoreDamagedError"
        }
        Error::Locked { path, pid } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            kwargs.set_item("pid", pid)?;
            "StoreLockedError"
        }
        Error::NotAStore { path, .. } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            "NotAStoreError"
        }
        Error::StoreExists { path } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            "StoreExistsError"
        }
        Error::CatalogMissing { path } => {
            kwargs.set_item("path", path.to_string_lossy().to_string())?;
            "CatalogMissingError"
        }
        Error::Catalog { .. } if err.is_disk_full() => {
            // SQLITE_FULL is the disk being full, as ENOSPC is for a file.
            kwargs.set_item("path", py.None())?;
            kwargs.set_item("errno", libc::ENOSPC)?;
            "StorageFullError"
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
        Error::Tier(_) => "TierError",
        Error::Closed => "StoreClosedError",
    };
    let mut message = err.to_string();
    if let Some(hint) = hint(err) {
        message = format!("{}; {hint}", message.trim_end_matches('.'));
        kwargs.set_item("hint", hint)?;
    }
    let instance = class(py, class_name)?.call((message,), Some(&kwargs))?;
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
