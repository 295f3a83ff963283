//! `_core.Store.set_remote_fetch`: hands the core the Python function that
//! fetches a segment evicted to the object-storage tier
//! (python/vidvault/tier/read_cache.py) as a `FetchRemote`
//! (store/remote_source.rs). Glue only: the call, the path it returns, and
//! its exception's message carried back as a `TierError`.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;

use crate::error::Error;
use crate::py::store::PyStore;
use crate::store::remote_source::FetchRemote;

#[pymethods]
impl PyStore {
    /// ``fetch(segment_id) -> path`` of a verified local copy, or None.
    #[pyo3(signature = (fetch))]
    fn set_remote_fetch(&self, fetch: Option<Py<PyAny>>) {
        let fetch = fetch.map(|f| -> FetchRemote {
            Arc::new(move |segment_id| {
                Python::attach(|py| {
                    f.call1(py, (segment_id,)).and_then(|p| p.extract::<PathBuf>(py)).map_err(|e| {
                        let message =
                            e.value(py).str().map(|s| s.to_string()).unwrap_or_else(|_| e.to_string());
                        Error::Tier(message)
                    })
                })
            })
        });
        self.inner.set_remote_fetch(fetch);
    }
}
