//! The store: one directory holding a keystore, a catalog and segment files,
//! opened by one process at a time. This file wires the pieces together
//! (lock, recovery on open, writers, reads); each piece lives in its own file.
//!
//! ```text
//! STORE/VIDVAULT                      marker (store id, format version)
//! STORE/LOCK                          flock + holder pid
//! STORE/keys.vvk                      keystore (keys.rs)
//! STORE/catalog.sqlite                catalog (catalog/)
//! STORE/retention.json, holds.json    mirrors of retention classes and legal holds (mirror.rs)
//! STORE/segments/CAMERA/camera.json   mirror of the camera's labels and retention
//! STORE/segments/CAMERA/YYYY-MM-DD/ID.vvs   segment files (segment/)
//! STORE/tombstones.jsonl              journal of segments retention deleted (mirror.rs)
//! STORE/reserve.bin                   4 MiB given back when the disk fills (pressure.rs)
//! STORE/audit.sqlite                  hash-chained, signed audit log (audit.rs)
//! STORE/quarantine/                   damaged files moved aside, never deleted
//! ```

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::Sender;
use lru::LruCache;

use crate::audit::{AuditLog, AUDIT_FILE};
use crate::camera::validate_camera_id;
use crate::catalog::{CameraRow, Catalog, SegmentRow, SegmentState};
use crate::crypto::SecretKey;
use crate::error::{Error, IoContext, Result};
use crate::fsck::{self, FsckReport, RebuildReport};
use crate::fsutil;
use crate::gaps;
pub use crate::group_commit::CommitMode;
use crate::group_commit::{GroupCommit, Job, JobKind};
use crate::keys::{Keystore, ADMIN_SIGNING_KEY, EXPORT_SIGNING_KEY};
use crate::lock::StoreLock;
use crate::mirror;
use crate::read::{self, FrameCursor};
use crate::retention::RetentionSetting;
use crate::segment::format::{CodecConfig, Gap};
use crate::segment::reader::{Frame, SegmentFile, SegmentMeta};
use crate::segment::recover::{self, Recovery};
use crate::sweep;
use crate::time::{TimeRange, Timestamp};
use crate::writer::{self, CameraWriter};

pub const MARKER_FILE: &str = "VIDVAULT";
pub const KEYSTORE_FILE: &str = "keys.vvk";
pub const CATALOG_FILE: &str = "catalog.sqlite";

/// Tunables, all with the defaults DESIGN.md fixes.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Group commit period: frames are durable at most this long after append.
    pub sync_interval: Duration,
    /// Roll to a new segment at the first keyframe after this much footage...
    pub roll_after_ns: i64,
    /// ...or after this many bytes.
    pub roll_bytes: u64,
    /// A jump in frame time larger than this is a recording gap.
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
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sync_interval: Duration::from_secs(1),
            roll_after_ns: 300 * crate::time::NANOS_PER_SECOND,
            roll_bytes: 256 << 20,
            gap_threshold_ns: 2 * crate::time::NANOS_PER_SECOND,
            io_threads: 4,
            flush_bytes: 256 << 10,
            max_pending_bytes: 8 << 20,
            segment_cache: 256,
            index_cache: 8192,
            min_free_bytes: None,
            pressure_interval: Duration::from_secs(1),
            commit: CommitMode::Filesystem,
        }
    }
}

/// What recovery on open did to one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredSegment {
    pub camera: String,
    pub segment_id: u64,
    pub path: PathBuf,
    /// "sealed", "repaired", "removed-empty", "removed-missing", "quarantined"
    /// or "finished-deletion".
    pub action: &'static str,
    pub frames: u64,
    pub discarded_bytes: u64,
    pub detail: String,
}

/// State shared by the store handle, its writers and the group commit.
pub(crate) struct Shared {
    pub root: PathBuf,
    pub store_id: [u8; 16],
    pub options: StoreOptions,
    pub keystore: Mutex<Keystore>,
    /// Serialises writes to the keystore file, which happen without the
    /// keystore lock so key lookups on the append path never wait for an
    /// fsync. Lock order: keystore_io, keystore, catalog.
    keystore_io: Mutex<()>,
    catalog: Mutex<Catalog>,
    next_segment_id: AtomicU64,
    writers: Mutex<HashMap<String, Arc<CameraWriter>>>,
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
    /// Raised when free space is low and nothing more may be deleted.
    alarm: Mutex<Option<String>>,
    /// Who did what to which footage (audit.rs). A leaf lock: nothing else
    /// is taken while it is held.
    audit: Mutex<AuditLog>,
    /// Written record buffers, reused by the writers' append paths.
    pub buffers: BufferPool,
}

/// A bounded stack of emptied byte buffers shared by all writers.
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    max: usize,
}

impl BufferPool {
    fn new(max: usize) -> BufferPool {
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn catalog(&self) -> Result<MutexGuard<'_, Catalog>> {
        if self.closed.load(Ordering::Acquire) {
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

    pub fn set_alarm(&self, alarm: Option<String>) {
        *lock(&self.alarm) = alarm;
    }

    pub fn alarm(&self) -> Option<String> {
        lock(&self.alarm).clone()
    }

    /// Appends to the audit log.
    pub fn audit(&self, entry: crate::audit::NewEntry) -> Result<crate::audit::AuditEntry> {
        lock(&self.audit).append(entry)
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

    pub fn request_flush(&self, writer: Arc<CameraWriter>) {
        if let Some(tx) = lock(&self.jobs).as_ref() {
            let _ = tx.send(Job { writer, kind: JobKind::Flush });
        }
    }

    pub fn live_writers(&self) -> Vec<Arc<CameraWriter>> {
        lock(&self.writers).values().cloned().collect()
    }

    pub fn unregister_writer(&self, camera: &str, writer: &CameraWriter) {
        let mut writers = lock(&self.writers);
        if writers.get(camera).is_some_and(|w| std::ptr::eq(Arc::as_ptr(w), writer)) {
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

    fn kek(&self, camera: &str, day: i32) -> Result<SecretKey> {
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
        let cached = lock(&self.indexes).get(&row.id).cloned();
        let seg = match cached {
            Some(meta) => Arc::new(SegmentFile::reopen(meta)?),
            None => {
                let path = self.root.join(&row.path);
                let seg = SegmentFile::open(&path, &mut |c, d| self.kek(c, d))?;
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

pub struct Store {
    shared: Arc<Shared>,
    group_commit: Mutex<Option<GroupCommit>>,
    lock: Mutex<Option<StoreLock>>,
    recovered: Vec<RecoveredSegment>,
}

impl Store {
    /// Creates a new store at `root` (a missing or empty directory).
    pub fn create(root: &Path, master: SecretKey, options: StoreOptions) -> Result<Store> {
        if root.join(MARKER_FILE).exists() {
            return Err(Error::StoreExists { path: root.to_path_buf() });
        }
        if root.exists() {
            let mut entries = std::fs::read_dir(root).ctx("list", root)?;
            if entries.next().is_some() {
                return Err(Error::NotAStore {
                    path: root.to_path_buf(),
                    detail: "the directory is not empty; create a store in a new or empty directory".into(),
                });
            }
        }
        fsutil::create_dir_all_durable(root)?;
        fsutil::raise_open_files_limit();
        let lock = StoreLock::acquire(root)?;
        let store_id = *uuid::Uuid::new_v4().as_bytes();
        let mut keystore = Keystore::create(&root.join(KEYSTORE_FILE), store_id, master.clone())?;
        keystore.signing_key(EXPORT_SIGNING_KEY)?;
        keystore.signing_key(ADMIN_SIGNING_KEY)?;
        drop(keystore);
        Catalog::create(&root.join(CATALOG_FILE), &uuid_string(&store_id))?;
        fsutil::create_dir_all_durable(&root.join("segments"))?;
        let marker = format!(
            "vidvault store\nformat {}\nstore_id {}\n",
            crate::segment::format::FORMAT_VERSION,
            uuid_string(&store_id)
        );
        fsutil::write_atomic(&root.join(MARKER_FILE), marker.as_bytes())?;
        Store::open_locked(root, master, options, lock, false)
    }

    /// Opens an existing store, recovering segments a crash left unsealed.
    pub fn open(
        root: &Path,
        master: SecretKey,
        options: StoreOptions,
        rebuild_catalog: bool,
    ) -> Result<Store> {
        if !root.join(MARKER_FILE).exists() {
            let detail =
                if root.exists() { "no VIDVAULT marker file" } else { "the directory does not exist" };
            return Err(Error::NotAStore { path: root.to_path_buf(), detail: detail.into() });
        }
        fsutil::raise_open_files_limit();
        let lock = StoreLock::acquire(root)?;
        Store::open_locked(root, master, options, lock, rebuild_catalog)
    }

    fn open_locked(
        root: &Path,
        master: SecretKey,
        options: StoreOptions,
        lock: StoreLock,
        rebuild_catalog: bool,
    ) -> Result<Store> {
        let mut keystore = Keystore::open(&root.join(KEYSTORE_FILE), master)?;
        let store_id = keystore.store_id();
        let id_text = uuid_string(&store_id);
        let catalog_path = root.join(CATALOG_FILE);
        if rebuild_catalog {
            fsck::rebuild_catalog_file(root, &id_text, &mut keystore, options.gap_threshold_ns)?;
        }
        let mut catalog = Catalog::open(&catalog_path, &id_text)?;
        let recovered = recover_open_segments(root, &mut catalog, &mut keystore, options.gap_threshold_ns)?;
        mirror::refresh_all(root, &catalog)?;
        // Stores created before grants existed get their admin key now.
        keystore.signing_key(ADMIN_SIGNING_KEY)?;
        let audit =
            AuditLog::open(&root.join(AUDIT_FILE), &id_text, keystore.signing_key(EXPORT_SIGNING_KEY)?)?;
        let next_id = catalog.max_segment_id()? + 1;
        let cache = NonZeroUsize::new(options.segment_cache.max(1)).unwrap();
        let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            store_id,
            options: options.clone(),
            keystore: Mutex::new(keystore),
            keystore_io: Mutex::new(()),
            catalog: Mutex::new(catalog),
            next_segment_id: AtomicU64::new(next_id),
            writers: Mutex::new(HashMap::new()),
            jobs: Mutex::new(Some(jobs_tx.clone())),
            segments: Mutex::new(LruCache::new(cache)),
            indexes: Mutex::new(LruCache::new(NonZeroUsize::new(options.index_cache.max(1)).unwrap())),
            closed: AtomicBool::new(false),
            sweep_lock: Mutex::new(()),
            alarm: Mutex::new(None),
            audit: Mutex::new(audit),
            buffers: BufferPool::new(4 * options.io_threads + 16),
        });
        // Keys of days a crash-interrupted deletion emptied.
        sweep::shred_unused_keys(&shared)?;
        crate::pressure::ensure_reserve(root)?;
        let gc = GroupCommit::start(Arc::downgrade(&shared), jobs_tx, jobs_rx);
        Ok(Store { shared, group_commit: Mutex::new(Some(gc)), lock: Mutex::new(Some(lock)), recovered })
    }

    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    pub fn store_id(&self) -> String {
        uuid_string(&self.shared.store_id)
    }

    pub fn options(&self) -> &StoreOptions {
        &self.shared.options
    }

    /// Segments recovery touched when this store was opened.
    pub fn recovery_report(&self) -> &[RecoveredSegment] {
        &self.recovered
    }

    fn check_open(&self) -> Result<()> {
        if self.shared.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    // ------------------------------------------------------------ cameras

    pub fn add_camera(
        &self,
        id: &str,
        labels: BTreeMap<String, String>,
        retention: RetentionSetting,
    ) -> Result<CameraRow> {
        self.check_open()?;
        validate_camera_id(id)?;
        if let RetentionSetting::Custom(p) = &retention {
            p.validate()?;
        }
        let row = CameraRow { id: id.to_string(), labels, created: Timestamp::now(), retention };
        self.shared.catalog()?.add_camera(&row)?;
        self.write_camera_file(&row)?;
        Ok(row)
    }

    pub fn set_labels(&self, id: &str, labels: BTreeMap<String, String>) -> Result<CameraRow> {
        self.check_open()?;
        let catalog = self.shared.catalog()?;
        catalog.set_labels(id, &labels)?;
        let row = catalog.camera(id)?.ok_or_else(|| Error::UnknownCamera(id.to_string()))?;
        drop(catalog);
        self.write_camera_file(&row)?;
        Ok(row)
    }

    /// Keeps camera settings beside its segments so a catalog rebuild restores them.
    pub(crate) fn write_camera_file(&self, row: &CameraRow) -> Result<()> {
        mirror::write_camera(&self.shared.root, row)
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub fn camera(&self, id: &str) -> Result<CameraRow> {
        self.shared.catalog()?.camera(id)?.ok_or_else(|| Error::UnknownCamera(id.to_string()))
    }

    fn require_camera(&self, id: &str) -> Result<()> {
        match self.shared.catalog()?.camera_exists(id)? {
            true => Ok(()),
            false => Err(Error::UnknownCamera(id.to_string())),
        }
    }

    pub fn cameras(&self) -> Result<Vec<CameraRow>> {
        self.shared.catalog()?.cameras()
    }

    // ------------------------------------------------------------ writing

    /// Opens the writer of `camera`. One writer per camera at a time.
    pub fn writer(&self, camera: &str, config: CodecConfig) -> Result<Arc<CameraWriter>> {
        self.check_open()?;
        writer::validate_config(&config)?;
        let last = {
            let catalog = self.shared.catalog()?;
            catalog.camera(camera)?.ok_or_else(|| Error::UnknownCamera(camera.to_string()))?;
            catalog.last_segment(camera)?
        };
        let mut writers = lock(&self.shared.writers);
        if writers.get(camera).is_some_and(|w| !w.is_closed()) {
            return Err(Error::WriterBusy(camera.to_string()));
        }
        let (max_ts, prev_hash) = match &last {
            Some(row) if row.state == SegmentState::Sealed => {
                (row.max_ts, row.content_hash.unwrap_or([0; 32]))
            }
            Some(row) => (Some(row.start_ts), [0; 32]),
            None => (None, [0; 32]),
        };
        let w = CameraWriter::new(self.shared.clone(), camera.to_string(), config, max_ts, prev_hash);
        writers.insert(camera.to_string(), w.clone());
        Ok(w)
    }

    // ------------------------------------------------------------ reading

    /// Frames of `[start, end)` in decode order, from the keyframe at or before `start`.
    pub fn read(&self, camera: &str, range: TimeRange) -> Result<FrameCursor> {
        self.check_open()?;
        self.require_camera(camera)?;
        self.shared.flush_live(camera)?;
        FrameCursor::new(self.shared.clone(), camera, range)
    }

    /// The keyframe where playback of instant `t` starts (see read::start_position).
    pub fn seek(&self, camera: &str, t: Timestamp) -> Result<Option<Frame>> {
        self.check_open()?;
        self.require_camera(camera)?;
        self.shared.flush_live(camera)?;
        let Some((seg, entry)) = read::start_position(&self.shared, camera, t)? else {
            return Ok(None);
        };
        Ok(seg.read_frame_at(entry.offset)?.map(|(f, _)| f))
    }

    /// Catalog rows of segments overlapping `[start, end)`, in time order.
    pub fn segments(&self, camera: &str, range: TimeRange) -> Result<Vec<SegmentRow>> {
        self.check_open()?;
        self.require_camera(camera)?;
        self.shared.flush_live(camera)?;
        let rows = self.shared.catalog()?.segments_overlapping(camera, range.start, range.end)?;
        Ok(rows
            .into_iter()
            .filter(|r| {
                r.state == SegmentState::Open
                    || r.end_ts.is_some_and(|e| e > range.start)
                    || r.start_ts >= range.start
            })
            .collect())
    }

    /// The codec configuration frames of segment `id` need for decoding.
    pub fn segment_config(&self, id: u64) -> Result<CodecConfig> {
        self.check_open()?;
        let row = self
            .shared
            .catalog()?
            .segment(id)?
            .ok_or_else(|| Error::invalid(format!("no segment with id {id} in this store")))?;
        Ok(self.shared.open_segment(&row)?.config.clone())
    }

    /// Stretches of `[start, end)` with no footage, at least `min_gap` long
    /// (default: the store's gap threshold).
    pub fn gaps(&self, camera: &str, range: TimeRange, min_gap: Option<i64>) -> Result<Vec<Gap>> {
        let rows = self.segments(camera, range)?;
        let mut covered = Vec::new();
        for row in rows {
            if row.state == SegmentState::Sealed {
                let seg_gaps = self.shared.catalog()?.segment_gaps(row.id)?;
                let end = row.end_ts.unwrap_or(row.start_ts);
                covered.extend(gaps::segment_coverage(row.start_ts, end, &seg_gaps));
            } else {
                let seg = self.shared.open_segment(&row)?;
                let s = &seg.summary;
                if s.frame_count > 0 {
                    covered.extend(gaps::segment_coverage(s.start_ts, s.end_ts, &s.gaps));
                }
            }
        }
        let min_gap = min_gap.unwrap_or(self.shared.options.gap_threshold_ns);
        Ok(gaps::uncovered(range, &mut covered, min_gap))
    }

    // ------------------------------------------------------------ integrity

    /// Checks every segment (header, footer, content hash, hash chain; with
    /// `deep`, every record's checksum and authentication tag) and looks for
    /// files the catalog does not know.
    pub fn fsck(&self, deep: bool) -> Result<FsckReport> {
        self.check_open()?;
        fsck::check(&self.shared, deep)
    }

    /// Rebuilds the catalog from the segment files (no writer may be open).
    pub fn rebuild_catalog(&self) -> Result<RebuildReport> {
        self.check_open()?;
        if !lock(&self.shared.writers).is_empty() {
            return Err(Error::invalid("close all writers before rebuilding the catalog"));
        }
        let id_text = self.store_id();
        // Lock order everywhere: keystore, then catalog.
        let mut ks = lock(&self.shared.keystore);
        let mut catalog = self.shared.catalog()?;
        let report = {
            // Build the new catalog beside the old, then swap them.
            *catalog = Catalog::placeholder()?;
            let r = fsck::rebuild_catalog_file(
                &self.shared.root,
                &id_text,
                &mut ks,
                self.shared.options.gap_threshold_ns,
            );
            *catalog = Catalog::open(&self.shared.root.join(CATALOG_FILE), &id_text)?;
            r?
        };
        self.shared.next_segment_id.fetch_max(catalog.max_segment_id()? + 1, Ordering::SeqCst);
        lock(&self.shared.segments).clear();
        lock(&self.shared.indexes).clear();
        Ok(report)
    }

    // ------------------------------------------------------------ export signing

    pub(crate) fn signing_key(&self, name: &str) -> Result<ed25519_dalek::SigningKey> {
        let _io = self.shared.keystore_io_guard(); // it may create (write) the key
        lock(&self.shared.keystore).signing_key(name)
    }

    /// The Ed25519 public key that verifies this store's export manifests.
    pub fn export_public_key(&self) -> Result<[u8; 32]> {
        Ok(self.signing_key(EXPORT_SIGNING_KEY)?.verifying_key().to_bytes())
    }

    /// Signs `message` (a canonical export manifest) with the export key.
    pub fn sign_export(&self, message: &[u8]) -> Result<[u8; 64]> {
        use ed25519_dalek::Signer;
        Ok(self.signing_key(EXPORT_SIGNING_KEY)?.sign(message).to_bytes())
    }

    // ------------------------------------------------------------ shutdown

    /// Seals every open segment, stops the group commit and releases the lock.
    pub fn close(&self) -> Result<()> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut first_err = None;
        for w in self.shared.live_writers() {
            if let Err(e) = w.close() {
                first_err.get_or_insert(e);
            }
        }
        self.shared.closed.store(true, Ordering::Release);
        lock(&self.shared.jobs).take();
        if let Some(gc) = lock(&self.group_commit).take() {
            gc.stop();
        }
        // Fold the WALs back so the databases are whole files once closed.
        // Best effort: on a full disk the WAL simply stays, losing nothing.
        let _ = self.shared.catalog_for_io().checkpoint();
        let _ = self.shared.audit_log().checkpoint();
        lock(&self.lock).take();
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

pub fn uuid_string(id: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*id).to_string()
}

/// Brings every segment the catalog lists as open back to a sealed state, and
/// finishes deletions a crash interrupted.
fn recover_open_segments(
    root: &Path,
    catalog: &mut Catalog,
    keystore: &mut Keystore,
    gap_threshold: i64,
) -> Result<Vec<RecoveredSegment>> {
    let mut report = Vec::new();
    // A sweep was interrupted after marking these rows: finish it.
    let deleting = catalog.segments_in_state(SegmentState::Deleting)?;
    for row in &deleting {
        fsutil::remove_file_durable(&root.join(&row.path))?;
    }
    let ids: Vec<u64> = deleting.iter().map(|r| r.id).collect();
    catalog.finish_deletion(&ids, Timestamp::now())?;
    report.extend(deleting.into_iter().map(|row| RecoveredSegment {
        path: root.join(&row.path),
        camera: row.camera,
        segment_id: row.id,
        action: "finished-deletion",
        frames: row.frames.unwrap_or(0),
        discarded_bytes: 0,
        detail: "a retention sweep was interrupted after deciding to delete this segment".into(),
    }));
    for row in catalog.segments_in_state(SegmentState::Open)? {
        let path = root.join(&row.path);
        let mut entry = RecoveredSegment {
            camera: row.camera.clone(),
            segment_id: row.id,
            path: path.clone(),
            action: "",
            frames: 0,
            discarded_bytes: 0,
            detail: String::new(),
        };
        if !path.exists() {
            // The row is committed before the file is created: a crash in
            // between leaves a row whose file never held a frame.
            catalog.remove_segment(row.id)?;
            entry.action = "removed-missing";
            report.push(entry);
            continue;
        }
        match recover::recover_segment(&path, &mut |c, d| keystore.kek(c, d), gap_threshold)? {
            Recovery::AlreadySealed { summary, .. } => {
                let bytes = std::fs::metadata(&path).ctx("stat", &path)?.len();
                catalog.mark_sealed(row.id, &summary, bytes, Timestamp::now())?;
                entry.action = "sealed";
                entry.frames = summary.frame_count;
            }
            Recovery::Repaired { summary, discarded_bytes, problem, .. } => {
                let bytes = std::fs::metadata(&path).ctx("stat", &path)?.len();
                catalog.mark_sealed(row.id, &summary, bytes, Timestamp::now())?;
                entry.action = "repaired";
                entry.frames = summary.frame_count;
                entry.discarded_bytes = discarded_bytes;
                entry.detail = problem.map(|(o, d)| format!("cut at byte {o}: {d}")).unwrap_or_default();
            }
            Recovery::Empty { .. } => {
                fsutil::remove_file_durable(&path)?;
                catalog.remove_segment(row.id)?;
                entry.action = "removed-empty";
            }
            Recovery::Unreadable { detail } => {
                let moved = fsutil::quarantine(root, &path)?;
                catalog.remove_segment(row.id)?;
                entry.action = "quarantined";
                entry.detail = format!("{detail}; moved to {}", moved.display());
            }
        }
        report.push(entry);
    }
    Ok(report)
}
