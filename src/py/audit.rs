//! The audit log: `_core.Store`'s audit methods (record, read, verify),
//! `_core.verify_audit_log`, which checks a log file with a pinned public
//! key, and `_core.verify_store_audit_log`, which checks a store's log with
//! its master key without opening the store.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::access::audit::{AuditEntry, AuditVerification, NewEntry};
use crate::error::Error;
use crate::py::convert::{key_arg, optional_range};
use crate::py::errors::{to_py, IntoPyResult};
use crate::py::store::PyStore;
use crate::time::Timestamp;

fn entry_dict<'py>(py: Python<'py>, e: &AuditEntry) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("seq", e.seq)?;
    d.set_item("ts", e.ts.0)?;
    d.set_item("principal", &e.principal)?;
    d.set_item("action", &e.action)?;
    d.set_item("camera", &e.camera)?;
    d.set_item("start", e.footage_start.map(|t| t.0))?;
    d.set_item("end", e.footage_end.map(|t| t.0))?;
    d.set_item("outcome", &e.outcome)?;
    d.set_item("reason", &e.reason)?;
    d.set_item("case", &e.case)?;
    d.set_item("grant_id", &e.grant_id)?;
    d.set_item("details", &e.details)?;
    d.set_item("prev_hash", PyBytes::new(py, &e.prev_hash))?;
    d.set_item("hash", PyBytes::new(py, &e.hash))?;
    Ok(d)
}

fn verification_dict<'py>(py: Python<'py>, v: &AuditVerification) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("entries", v.entries)?;
    d.set_item("checkpoints", v.checkpoints)?;
    d.set_item("head_seq", v.head.map(|h| h.0))?;
    d.set_item("head_hash", v.head.map(|h| PyBytes::new(py, &h.1)))?;
    d.set_item("recorded_head_seq", v.recorded_head)?;
    d.set_item("continues_from", v.continues_from)?;
    d.set_item("problem_seq", v.problem.as_ref().map(|p| p.0))?;
    d.set_item("problem", v.problem.as_ref().map(|p| p.1.clone()))?;
    Ok(d)
}

/// Verifies an audit log file against a pinned Ed25519 public key, without
/// opening the store (no master key needed), and against the head recorded
/// in the keystore beside it when there is one.
#[pyfunction]
pub fn verify_audit_log<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    public_key: &[u8],
) -> PyResult<Bound<'py, PyDict>> {
    let key: [u8; 32] =
        public_key.try_into().map_err(|_| to_py(py, Error::invalid("an Ed25519 public key is 32 bytes")))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| to_py(py, Error::invalid("not a valid Ed25519 public key")))?;
    let v = py.detach(|| crate::access::audit::verify_with_keystore_beside(&path, &key)).py(py)?;
    verification_dict(py, &v)
}

/// Verifies the audit log of the store at `root` against the store's own
/// key and the head its keystore recorded, without opening the store.
#[pyfunction]
pub fn verify_store_audit_log<'py>(
    py: Python<'py>,
    root: std::path::PathBuf,
    key: &[u8],
) -> PyResult<Bound<'py, PyDict>> {
    let master = key_arg(py, key)?;
    let v = py.detach(|| crate::access::audit::verify_store_log(&root, &master)).py(py)?;
    verification_dict(py, &v)
}

/// Restarts the lost or damaged audit log of the closed store at `root`
/// (store/audit_restart.rs): the old files go to quarantine/, a new log
/// continues the chain from the head the keystore recorded.
#[pyfunction]
pub fn restart_audit_log<'py>(
    py: Python<'py>,
    root: std::path::PathBuf,
    key: &[u8],
    operator: String,
    reason: String,
) -> PyResult<Bound<'py, PyDict>> {
    let master = key_arg(py, key)?;
    let r = py
        .detach(|| crate::store::audit_restart::restart_audit_log(&root, master, &operator, &reason))
        .py(py)?;
    let d = PyDict::new(py);
    d.set_item("continues_from", r.continues_from)?;
    d.set_item("first_seq", r.first_seq)?;
    d.set_item("quarantined", r.quarantined)?;
    d.set_item("found", r.found)?;
    Ok(d)
}

#[pymethods]
impl PyStore {
    #[pyo3(signature = (principal, action, *, outcome, camera = None, start = None, end = None,
        reason = String::new(), case = String::new(), grant_id = String::new(), details = String::new()))]
    #[allow(clippy::too_many_arguments)]
    fn audit_record<'py>(
        &self,
        py: Python<'py>,
        principal: String,
        action: String,
        outcome: String,
        camera: Option<String>,
        start: Option<i64>,
        end: Option<i64>,
        reason: String,
        case: String,
        grant_id: String,
        details: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let footage = optional_range(start, end).py(py)?;
        let entry = NewEntry { principal, action, camera, footage, outcome, reason, case, grant_id, details };
        let e = py.detach(|| self.inner.audit_record(entry)).py(py)?;
        entry_dict(py, &e)
    }

    #[pyo3(signature = (camera = None, since = None, limit = 1_000_000, action = None))]
    fn audit_entries<'py>(
        &self,
        py: Python<'py>,
        camera: Option<&str>,
        since: Option<i64>,
        limit: usize,
        action: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let entries =
            py.detach(|| self.inner.audit_entries(camera, action, since.map(Timestamp), limit)).py(py)?;
        let out = PyList::empty(py);
        for e in &entries {
            out.append(entry_dict(py, e)?)?;
        }
        Ok(out)
    }

    fn audit_entry<'py>(&self, py: Python<'py>, seq: u64) -> PyResult<Option<Bound<'py, PyDict>>> {
        let e = py.detach(|| self.inner.audit_entry(seq)).py(py)?;
        e.map(|e| entry_dict(py, &e)).transpose()
    }

    fn audit_head<'py>(&self, py: Python<'py>) -> (u64, Bound<'py, PyBytes>) {
        let (seq, hash) = self.inner.audit_head();
        (seq, PyBytes::new(py, &hash))
    }

    fn audit_verify<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let v = py.detach(|| self.inner.audit_verify()).py(py)?;
        verification_dict(py, &v)
    }
}
