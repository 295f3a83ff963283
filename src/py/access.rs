//! `_core.Store`'s access methods: issuing grants and authorizing a
//! session's requests (each decision is written to the audit log).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::access::grants::Grant;
use crate::error::Error;
use crate::py::convert::optional_range;
use crate::py::errors::IntoPyResult;
use crate::py::store::PyStore;
use crate::store::Target;
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

    /// The grant a token carries, checked now: `(grant dict, None)`, or
    /// `(None, why it is refused)`. Logs nothing (the caller does).
    fn verify_grant<'py>(
        &self,
        py: Python<'py>,
        token: &str,
    ) -> PyResult<(Option<Bound<'py, PyDict>>, Option<String>)> {
        let checked = py.detach(|| self.inner.verify_grant(token)).py(py)?;
        let g = match checked {
            Ok(g) => g,
            Err(why) => return Ok((None, Some(why))),
        };
        let d = PyDict::new(py);
        d.set_item("id", g.id)?;
        d.set_item("principal", g.principal)?;
        d.set_item("actions", g.actions)?;
        d.set_item("cameras", g.cameras)?;
        d.set_item("footage_from", g.footage_from.map(|t| t.0))?;
        d.set_item("footage_to", g.footage_to.map(|t| t.0))?;
        d.set_item("valid_from", g.valid_from.0)?;
        d.set_item("valid_until", g.valid_until.0)?;
        d.set_item("case", g.case)?;
        d.set_item("purpose", g.purpose)?;
        d.set_item("approver", g.approver)?;
        d.set_item("issued_by", g.issued_by)?;
        Ok((Some(d), None))
    }

    /// Checks and logs one request; raises AccessDenied when no grant allows it.
    /// `camera=None` asks for the whole store (a store-wide grant); a camera
    /// without `start`/`end` asks for its whole timeline. The result names the
    /// grant's footage window (`footage_from`/`footage_to`, None if open).
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
        let target = target(camera, start, end).py(py)?;
        let a = py.detach(|| self.inner.authorize(principal, &grants, action, target, reason)).py(py)?;
        let d = PyDict::new(py);
        d.set_item("grant_id", a.grant_id)?;
        d.set_item("footage_from", a.footage_from.map(|t| t.0))?;
        d.set_item("footage_to", a.footage_to.map(|t| t.0))?;
        d.set_item("audit_seq", a.audit_seq)?;
        d.set_item("audit_hash", PyBytes::new(py, &a.audit_hash))?;
        Ok(d)
    }
}

fn target(camera: Option<&str>, start: Option<i64>, end: Option<i64>) -> crate::error::Result<Target<'_>> {
    if start.is_some() != end.is_some() {
        return Err(Error::invalid(
            "give both start and end of the footage, or neither (the whole timeline)",
        ));
    }
    match camera {
        Some(id) => Ok(Target::Camera { id, footage: optional_range(start, end)? }),
        None if start.is_none() => Ok(Target::Store),
        None => Err(Error::invalid(
            "footage bounds need a camera; without one the request is for the whole store",
        )),
    }
}
