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
use pyo3::types::PyBytes;

use crate::error::Error;
use crate::py::store::PyStore;
use crate::segment::bytes::FetchRange;
use crate::store::remote_source::{FetchRemote, Located};
use crate::store::tier_relief::RelievePressure;

#[pymethods]
impl PyStore {
    /// ``fetch(segment_id)``: the path of a verified local copy, or
    /// ``(path, read_range)`` for a partial copy (a sparse file of the
    /// object's size) and ``read_range(offset, length) -> bytes``, the
    /// checked bytes of that range of the object; or None.
    #[pyo3(signature = (fetch))]
    fn set_remote_fetch(&self, fetch: Option<Py<PyAny>>) {
        let fetch = fetch.map(|f| -> FetchRemote {
            Arc::new(move |segment_id| {
                Python::attach(|py| {
                    let found = f.call1(py, (segment_id,)).map_err(|e| tier_error(py, e))?;
                    if let Ok(path) = found.extract::<PathBuf>(py) {
                        return Ok(Located::Whole(path));
                    }
                    let (path, read_range) =
                        found.extract::<(PathBuf, Py<PyAny>)>(py).map_err(|e| tier_error(py, e))?;
                    Ok(Located::Partial(path, range_fetch(read_range)))
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

fn range_fetch(read_range: Py<PyAny>) -> FetchRange {
    Arc::new(move |offset, len| {
        Python::attach(|py| {
            let bytes = read_range.call1(py, (offset, len)).map_err(|e| tier_error(py, e))?;
            let bytes = bytes.bind(py).cast::<PyBytes>().map_err(|e| tier_error(py, e.into()))?;
            Ok(bytes.as_bytes().to_vec())
        })
    })
}

fn tier_error(py: Python<'_>, e: PyErr) -> Error {
    Error::Tier(e.value(py).str().map(|s| s.to_string()).unwrap_or_else(|_| e.to_string()))
}
