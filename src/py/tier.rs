//! `_core.Store.set_remote_fetch` and `set_tier_relief`: hand the core the
//! Python functions that fetch a segment evicted to the object-storage tier
//! (python/vidvault/tier/read_cache.py) as a `FetchRemote`
//! (store/remote_source.rs), and that free space under disk pressure
//! (python/vidvault/tier/link.py) as a `RelievePressure`
//! (store/tier_relief.rs). Glue only: the call, what it returns, and its
//! exception's message carried back as a `TierError`.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;

use crate::error::Error;
use crate::py::store::PyStore;
use crate::store::remote_source::FetchRemote;
use crate::store::tier_relief::RelievePressure;

#[pymethods]
impl PyStore {
    /// ``fetch(segment_id) -> path`` of a verified local copy, or None.
    #[pyo3(signature = (fetch))]
    fn set_remote_fetch(&self, fetch: Option<Py<PyAny>>) {
        let fetch = fetch.map(|f| -> FetchRemote {
            Arc::new(move |segment_id| {
                Python::attach(|py| {
                    f.call1(py, (segment_id,))
                        .and_then(|p| p.extract::<PathBuf>(py))
                        .map_err(|e| tier_error(py, e))
                })
            })
        });
        self.inner.set_remote_fetch(fetch);
    }

    /// ``relieve(needed_bytes) -> freed_bytes``, or None.
    #[pyo3(signature = (relieve))]
    fn set_tier_relief(&self, relieve: Option<Py<PyAny>>) {
        let relieve = relieve.map(|f| -> RelievePressure {
            Arc::new(move |needed| {
                Python::attach(|py| {
                    f.call1(py, (needed,)).and_then(|n| n.extract::<u64>(py)).map_err(|e| tier_error(py, e))
                })
            })
        });
        self.inner.set_tier_relief(relieve);
    }
}

fn tier_error(py: Python<'_>, e: PyErr) -> Error {
    Error::Tier(e.value(py).str().map(|s| s.to_string()).unwrap_or_else(|_| e.to_string()))
}
