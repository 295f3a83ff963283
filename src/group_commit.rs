//! Group commit: a ticker thread that, every `sync_interval`, hands each
//! writer with unsynced frames to a small pool of I/O threads, which write and
//! fdatasync it. Size-triggered flushes from `append` go to the same pool.
//! Several threads, because fdatasync of different files proceeds in parallel
//! on SSDs and one slow file must not delay every other camera's sync.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::store::Shared;
use crate::writer::CameraWriter;

pub(crate) struct Job {
    pub writer: Arc<CameraWriter>,
    pub sync: bool,
}

pub(crate) struct GroupCommit {
    stop: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the ticker, the janitor (disk pressure) and `io_threads`
    /// workers serving `jobs`.
    pub fn start(
        shared: Weak<Shared>,
        jobs_tx: Sender<Job>,
        jobs_rx: Receiver<Job>,
        interval: Duration,
        io_threads: usize,
        pressure_interval: Duration,
    ) -> GroupCommit {
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let mut threads = Vec::new();
        let (janitor_shared, janitor_stop) = (shared.clone(), stop_rx.clone());
        threads.push(
            std::thread::Builder::new()
                .name("vidvault-commit".into())
                .spawn(move || ticker(shared, jobs_tx, stop_rx, interval))
                .expect("spawn group-commit thread"),
        );
        threads.push(
            std::thread::Builder::new()
                .name("vidvault-janitor".into())
                .spawn(move || janitor(janitor_shared, janitor_stop, pressure_interval))
                .expect("spawn janitor thread"),
        );
        for i in 0..io_threads.max(1) {
            let rx = jobs_rx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("vidvault-io-{i}"))
                    .spawn(move || {
                        for job in rx.iter() {
                            job.writer.background_flush(job.sync);
                        }
                    })
                    .expect("spawn I/O thread"),
            );
        }
        GroupCommit { stop: Some(stop_tx), threads }
    }

    /// Stops the ticker; the workers exit once every job sender is gone
    /// (the store drops its own sender before calling this).
    pub fn stop(mut self) {
        self.stop.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Checks free space every `interval` and reclaims footage under pressure.
/// A failed check becomes the store's alarm rather than a silent stop.
fn janitor(shared: Weak<Shared>, stop: Receiver<()>, interval: Duration) {
    loop {
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if let Err(e) = crate::pressure::check(&shared) {
            shared.set_alarm(Some(format!("disk pressure check failed: {e}")));
        }
    }
}

fn ticker(shared: Weak<Shared>, jobs: Sender<Job>, stop: Receiver<()>, interval: Duration) {
    loop {
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let writers = shared.live_writers();
        drop(shared);
        for w in writers {
            if w.needs_sync()
                && !w.sync_queued.swap(true, Ordering::AcqRel)
                && jobs.send(Job { writer: w, sync: true }).is_err()
            {
                return;
            }
        }
    }
}
