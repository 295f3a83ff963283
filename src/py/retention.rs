//! `_core.Store`'s retention methods: retention settings and classes, legal
//! holds, sweeps and disk pressure (a `#[pymethods]` block of its own).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::py::convert::{policy, policy_tuple, setting_arg, time_range, PolicyTuple};
use crate::py::errors::IntoPyResult;
use crate::py::records::{PyCamera, PyHold};
use crate::py::store::PyStore;
use crate::time::Timestamp;

fn sweep_dict<'py>(py: Python<'py>, r: &crate::store::sweep::SweepReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("now", r.now.0)?;
    d.set_item("dry_run", r.dry_run)?;
    let cams = PyList::empty(py);
    for c in &r.cameras {
        let cd = PyDict::new(py);
        cd.set_item("camera", &c.camera)?;
        cd.set_item("policy", policy_tuple(&c.policy))?;
        cd.set_item("kept_bytes", c.kept_bytes)?;
        cd.set_item("held_segments", c.held_segments)?;
        cd.set_item("warnings", &c.warnings)?;
        cams.append(cd)?;
    }
    d.set_item("cameras", cams)?;
    let deleted = PyList::empty(py);
    for del in r.deletions() {
        let s = &del.segment;
        let t = PyTuple::new(
            py,
            [
                s.id.into_pyobject(py)?.into_any(),
                s.camera.clone().into_pyobject(py)?.into_any(),
                s.start.0.into_pyobject(py)?.into_any(),
                s.end.0.into_pyobject(py)?.into_any(),
                s.bytes.into_pyobject(py)?.into_any(),
                del.reason.as_str().into_pyobject(py)?.into_any(),
            ],
        )?;
        deleted.append(t)?;
    }
    d.set_item("deleted", deleted)?;
    d.set_item("shredded", r.shredded.iter().map(|(c, day)| (c.clone(), *day)).collect::<Vec<_>>())?;
    d.set_item("undeletable_bytes", r.undeletable_bytes)?;
    Ok(d)
}

fn status_dict<'py>(
    py: Python<'py>,
    s: &crate::store::pressure::StorageStatus,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("free_bytes", s.free_bytes)?;
    d.set_item("total_bytes", s.total_bytes)?;
    d.set_item("min_free_bytes", s.min_free_bytes)?;
    d.set_item("alarm", &s.alarm)?;
    Ok(d)
}

#[pymethods]
impl PyStore {
    #[pyo3(signature = (camera, retention = None))]
    fn set_retention(
        &self,
        py: Python<'_>,
        camera: &str,
        retention: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyCamera> {
        let setting = setting_arg(retention)?;
        py.detach(|| self.inner.set_retention(camera, setting)).py(py).map(Into::into)
    }

    /// (source, (max_age_ns, max_bytes, min_age_ns)) of the policy in force.
    fn effective_retention(&self, py: Python<'_>, camera: &str) -> PyResult<(String, PolicyTuple)> {
        let (source, p) = py.detach(|| self.inner.effective_retention(camera)).py(py)?;
        Ok((source, policy_tuple(&p)))
    }

    fn define_retention_class(&self, py: Python<'_>, name: &str, policy_: PolicyTuple) -> PyResult<()> {
        py.detach(|| self.inner.define_retention_class(name, policy(policy_))).py(py)
    }

    /// (default class name, [(name, (max_age_ns, max_bytes, min_age_ns))]).
    fn retention_classes(&self, py: Python<'_>) -> PyResult<(String, Vec<(String, PolicyTuple)>)> {
        let (default, classes) = py.detach(|| self.inner.retention_classes()).py(py)?;
        Ok((default, classes.iter().map(|(n, p)| (n.clone(), policy_tuple(p))).collect()))
    }

    fn set_default_retention_class(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        py.detach(|| self.inner.set_default_retention_class(name)).py(py)
    }

    #[pyo3(signature = (camera, start, end, *, case, reason, actor, until = None))]
    #[allow(clippy::too_many_arguments)]
    fn hold(
        &self,
        py: Python<'_>,
        camera: &str,
        start: i64,
        end: i64,
        case: &str,
        reason: &str,
        actor: &str,
        until: Option<i64>,
    ) -> PyResult<PyHold> {
        let range = time_range(start, end);
        py.detach(|| self.inner.hold(camera, range, case, reason, until.map(Timestamp), actor))
            .py(py)
            .map(Into::into)
    }

    #[pyo3(signature = (hold_id, *, actor))]
    fn release_hold(&self, py: Python<'_>, hold_id: u64, actor: &str) -> PyResult<PyHold> {
        py.detach(|| self.inner.release(hold_id, actor)).py(py).map(Into::into)
    }

    #[pyo3(signature = (camera = None))]
    fn holds(&self, py: Python<'_>, camera: Option<&str>) -> PyResult<Vec<PyHold>> {
        let holds = py.detach(|| self.inner.holds(camera)).py(py)?;
        Ok(holds.into_iter().map(Into::into).collect())
    }

    #[pyo3(signature = (now = None, dry_run = false, actor = "retention"))]
    fn enforce_retention<'py>(
        &self,
        py: Python<'py>,
        now: Option<i64>,
        dry_run: bool,
        actor: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let r = py.detach(|| self.inner.enforce_retention(now.map(Timestamp), dry_run, actor)).py(py)?;
        sweep_dict(py, &r)
    }

    fn check_disk_pressure<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = py.detach(|| self.inner.check_disk_pressure()).py(py)?;
        status_dict(py, &s)
    }

    fn storage_status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = py.detach(|| self.inner.storage_status()).py(py)?;
        status_dict(py, &s)
    }
}
