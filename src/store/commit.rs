//! store/commit.rs: group commit, a ticker thread that, every `sync_interval`, makes the
//! frames of every writer durable, using a small pool of I/O threads that
//! also serve the size-triggered flushes from `append`.
//!
//! Two ways to commit (StoreOptions::commit):
//! - `Filesystem` (default): the pool writes every dirty writer's queued
//!   bytes, then one `syncfs` makes them all durable. One system call per
//!   interval instead of one fdatasync per camera: at 1,000 cameras that is
//!   ~0.1 CPU-second per second less and far fewer context switches. If
//!   syncfs reports an error it cannot say which file failed, so every
//!   writer then fdatasyncs its own file, which attributes the failure.
//! - `PerFile`: each writer writes and fdatasyncs its own file. For stores
//!   on a filesystem shared with busy neighbours, whose dirty data syncfs
//!   would flush too.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::error::{Error, Result};
use crate::store::shared::{CommitMark, CommitMode, Job, JobKind, LiveWriter, Shared};

pub(crate) struct GroupCommit {
    stop: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the ticker and `io_threads` workers serving `jobs`. A thread
    /// the system refuses (EAGAIN: a thread or memory limit) is an error, and
    /// the threads already started exit as the senders drop.
    pub fn start(shared: Weak<Shared>, jobs_tx: Sender<Job>, jobs_rx: Receiver<Job>) -> Result<GroupCommit> {
        let io_threads = shared.upgrade().map_or(1, |s| s.options.io_threads.max(1));
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let mut gc = GroupCommit { stop: Some(stop_tx), threads: Vec::new() };
        let ticker_thread = std::thread::Builder::new()
            .name("vidvault-commit".into())
            .spawn(move || ticker(shared, jobs_tx, stop_rx))
            .map_err(|e| Error::io("start the group-commit thread of", PathBuf::from("the store"), e))?;
        gc.threads.push(ticker_thread);
        for i in 0..io_threads {
            let rx = jobs_rx.clone();
            let worker = std::thread::Builder::new()
                .name(format!("vidvault-io-{i}"))
                .spawn(move || {
                    for job in rx.iter() {
                        match job.kind {
                            JobKind::Flush => job.writer.background_flush(false),
                            JobKind::Sync => job.writer.background_flush(true),
                            JobKind::WriteForCommit(done) => {
                                let mark = job.writer.write_for_commit();
                                let _ = done.send((job.writer, mark));
                            }
                        }
                    }
                })
                .map_err(|e| Error::io("start an I/O thread of", PathBuf::from("the store"), e))?;
            gc.threads.push(worker);
        }
        Ok(gc)
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

fn ticker(shared: Weak<Shared>, jobs: Sender<Job>, stop: Receiver<()>) {
    let Some((interval, mode, root)) =
        shared.upgrade().map(|s| (s.options.sync_interval, s.options.commit, s.root.clone()))
    else {
        return;
    };
    // syncfs needs a descriptor on the filesystem: the store directory's.
    let root_dir = File::open(&root).ok();
    loop {
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(shared) = shared.upgrade() else { return };
        let writers: Vec<Arc<dyn LiveWriter>> =
            shared.live_writers().into_iter().filter(|w| w.needs_sync()).collect();
        drop(shared);
        let sent = match (mode, &root_dir) {
            (CommitMode::Filesystem, Some(dir)) => commit_filesystem(writers, &jobs, dir),
            _ => commit_per_file(writers, &jobs),
        };
        if !sent {
            return;
        }
    }
}

fn commit_per_file(writers: Vec<Arc<dyn LiveWriter>>, jobs: &Sender<Job>) -> bool {
    for w in writers {
        if w.claim_sync() && jobs.send(Job { writer: w, kind: JobKind::Sync }).is_err() {
            return false;
        }
    }
    true
}

/// Writes every dirty writer on the pool, then one syncfs for all of them.
fn commit_filesystem(writers: Vec<Arc<dyn LiveWriter>>, jobs: &Sender<Job>, dir: &File) -> bool {
    if writers.is_empty() {
        return true;
    }
    let started = Instant::now();
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    let count = writers.len();
    for w in writers {
        if jobs.send(Job { writer: w, kind: JobKind::WriteForCommit(done_tx.clone()) }).is_err() {
            return false;
        }
    }
    drop(done_tx);
    let written: Vec<(Arc<dyn LiveWriter>, Option<CommitMark>)> = done_rx.iter().take(count).collect();
    // SAFETY: syncfs on a valid, open descriptor.
    let ok = unsafe { libc::syncfs(dir.as_raw_fd()) } == 0;
    for (w, mark) in written {
        match (ok, mark) {
            (true, Some(mark)) => w.mark_durable(mark, started.elapsed()),
            (true, None) => {}
            // The error cannot be attributed: each writer's own fdatasync
            // reports (and fails) the file that lost data.
            (false, _) => {
                if jobs.send(Job { writer: w, kind: JobKind::Sync }).is_err() {
                    return false;
                }
            }
        }
    }
    true
}
