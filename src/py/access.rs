//! `_core.Store`'s access methods: issuing grants and authorizing a
//! session's requests (each decision is written to the audit log).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::access::grants::Grant;
use crate::py::convert::optional_range;
use crate::py::errors::IntoPyResult;
use crate::py::store::PyStore;
use crate::time::Timestamp;

#[pymethods]
impl PyStore {
    /// Signs a grant; returns its token. Times are ns; footage bounds optional.
    #[pyo3(signature = (to, actions, cameras, *, valid_from, valid_until, case, issued_by,
        footage_from = None, footage_to = None, purpose = String::new(), approver = None))]
    #[allow(clippy::too_many_arguments)]
    fn issue_grant(
        &self,
        py: Python<'_>,
        to: String,
        actions: Vec<String>,
        cameras: Vec<String>,
        valid_from: i64,
        valid_until: i64,
        case: String,
        issued_by: String,
        footage_from: Option<i64>,
        footage_to: Option<i64>,
        purpose: String,
        approver: Option<String>,
    ) -> PyResult<String> {
        let grant = Grant {
            id: String::new(),
            store_id: String::new(),
            principal: to,
            actions,
            cameras,
            footage_from: footage_from.map(Timestamp),
            footage_to: footage_to.map(Timestamp),
            valid_from: Timestamp(valid_from),
            valid_until: Timestamp(valid_until),
            case,
            purpose,
            approver,
            issued_at: Timestamp(0),
            issued_by,
        };
        py.detach(|| self.inner.issue_grant(grant)).py(py)
    }

    /// Checks and logs one request; raises AccessDenied when no grant allows it.
    #[pyo3(signature = (principal, grants, action, camera = None, start = None, end = None, reason = ""))]
    #[allow(clippy::too_many_arguments)]
    fn authorize<'py>(
        &self,
        py: Python<'py>,
        principal: &str,
        grants: Vec<String>,
        action: &str,
        camera: Option<&str>,
        start: Option<i64>,
        end: Option<i64>,
        reason: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let a = py
            .detach(|| {
                self.inner.authorize(principal, &grants, action, camera, optional_range(start, end), reason)
            })
            .py(py)?;
        let d = PyDict::new(py);
        d.set_item("grant_id", a.grant_id)?;
        d.set_item("audit_seq", a.audit_seq)?;
        d.set_item("audit_hash", PyBytes::new(py, &a.audit_hash))?;
        Ok(d)
    }
}
