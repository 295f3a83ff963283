//! store/janitor.rs: the disk-pressure janitor, a thread that checks free
//! space every `pressure_interval` and reclaims old footage under pressure
//! (store/pressure.rs). It is started and stopped by the facade beside the
//! group commit, and shares nothing with it but the store's state.

use std::path::PathBuf;
use std::sync::Weak;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::error::{Error, Result};
use crate::store::pressure;
use crate::store::shared::Shared;

pub(crate) struct Janitor {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Janitor {
    /// A thread the system refuses (EAGAIN) is an error, not a panic.
    pub fn start(shared: Weak<Shared>) -> Result<Janitor> {
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let thread = std::thread::Builder::new()
            .name("vidvault-janitor".into())
            .spawn(move || run(shared, stop_rx))
            .map_err(|e| Error::io("start the disk-pressure thread of", PathBuf::from("the store"), e))?;
        Ok(Janitor { stop: Some(stop_tx), thread: Some(thread) })
    }

    pub fn stop(mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A failed check becomes the store's alarm rather than a silent stop.
fn run(shared: Weak<Shared>, stop: Receiver<()>) {
    let Some(interval) = shared.upgrade().map(|s| s.options.pressure_interval) else {
        return;
    };
    loop {
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(shared) = shared.upgrade() else { return };
        if let Err(e) = pressure::check(&shared) {
            shared.set_alarm(Some(format!("disk pressure check failed: {e}")));
        }
    }
}
