//! store/shared.rs: the state every part of an open store shares: the
//! options, the keystore and catalog behind their locks, the registry of
//! live writers, the read caches, the group-commit job queue and the buffer
//! pool. The facade (store/mod.rs) builds it; the writer, commit, read,
//! fsck, sweep and pressure files work on it and never on the facade.
//!
//! Writers are registered here as `dyn LiveWriter`, and the write path
//! reaches retention only through the reclaim hook the facade installs, so
//! this file depends on neither the writer nor retention.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::Sender;
use lru::LruCache;

use crate::access::audit::{AuditEntry, AuditLog, NewEntry};
use crate::catalog::{Catalog, SegmentRow, SegmentState};
use crate::crypto::SecretKey;
use crate::error::{Error, Result};
use crate::keys::{AuditHeadRecord, Keystore};
use crate::segment::reader::{SegmentFile, SegmentMeta};
use crate::store::remote_source::{Located, RemoteSource};
use crate::store::reserve;
use crate::store::row_file;
use crate::store::tier_relief::TierRelief;
use crate::time::NANOS_PER_SECOND;

pub const MARKER_FILE: &str = "VIDVAULT";
pub const KEYSTORE_FILE: &str = "keys.vvk";
pub use crate::catalog::CATALOG_FILE;

/// Takes a mutex even if a thread panicked while holding it. A panic inside
/// a writer leaves state we do not trust for further appends (the writer
/// marks itself failed), but reads and close must still work.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How the group commit (store/commit.rs) makes frames durable.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CommitMode {
    /// Write every dirty writer, then one syncfs for the filesystem.
    Filesystem,
    /// One fdatasync per writer's file.
    PerFile,
}

/// Tunables, all with the defaults DESIGN.md fixes. This `Default` is the
/// one place each default is written.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Group commit period: frames are durable at most this long after append.
    pub sync_interval: Duration,
    /// Roll to a new segment at the first keyframe after this much footage...
    pub roll_after_ns: i64,
    /// ...or after this many bytes.
    pub roll_bytes: u64,
    /// A jump in frame time larger than this is a recording gap (also the
    /// tolerance when reading across segments and gaps).
    pub gap_threshold_ns: i64,
    /// Threads that write and fdatasync for the group commit.
    pub io_threads: usize,
    /// Queued bytes per writer that trigger an early (unsynced) write.
    pub flush_bytes: usize,
    /// Queued bytes per writer at which `append` writes in the caller's thread.
    pub max_pending_bytes: usize,
    /// Opened segments (with a file handle each) kept for fast seeks...
    pub segment_cache: usize,
    /// ...and segment indexes and keys kept without a handle (~5 KiB each).
    pub index_cache: usize,
    /// Free-space floor that triggers reclaiming old footage (None: 1 GiB,
    /// at most 5% of the filesystem).
    pub min_free_bytes: Option<u64>,
    /// How often free space is checked.
    pub pressure_interval: Duration,
    /// One syncfs per commit for all writers, or an fdatasync per writer.
    pub commit: CommitMode,
    /// How far ahead of this host's clock a frame's time may be
    /// (segment::writer::check_frame_time).
    pub max_clock_skew_ns: i64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sync_interval: Duration::from_secs(1),
            roll_after_ns: 300 * NANOS_PER_SECOND,
            roll_bytes: 256 << 20,
            gap_threshold_ns: 2 * NANOS_PER_SECOND,
            io_threads: 4,
            flush_bytes: 256 << 10,
            max_pending_bytes: 8 << 20,
            segment_cache: 256,
            index_cache: 8192,
            min_free_bytes: None,
            pressure_interval: Duration::from_secs(1),
            commit: CommitMode::Filesystem,
            max_clock_skew_ns: 86_400 * NANOS_PER_SECOND,
        }
    }
}

/// What the store needs of a live camera writer. store/writer.rs implements
/// it; naming the trait rather than the type keeps this file (which the
/// writer uses) free of a dependency on the writer.
pub(crate) trait LiveWriter: Send + Sync {
    /// Writes queued bytes; with `sync`, also makes them durable.
    fn flush(&self, sync: bool) -> Result<()>;
    /// Seals the current segment and makes everything durable.
    fn close(&self) -> Result<()>;
    fn is_closed(&self) -> bool;
    /// A readable view of segment `id` if it is the one being appended to.
    fn live_segment(&self, id: u64) -> Result<Option<SegmentFile>>;
    /// Frames were appended since the last sync started.
    fn needs_sync(&self) -> bool;
    /// Claims the one queued periodic sync; false if one is queued already.
    fn claim_sync(&self) -> bool;
    /// Group-commit entry point: errors stay recorded in the writer.
    fn background_flush(&self, sync: bool);
    /// First half of a filesystem-wide commit: write, say how far.
    fn write_for_commit(&self) -> Option<CommitMark>;
    /// Second half: a syncfs covering `mark` succeeded.
    fn mark_durable(&self, mark: CommitMark, took: Duration);
}

/// How far a writer's current file was written before a filesystem commit.
pub(crate) struct CommitMark {
    pub segment: u64,
    pub written: u64,
    pub dir: Option<PathBuf>,
}

/// Work for the group commit's I/O threads.
pub(crate) enum JobKind {
    /// Write queued bytes (size-triggered).
    Flush,
    /// Write and fdatasync.
    Sync,
    /// Write for a filesystem-wide commit; report what was written.
    WriteForCommit(Sender<(Arc<dyn LiveWriter>, Option<CommitMark>)>),
}

pub(crate) struct Job {
    pub writer: Arc<dyn LiveWriter>,
    pub kind: JobKind,
}

/// Called by a writer whose write hit a full disk: frees space if it can
/// (true when a retry may succeed). The facade installs one that runs
/// retention (store/pressure.rs); the write path knows nothing of it.
pub(crate) type ReclaimHook = Box<dyn Fn(&Shared) -> bool + Send + Sync>;

/// State shared by the store handle, its writers and the group commit.
pub(crate) struct Shared {
    pub root: PathBuf,
    pub store_id: [u8; 16],
    pub options: StoreOptions,
    keystore: Mutex<Keystore>,
    /// Serialises writes to the keystore file, which happen without the
    /// keystore lock so key lookups on the append path never wait for an
    /// fsync. Lock order: keystore_io, keystore, catalog.
    keystore_io: Mutex<()>,
    catalog: Mutex<Catalog>,
    next_segment_id: AtomicU64,
    writers: Mutex<HashMap<String, Arc<dyn LiveWriter>>>,
    jobs: Mutex<Option<Sender<Job>>>,
    /// Opened segments with their file handles (bounded by descriptors)...
    segments: Mutex<LruCache<u64, Arc<SegmentFile>>>,
    /// ...and the indexes and keys of many more, so a seek into a segment
    /// whose handle was evicted costs an open(2), not a footer read.
    indexes: Mutex<LruCache<u64, Arc<SegmentMeta>>>,
    closed: AtomicBool,
    /// Serialises sweeps and hold changes: a hold placed while a sweep plans
    /// must not lose to that sweep.
    sweep_lock: Mutex<()>,
    /// Held while the reserve is given back for an audit entry, and while
    /// disk pressure re-creates it (store/reserve.rs).
    reserve_lock: Mutex<()>,
    /// Raised when free space is low and nothing more may be deleted.
    alarm: Mutex<Option<String>>,
    /// Who did what to which footage (access/audit.rs). A leaf lock: nothing else
    /// is taken while it is held.
    audit: Mutex<AuditLog>,
    /// Written record buffers, reused by the writers' append paths.
    pub buffers: BufferPool,
    reclaim: ReclaimHook,
    /// Where the files of segments evicted to a tier come from (remote_source.rs).
    pub remote: RemoteSource,
    /// What a tier frees before disk pressure deletes (tier_relief.rs).
    pub tier_relief: TierRelief,
}

/// A bounded stack of emptied byte buffers shared by all writers.
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    max: usize,
}

impl BufferPool {
    pub fn new(max: usize) -> BufferPool {
        BufferPool { free: Mutex::new(Vec::new()), max }
    }

    pub fn take(&self) -> Option<Vec<u8>> {
        lock(&self.free).pop()
    }

    /// Keeps `buf` unless the pool is full or the buffer is outsized (a
    /// burst of large keyframes must not pin memory for good).
    pub fn give(&self, mut buf: Vec<u8>, max_capacity: usize) {
        if buf.capacity() > max_capacity {
            return;
        }
        let mut free = lock(&self.free);
        if free.len() < self.max {
            buf.clear();
            free.push(buf);
        }
    }
}

/// What `Shared::new` needs besides the options.
pub(crate) struct Parts {
    pub root: PathBuf,
    pub store_id: [u8; 16],
    pub keystore: Keystore,
    pub catalog: Catalog,
    pub audit: AuditLog,
    pub jobs: Sender<Job>,
    pub reclaim: ReclaimHook,
}

impl Shared {
    pub fn new(options: StoreOptions, parts: Parts) -> Result<Shared> {
        let next_id = parts.catalog.max_segment_id()? + 1;
        let cache = |n: usize| NonZeroUsize::new(n.max(1)).expect("at least 1");
        Ok(Shared {
            root: parts.root,
            store_id: parts.store_id,
            keystore: Mutex::new(parts.keystore),
            keystore_io: Mutex::new(()),
            catalog: Mutex::new(parts.catalog),
            next_segment_id: AtomicU64::new(next_id),
            writers: Mutex::new(HashMap::new()),
            jobs: Mutex::new(Some(parts.jobs)),
            segments: Mutex::new(LruCache::new(cache(options.segment_cache))),
            indexes: Mutex::new(LruCache::new(cache(options.index_cache))),
            closed: AtomicBool::new(false),
            sweep_lock: Mutex::new(()),
            reserve_lock: Mutex::new(()),
            alarm: Mutex::new(None),
            audit: Mutex::new(parts.audit),
            buffers: BufferPool::new(4 * options.io_threads + 16),
            reclaim: parts.reclaim,
            remote: RemoteSource::default(),
            tier_relief: TierRelief::default(),
            options,
        })
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Refuses new work from now on and drops the job queue's sender (the
    /// I/O threads exit once it is gone).
    pub fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
        lock(&self.jobs).take();
    }

    /// Frees disk space through the hook the facade installed.
    pub fn reclaim(&self) -> bool {
        (self.reclaim)(self)
    }

    pub fn catalog(&self) -> Result<MutexGuard<'_, Catalog>> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        Ok(lock(&self.catalog))
    }

    /// The catalog for the write path, which must finish even while closing.
    pub fn catalog_for_io(&self) -> MutexGuard<'_, Catalog> {
        lock(&self.catalog)
    }

    pub fn keystore_guard(&self) -> MutexGuard<'_, Keystore> {
        lock(&self.keystore)
    }

    /// Held while the keystore file is written (see `keystore_io`).
    pub fn keystore_io_guard(&self) -> MutexGuard<'_, ()> {
        lock(&self.keystore_io)
    }

    /// Makes every KEK handed out so far durable, holding the keystore lock
    /// only to collect and to mark them.
    pub fn persist_keks(&self) -> Result<()> {
        let _io = self.keystore_io_guard();
        let batch = lock(&self.keystore).pending_keks();
        if let Some(batch) = batch {
            batch.write()?;
            lock(&self.keystore).mark_persisted(&batch);
        }
        Ok(())
    }

    pub fn sweep_guard(&self) -> MutexGuard<'_, ()> {
        lock(&self.sweep_lock)
    }

    pub fn reserve_guard(&self) -> MutexGuard<'_, ()> {
        lock(&self.reserve_lock)
    }

    pub fn set_alarm(&self, alarm: Option<String>) {
        *lock(&self.alarm) = alarm;
    }

    pub fn alarm(&self) -> Option<String> {
        lock(&self.alarm).clone()
    }

    /// Appends to the audit log, and records its head in the keystore when
    /// one is due (access/audit.rs says when).
    pub fn audit(&self, entry: NewEntry) -> Result<AuditEntry> {
        let (entry, due) = {
            let mut log = lock(&self.audit);
            let entry = match log.append(entry.clone()) {
                // A full disk must not lock operators out of footage that is
                // already stored: the reserve is given back for the entry,
                // and disk pressure re-creates it once there is room.
                // The reserve lock keeps disk pressure from taking the
                // space back between the release and the retry.
                Err(e) if e.is_disk_full() => {
                    let _reserve = lock(&self.reserve_lock);
                    reserve::release_reserve(&self.root)?;
                    log.append(entry)?
                }
                other => other?,
            };
            (entry, log.head_due_for_recording())
        };
        if let Some(head) = due {
            self.record_audit_head(head)?;
        }
        Ok(entry)
    }

    /// Records the audit log's newest head in the keystore if it is not yet
    /// (on close). The audit lock is not held meanwhile (it is a leaf lock).
    pub fn record_latest_audit_head(&self) -> Result<()> {
        let head = lock(&self.audit).unrecorded_head();
        head.map_or(Ok(()), |h| self.record_audit_head(h))
    }

    fn record_audit_head(&self, head: AuditHeadRecord) -> Result<()> {
        let seq = head.seq;
        {
            let _io = self.keystore_io_guard();
            lock(&self.keystore).record_audit_head(head)?;
        }
        lock(&self.audit).mark_recorded(seq);
        Ok(())
    }

    pub fn audit_log(&self) -> MutexGuard<'_, AuditLog> {
        lock(&self.audit)
    }

    /// Drops a deleted segment from the read caches.
    pub fn forget_segment(&self, id: u64) {
        lock(&self.segments).pop(&id);
        lock(&self.indexes).pop(&id);
    }

    pub fn allocate_segment_id(&self) -> u64 {
        self.next_segment_id.fetch_add(1, Ordering::SeqCst)
    }

    /// After a catalog rebuild: ids continue past the rebuilt catalog's
    /// highest, and nothing cached from the old one is trusted.
    pub fn reset_after_rebuild(&self, max_segment_id: u64) {
        self.next_segment_id.fetch_max(max_segment_id + 1, Ordering::SeqCst);
        self.forget_segments();
    }

    /// Drops every cached segment handle and index.
    pub fn forget_segments(&self) {
        lock(&self.segments).clear();
        lock(&self.indexes).clear();
    }

    pub fn request_flush(&self, writer: Arc<dyn LiveWriter>) {
        if let Some(tx) = lock(&self.jobs).as_ref() {
            let _ = tx.send(Job { writer, kind: JobKind::Flush });
        }
    }

    pub fn live_writers(&self) -> Vec<Arc<dyn LiveWriter>> {
        lock(&self.writers).values().cloned().collect()
    }

    pub fn has_writers(&self) -> bool {
        !lock(&self.writers).is_empty()
    }

    /// Registers the writer `make` builds as `camera`'s, unless an open one
    /// exists (one writer per camera at a time).
    pub fn register_writer<W: LiveWriter + 'static>(
        &self,
        camera: &str,
        make: impl FnOnce() -> Arc<W>,
    ) -> Result<Arc<W>> {
        let mut writers = lock(&self.writers);
        if writers.get(camera).is_some_and(|w| !w.is_closed()) {
            return Err(Error::WriterBusy(camera.to_string()));
        }
        let w = make();
        writers.insert(camera.to_string(), w.clone());
        Ok(w)
    }

    pub fn unregister_writer(&self, camera: &str, writer: &dyn LiveWriter) {
        let mut writers = lock(&self.writers);
        if writers.get(camera).is_some_and(|w| std::ptr::addr_eq(Arc::as_ptr(w), writer)) {
            writers.remove(camera);
        }
    }

    /// Writes (without syncing) what a live writer of `camera` has queued, so
    /// the catalog knows its newest segment before a read looks it up.
    pub fn flush_live(&self, camera: &str) -> Result<()> {
        let writer = lock(&self.writers).get(camera).cloned();
        match writer {
            Some(w) => w.flush(false),
            None => Ok(()),
        }
    }

    pub fn kek(&self, camera: &str, day: i32) -> Result<SecretKey> {
        lock(&self.keystore).kek(camera, day)
    }

    /// Opens a segment for reading: from the live writer when it is the one
    /// being appended to, else from its file (cached, so repeated seeks cost
    /// one index lookup and one record read).
    pub fn open_segment(&self, row: &SegmentRow) -> Result<Arc<SegmentFile>> {
        if row.state == SegmentState::Open {
            let writer = lock(&self.writers).get(&row.camera).cloned();
            if let Some(w) = writer {
                if let Some(view) = w.live_segment(row.id)? {
                    return Ok(Arc::new(view));
                }
            }
        }
        if let Some(seg) = lock(&self.segments).get(&row.id) {
            return Ok(seg.clone());
        }
        // Index and keys still cached: only the file handle is missing.
        // (Not when that file is gone: a tier evicted it, or its read
        // cache let the fetched copy go; the fresh open finds it again.)
        let cached = lock(&self.indexes).get(&row.id).cloned().filter(|meta| meta.path.exists());
        let seg = match cached {
            Some(meta) => Arc::new(SegmentFile::reopen(meta)?),
            None => {
                // The row names the file only through its ids (store/row_file.rs).
                let local = row_file::path_of(&self.root, row)?;
                let located = self.remote.locate(row.id, local.clone())?;
                let expect = row_file::identity(&self.store_id, row);
                let mut keys = |c: &str, d| self.kek(c, d);
                let gap = self.options.gap_threshold_ns;
                let mut open = |located: Located| match located {
                    Located::Whole(path) => SegmentFile::open_as(&path, Some(&expect), &mut keys, gap),
                    Located::Partial(path, fetch) => {
                        SegmentFile::open_partial(&path, fetch, Some(&expect), &mut keys, gap)
                    }
                };
                let was_local = located.path() == &local;
                let seg = match open(located) {
                    // Evicted between the check and the open: fetch it.
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound && was_local =>
                    {
                        open(self.remote.locate(row.id, local)?)?
                    }
                    opened => opened?,
                };
                row_file::check_summary(row, &seg)?;
                let expected = if row.state == SegmentState::Sealed { row.frames } else { None };
                let seg = Arc::new(seg.expect_frames(expected));
                lock(&self.indexes).put(row.id, seg.meta().clone());
                seg
            }
        };
        lock(&self.segments).put(row.id, seg.clone());
        Ok(seg)
    }
}
