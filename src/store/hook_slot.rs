//! store/hook_slot.rs: a function the Python package gives the store at run
//! time (the object-storage tier's fetch and relief, store/remote_source.rs
//! and store/tier_relief.rs), which the core may call from any thread. The
//! core never imports Python: it only holds what it was given.

use std::sync::{Arc, RwLock};

pub(crate) struct HookSlot<F: ?Sized> {
    hook: RwLock<Option<Arc<F>>>,
}

impl<F: ?Sized> Default for HookSlot<F> {
    fn default() -> Self {
        HookSlot { hook: RwLock::new(None) }
    }
}

impl<F: ?Sized> HookSlot<F> {
    pub fn set(&self, hook: Option<Arc<F>>) {
        *self.hook.write().unwrap_or_else(|p| p.into_inner()) = hook;
    }

    /// The hook, cloned out so no lock is held while it runs (a fetch or an
    /// eviction may take seconds).
    pub fn get(&self) -> Option<Arc<F>> {
        self.hook.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
