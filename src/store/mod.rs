//! store/mod.rs: the Store facade. A store is one directory holding a
//! keystore, a catalog and segment files, opened by one process at a time.
//! This file opens and closes it and wires the pieces together (lock,
//! recovery on open, shared state, background threads, the reclaim hook);
//! each piece lives in its own file beside it, and `impl Store` is split by
//! concern: access.rs, retention.rs, keys.rs. The pieces work on
//! store/shared.rs and never import this file.
//!
//! ```text
//! STORE/VIDVAULT                      marker (store id, format version)
//! STORE/LOCK                          flock + holder pid
//! STORE/keys.vvk                      keystore (keys.rs)
//! STORE/catalog.sqlite                catalog (catalog/)
//! STORE/retention.json, holds.json    mirrors of retention classes and legal holds (store/mirror.rs)
//! STORE/segments/CAMERA/camera.json   mirror of the camera's labels and retention
//! STORE/segments/CAMERA/YYYY-MM-DD/ID.vvs   segment files (segment/)
//! STORE/tombstones.jsonl              journal of segments retention deleted (store/mirror.rs)
//! STORE/reserve.bin                   4 MiB given back when the disk fills (store/reserve.rs)
//! STORE/audit.sqlite                  hash-chained, signed audit log (access/audit.rs)
//! STORE/quarantine/                   damaged files moved aside, never deleted
//! STORE/tier.json, tier/ledger.sqlite  the object-storage tier, written by the Python package (tier_guard.rs reads)
//! STORE/tier/cache/                  ciphertext of evicted segments fetched back for reading (remote_source.rs)
//!                                     (trimmed first, then uploaded segments evicted, under disk pressure: tier_relief.rs)
//! ```

mod access;
pub mod audit_restart;
pub mod commit;
pub mod direct_io;
pub mod fsck;
mod hook_slot;
mod janitor;
mod keys;
pub mod lock;
pub mod mirror;
pub mod pressure;
pub mod read;
pub mod recovery;
pub mod remote_source;
mod replica;
mod reserve;
mod retention;
mod row_file;
pub(crate) mod shared;
pub mod sweep;
mod sweep_plan;
mod tier_guard;
pub mod tier_relief;
pub mod writer;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::access::audit::{AuditLog, NewEntry, AUDIT_FILE, DONE};
use crate::camera::validate_camera_id;
use crate::catalog::{CameraRow, Catalog, SegmentRow, SegmentState};
use crate::crypto::SecretKey;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::gaps;
use crate::keys::{Keystore, ADMIN_SIGNING_KEY, EXPORT_SIGNING_KEY};
use crate::retention::RetentionSetting;
use crate::segment::format::{CodecConfig, Gap};
use crate::segment::reader::Frame;
pub use crate::store::access::{Authorization, Target};
use crate::store::commit::GroupCommit;
use crate::store::fsck::{FsckReport, RebuildReport};
use crate::store::janitor::Janitor;
use crate::store::lock::StoreLock;
use crate::store::read::{FrameCursor, FrameInfoCursor};
use crate::store::recovery::recover_open_segments;
pub use crate::store::recovery::RecoveredSegment;
/// Where a segment lives, relative to the store root (docs/FORMAT.md section 1).
pub use crate::store::row_file::segment_rel_path;
use crate::store::shared::{lock, Parts, Shared, CATALOG_FILE, KEYSTORE_FILE, MARKER_FILE};
pub use crate::store::shared::{CommitMode, StoreOptions};
use crate::store::writer::CameraWriter;
use crate::time::{TimeRange, Timestamp};

/// An open store: the handle services hold. It owns the store lock and the
/// background threads (group commit, janitor); everything else lives in
/// `Shared` so writers and threads can hold it without the handle.
pub struct Store {
    shared: Arc<Shared>,
    group_commit: Mutex<Option<GroupCommit>>,
    janitor: Mutex<Option<Janitor>>,
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
        // The footage is encrypted, but the audit log (who watched what, for
        // which case), the catalog and the holds are not: only the store's
        // owner may enter the directory.
        fsutil::restrict_to_owner(root)?;
        fsutil::raise_open_files_limit();
        let lock = StoreLock::acquire(root)?;
        let store_id = *uuid::Uuid::new_v4().as_bytes();
        let mut keystore = Keystore::create(&root.join(KEYSTORE_FILE), store_id, master.clone())?;
        keystore.create_signing_key(EXPORT_SIGNING_KEY)?;
        keystore.create_signing_key(ADMIN_SIGNING_KEY)?;
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
        let mut notes: Vec<String> = keystore.recovery().map(str::to_string).into_iter().collect();
        keystore.signing_key(EXPORT_SIGNING_KEY)?; // missing: an error, never a new key
        notes.extend(ensure_admin_key(root, &mut keystore)?);
        let audit = open_audit_log(root, &id_text, &mut keystore)?;
        let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared::new(
            options,
            Parts {
                root: root.to_path_buf(),
                store_id,
                keystore,
                catalog,
                audit,
                jobs: jobs_tx.clone(),
                // The write path frees space on ENOSPC through this hook
                // without depending on retention.
                reclaim: Box::new(pressure::reclaim),
            },
        )?);
        for note in notes {
            shared.audit(NewEntry {
                principal: "vidvault".into(),
                action: "keystore_recovery".into(),
                outcome: DONE.into(),
                reason: note,
                ..NewEntry::default()
            })?;
        }
        // Keys of days a crash-interrupted deletion emptied.
        sweep::shred_unused_keys(&shared)?;
        reserve::ensure_reserve(root)?;
        let gc = GroupCommit::start(Arc::downgrade(&shared), jobs_tx, jobs_rx)?;
        let janitor = Janitor::start(Arc::downgrade(&shared))?;
        Ok(Store {
            shared,
            group_commit: Mutex::new(Some(gc)),
            janitor: Mutex::new(Some(janitor)),
            lock: Mutex::new(Some(lock)),
            recovered,
        })
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
        if self.shared.is_closed() {
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
        let row = catalog.existing_camera(id)?;
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
        self.shared.catalog()?.existing_camera(id)
    }

    fn require_camera(&self, id: &str) -> Result<()> {
        self.shared.catalog()?.require_camera(id)
    }

    pub fn cameras(&self) -> Result<Vec<CameraRow>> {
        self.shared.catalog()?.cameras()
    }

    // ------------------------------------------------------------ writing

    /// Opens the writer of `camera`. One writer per camera at a time.
    pub fn writer(&self, camera: &str, config: CodecConfig) -> Result<Arc<CameraWriter>> {
        self.check_open()?;
        writer::validate_config(&config)?;
        // The chain continues from the newest entry, deleted ones included.
        let tail = {
            let catalog = self.shared.catalog()?;
            catalog.existing_camera(camera)?;
            catalog.chain_tail(camera)?
        };
        let (max_ts, prev_hash) = (tail.max_ts, tail.prev_hash);
        self.shared.register_writer(camera, || {
            CameraWriter::new(self.shared.clone(), camera.to_string(), config, max_ts, prev_hash)
        })
    }

    // ------------------------------------------------------------ reading

    /// Frames of `[start, end)` in decode order, from the keyframe at or before `start`.
    pub fn read(&self, camera: &str, range: TimeRange) -> Result<FrameCursor> {
        self.check_open()?;
        self.require_camera(camera)?;
        self.shared.flush_live(camera)?;
        FrameCursor::new(self.shared.clone(), camera, range)
    }

    /// The frames `read` would return, as clear metadata and payload lengths:
    /// no payload is read or decrypted, so a player can lay out a long range
    /// (an MP4's sample table) at once and decrypt only what it serves.
    pub fn frame_infos(&self, camera: &str, range: TimeRange) -> Result<FrameInfoCursor> {
        self.check_open()?;
        self.require_camera(camera)?;
        self.shared.flush_live(camera)?;
        FrameInfoCursor::new(self.shared.clone(), camera, range)
    }

    /// The authenticated frame `seq` of segment `segment_id`, whose record
    /// starts at `offset` (a `FrameInfo` from `frame_infos`).
    pub fn read_frame(&self, segment_id: u64, offset: u64, seq: u64) -> Result<Frame> {
        self.check_open()?;
        let row = self
            .shared
            .catalog()?
            .segment(segment_id)?
            .ok_or_else(|| Error::invalid(format!("no segment with id {segment_id} in this store")))?;
        let seg = self.shared.open_segment(&row)?;
        seg.read_frame_expecting(offset, seq)?.map(|(f, _)| f).ok_or_else(|| {
            Error::invalid(format!("segment {segment_id} has no frame {seq} at offset {offset}"))
        })
    }

    /// The keyframe where playback of instant `t` starts (see read::start_position).
    pub fn seek(&self, camera: &str, t: Timestamp) -> Result<Option<Frame>> {
        self.check_open()?;
        self.require_camera(camera)?;
        self.shared.flush_live(camera)?;
        let Some((seg, entry)) = read::start_position(&self.shared, camera, t)? else {
            return Ok(None);
        };
        // The record there must be the keyframe the index names, by seq too.
        Ok(seg.read_frame_expecting(entry.offset, entry.seq)?.map(|(f, _)| f))
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
        let mut inner_gaps = match (rows.first(), rows.last()) {
            (Some(first), Some(last)) => {
                self.shared.catalog()?.gaps_of_segments_starting(camera, first.start_ts, last.start_ts)?
            }
            _ => Default::default(),
        };
        let mut covered = Vec::new();
        for row in rows {
            if row.state == SegmentState::Sealed {
                let seg_gaps = inner_gaps.remove(&row.id).unwrap_or_default();
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
        if self.shared.has_writers() {
            return Err(Error::invalid("close all writers before rebuilding the catalog"));
        }
        let id_text = self.store_id();
        // Lock order everywhere: keystore, then catalog.
        let mut ks = self.shared.keystore_guard();
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
        self.shared.reset_after_rebuild(catalog.max_segment_id()?);
        Ok(report)
    }

    /// Gives the store the function that fetches the files of segments a
    /// tier evicted (store/remote_source.rs); None: no tier.
    pub fn set_remote_fetch(&self, fetch: Option<remote_source::FetchRemote>) {
        self.shared.remote.set(fetch);
    }

    /// Gives disk pressure the tier's relief: trim the read cache and evict
    /// uploaded segments before deleting footage (store/tier_relief.rs);
    /// None: no tier.
    pub fn set_tier_relief(&self, relieve: Option<tier_relief::RelievePressure>) {
        self.shared.tier_relief.set(relieve);
    }

    // ------------------------------------------------------------ shutdown

    /// Seals every open segment, stops the group commit and releases the lock.
    pub fn close(&self) -> Result<()> {
        if self.shared.is_closed() {
            return Ok(());
        }
        let mut first_err = None;
        for w in self.shared.live_writers() {
            if let Err(e) = w.close() {
                first_err.get_or_insert(e);
            }
        }
        self.shared.mark_closed();
        // Open segment files, cached indexes and the tier's hooks go now, not
        // when the last handle drops: a partial copy's fetch holds the
        // tier's Python objects, which hold this store (a cycle that would
        // keep the files open and their disk space taken after a close).
        self.shared.forget_segments();
        self.shared.remote.set(None);
        self.shared.tier_relief.set(None);
        if let Some(gc) = lock(&self.group_commit).take() {
            gc.stop();
        }
        if let Some(janitor) = lock(&self.janitor).take() {
            janitor.stop();
        }
        // The audit head goes to the keystore, outside the log it protects.
        if let Err(e) = self.shared.record_latest_audit_head() {
            first_err.get_or_insert(e);
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

/// Stores created before grants existed (they had no audit log either) get
/// their admin key now, and the log says so. A store that has an audit log
/// had the key: its absence is damage, and no new key is made.
fn ensure_admin_key(root: &Path, keystore: &mut Keystore) -> Result<Option<String>> {
    if keystore.has_secret(ADMIN_SIGNING_KEY) {
        return Ok(None);
    }
    if root.join(AUDIT_FILE).exists() {
        return Err(Error::Damaged {
            path: keystore.path().to_path_buf(),
            offset: None,
            detail: format!(
                "the keystore has no signing key {ADMIN_SIGNING_KEY:?}, though the store has an audit log and so \
                 had one; nothing was created in its place: restore keys.vvk from a backup of this store"
            ),
        });
    }
    keystore.create_signing_key(ADMIN_SIGNING_KEY)?;
    Ok(Some("created the admin signing key (grant tokens): this store predates grants".into()))
}

/// Opens the audit log against the head the keystore recorded (refusing a
/// log cut below it), then records the log's current head there.
fn open_audit_log(root: &Path, id_text: &str, keystore: &mut Keystore) -> Result<AuditLog> {
    let signer = keystore.signing_key(EXPORT_SIGNING_KEY)?;
    let mut audit = AuditLog::open(&root.join(AUDIT_FILE), id_text, signer, keystore.audit_head())?;
    if let Some(head) = audit.unrecorded_head() {
        let seq = head.seq;
        keystore.record_audit_head(head)?;
        audit.mark_recorded(seq);
    }
    Ok(audit)
}

fn uuid_string(id: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*id).to_string()
}
