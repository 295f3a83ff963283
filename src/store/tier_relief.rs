//! store/tier_relief.rs: how disk pressure asks an object-storage tier to
//! free space before it deletes anything. The tier lives in the Python
//! package (`vidvault/tier/`); while one is set, the store is given a
//! relief function that trims the tier's read cache and evicts the local
//! files of segments the bucket holds (their catalog rows stay, their
//! footage reads back from the bucket). Only what that cannot free is left
//! to the disk-pressure sweep (store/pressure.rs), which deletes footage.

use std::sync::Arc;

use crate::error::Result;
use crate::store::hook_slot::HookSlot;

/// Frees at least this many bytes if it can; returns the bytes freed, or
/// fails (the bucket unreachable) naming the bucket and what was kept.
pub type RelievePressure = Arc<RelieveFn>;
pub type RelieveFn = dyn Fn(u64) -> Result<u64> + Send + Sync;

#[derive(Default)]
pub(crate) struct TierRelief {
    relieve: HookSlot<RelieveFn>,
}

impl TierRelief {
    pub fn set(&self, relieve: Option<RelievePressure>) {
        self.relieve.set(relieve);
    }

    /// Bytes the tier freed; None when no tier is connected.
    pub fn relieve(&self, needed: u64) -> Option<Result<u64>> {
        self.relieve.get().map(|relieve| relieve(needed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn without_a_tier_there_is_no_answer_and_with_one_its_answer_is_passed_on() {
        let relief = TierRelief::default();
        assert!(relief.relieve(10).is_none());
        relief.set(Some(Arc::new(|needed| Ok(needed / 2))));
        assert_eq!(relief.relieve(10).unwrap().unwrap(), 5);
        relief.set(Some(Arc::new(|_| Err(Error::Tier("bucket down".into())))));
        assert!(relief.relieve(10).unwrap().is_err());
        relief.set(None);
        assert!(relief.relieve(10).is_none());
    }
}
