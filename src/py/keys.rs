//! `_core.Store`'s key methods: rotating the master key and the store's
//! Ed25519 keys (export signing, and the admin key that signs grants and
//! audit checkpoints).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::py::convert::key_arg;
use crate::py::errors::IntoPyResult;
use crate::py::store::PyStore;

#[pymethods]
impl PyStore {
    #[pyo3(signature = (new_key, *, actor = "operator"))]
    fn rotate_master_key(&self, py: Python<'_>, new_key: &[u8], actor: &str) -> PyResult<()> {
        let key = key_arg(py, new_key)?;
        py.detach(|| self.inner.rotate_master_key(key, actor)).py(py)
    }

    fn export_public_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let k = py.detach(|| self.inner.export_public_key()).py(py)?;
        Ok(PyBytes::new(py, &k))
    }

    fn sign_export<'py>(&self, py: Python<'py>, message: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let sig = py.detach(|| self.inner.sign_export(message)).py(py)?;
        Ok(PyBytes::new(py, &sig))
    }

    fn admin_public_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let k = py.detach(|| self.inner.admin_public_key()).py(py)?;
        Ok(PyBytes::new(py, &k))
    }
}
