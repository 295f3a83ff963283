//! The replica of a store's metadata in the object-storage tier:
//! `_core.Store.seal_keystore_replica` / `seal_replica_blob` (the live
//! store seals its files) and `_core.ReplicaKeys` (restore opens them).
//! Glue only: src/replica.rs and src/store/replica.rs hold the logic.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::error::Error;
use crate::py::convert::key_arg;
use crate::py::errors::{to_py, IntoPyResult};
use crate::py::store::PyStore;
use crate::replica::ReplicaKeys;

#[pymethods]
impl PyStore {
    fn seal_keystore_replica<'py>(&self, py: Python<'py>, seq: u64) -> PyResult<Bound<'py, PyBytes>> {
        let blob = py.detach(|| self.inner.seal_keystore_replica(seq)).py(py)?;
        Ok(PyBytes::new(py, &blob))
    }

    fn seal_keystore_tail<'py>(
        &self,
        py: Python<'py>,
        seq: u64,
        name: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let blob = py.detach(|| self.inner.seal_keystore_tail(seq, name)).py(py)?;
        Ok(PyBytes::new(py, &blob))
    }

    fn seal_replica_blob<'py>(
        &self,
        py: Python<'py>,
        seq: u64,
        name: &str,
        plain: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let blob = py.detach(|| self.inner.seal_replica_blob(seq, name, plain)).py(py)?;
        Ok(PyBytes::new(py, &blob))
    }

    fn index_segment_file(&self, py: Python<'_>, rel: &str) -> PyResult<u64> {
        py.detach(|| self.inner.index_segment_file(rel)).py(py)
    }

    fn reserve_segment_ids_through(&self, py: Python<'_>, id: u64) -> PyResult<()> {
        py.detach(|| self.inner.reserve_segment_ids_through(id)).py(py)
    }
}

#[pyclass(frozen, module = "vidvault._core", name = "ReplicaKeys")]
pub struct PyReplicaKeys {
    inner: ReplicaKeys,
}

#[pymethods]
impl PyReplicaKeys {
    /// Opens snapshot `seq`'s keystore blob of store `store_id` (UUID text)
    /// with the master key, writing it to `keystore_path`.
    #[staticmethod]
    fn restore(
        py: Python<'_>,
        keystore_path: PathBuf,
        store_id: &str,
        seq: u64,
        blob: &[u8],
        key: &[u8],
    ) -> PyResult<PyReplicaKeys> {
        let master = key_arg(py, key)?;
        let id = uuid::Uuid::parse_str(store_id)
            .map_err(|_| to_py(py, Error::invalid(format!("{store_id:?} is not a store id (a UUID)"))))?;
        let inner =
            py.detach(|| ReplicaKeys::restore(&keystore_path, id.as_bytes(), seq, blob, master)).py(py)?;
        Ok(PyReplicaKeys { inner })
    }

    fn verify_manifest(&self, manifest: &[u8], signature: &[u8]) -> bool {
        self.inner.verify_manifest(manifest, signature)
    }

    fn open_blob<'py>(
        &self,
        py: Python<'py>,
        seq: u64,
        name: &str,
        blob: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let plain = py.detach(|| self.inner.open_blob(seq, name, blob)).py(py)?;
        Ok(PyBytes::new(py, &plain))
    }

    fn export_public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.export_public_key())
    }
}
