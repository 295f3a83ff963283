//! store/remote_source.rs: where the file of a segment evicted to an
//! object-storage tier is read from. The tier lives in the Python package
//! (`vidvault/tier/`): when it evicts a segment's local file, the catalog
//! row stays, and the store is given a fetch function that brings the
//! segment's ciphertext into the tier's read cache, verified: the whole
//! object, or a partial copy completed block by block as it is read
//! (segment/bytes.rs). The core opens either like any segment file
//! (identity, header, footer and every frame authenticated as usual); it
//! never talks to the network itself.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Result;
use crate::segment::bytes::FetchRange;
use crate::store::hook_slot::HookSlot;

/// Where a segment's bytes are read from.
pub enum Located {
    /// A whole file: the segment's own, or a verified copy of its object.
    Whole(PathBuf),
    /// A sparse copy of the object's size, and the ranged fetch that
    /// completes it.
    Partial(PathBuf, FetchRange),
}

impl Located {
    pub fn path(&self) -> &PathBuf {
        match self {
            Located::Whole(p) | Located::Partial(p, _) => p,
        }
    }
}

/// Brings the segment with this id within reach (a verified copy, or a
/// partial one with its ranged fetch), or fails naming the segment, the
/// object and what to do.
pub type FetchRemote = Arc<FetchFn>;
pub type FetchFn = dyn Fn(u64) -> Result<Located> + Send + Sync;

#[derive(Default)]
pub(crate) struct RemoteSource {
    fetch: HookSlot<FetchFn>,
}

impl RemoteSource {
    pub fn set(&self, fetch: Option<FetchRemote>) {
        self.fetch.set(fetch);
    }

    /// `local` when the file is there (local footage never waits on the
    /// tier), else the fetched copy; `local` unchanged without a tier, so
    /// the open fails naming the missing file as before.
    pub fn locate(&self, segment_id: u64, local: PathBuf) -> Result<Located> {
        if local.exists() {
            return Ok(Located::Whole(local));
        }
        match self.fetch.get() {
            Some(fetch) => fetch(segment_id),
            None => Ok(Located::Whole(local)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_file_is_used_as_is_and_only_a_missing_one_is_fetched() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("here.vvs");
        std::fs::write(&here, b"x").unwrap();
        let gone = dir.path().join("gone.vvs");
        let source = RemoteSource::default();
        assert_eq!(source.locate(1, gone.clone()).unwrap().path(), &gone);
        let fetched = dir.path().join("cache-7.vvs");
        let f = fetched.clone();
        source.set(Some(Arc::new(move |id| {
            assert_eq!(id, 7);
            Ok(Located::Whole(f.clone()))
        })));
        assert_eq!(source.locate(7, here.clone()).unwrap().path(), &here);
        assert_eq!(source.locate(7, gone).unwrap().path(), &fetched);
    }
}
