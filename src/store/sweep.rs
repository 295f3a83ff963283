//! store/sweep.rs: executing retention: deleting whole sealed segments crash-safely and
//! crypto-shredding the keys of days nothing needs any more.
//!
//! Deletion protocol (each step durable before the next):
//! 0. the segments' tombstones (ids, hashes, reason) are journaled;
//! 1. the rows turn `deleting` in one catalog transaction;
//! 2. the files are unlinked and their directories fsynced;
//! 3. tombstones replace the rows in one transaction.
//!
//! A crash after 1 leaves `deleting` rows that opening the store finishes;
//! a crash before 1 leaves everything as it was. Reads never see `deleting`
//! rows, so footage is never half-deleted from a reader's point of view.
//!
//! Shredding: a (camera, UTC day) key whose every segment is gone and which
//! no writer holds is removed from the keystore, which is rewritten
//! atomically. Copies of those segments (backups, unlinked blocks) are then
//! unreadable even with the master key.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::MutexGuard;

use crate::catalog::{Catalog, Tombstone};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::retention::{
    self, CameraPlan, DeleteReason, Hold, PlannedDeletion, RetentionPolicy, SegmentFacts,
};
use crate::store::mirror;
use crate::store::reserve;
use crate::store::row_file;
use crate::store::shared::Shared;
use crate::store::sweep_plan::{self, facts};
use crate::store::tier_guard;
use crate::time::Timestamp;

/// What a sweep planned (dry run) or did.
#[derive(Clone, Debug, Default)]
pub struct SweepReport {
    pub now: Timestamp,
    pub dry_run: bool,
    /// Per camera: policy, deletions by rule, what is kept, warnings.
    pub cameras: Vec<CameraPlan>,
    /// Deletions made to free disk space (beyond the per-camera rules).
    pub pressure: Vec<PlannedDeletion>,
    /// (camera, UTC day) keys destroyed (or, in a dry run, that would be).
    pub shredded: Vec<(String, i32)>,
    /// Bytes of sealed footage no rule may delete: (held, younger than min_age).
    pub undeletable_bytes: (u64, u64),
    /// Bytes of unexpired sealed footage disk pressure spared because the
    /// store's tier has not confirmed it in the bucket yet (store/tier_guard.rs).
    pub awaiting_upload_bytes: u64,
}

impl SweepReport {
    pub fn deletions(&self) -> impl Iterator<Item = &PlannedDeletion> {
        self.cameras.iter().flat_map(|c| c.deletions.iter()).chain(self.pressure.iter())
    }

    pub fn deleted_bytes(&self) -> u64 {
        self.deletions().map(|d| d.segment.bytes).sum()
    }
}

type CameraFacts = BTreeMap<String, (RetentionPolicy, Vec<SegmentFacts>, Vec<Hold>)>;

/// What a disk-pressure sweep must free.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pressure {
    pub needed: u64,
    /// The store's tier answered: it evicts the uploaded segments it can,
    /// so the sweep deletes none (one it could not evict may be the only
    /// good copy: its object missing or altered).
    pub spare_uploaded: bool,
}

/// Plans and (unless `dry_run`) executes a sweep at `now`. Under
/// `pressure`, also deletes the oldest deletable footage across cameras
/// until that many bytes are freed.
pub(crate) fn run(
    shared: &Shared,
    now: Timestamp,
    dry_run: bool,
    pressure: Option<Pressure>,
    actor: &str,
) -> Result<SweepReport> {
    let free_bytes_needed = pressure.map(|p| p.needed);
    let _serial = shared.sweep_guard();
    let mut report = SweepReport { now, dry_run, ..SweepReport::default() };
    match pressure {
        None => {
            let plan = sweep_plan::plan(shared, now)?;
            report.cameras = plan.cameras;
            report.undeletable_bytes = plan.undeletable_bytes;
        }
        Some(p) => plan_under_pressure(shared, now, p, &mut report)?,
    }
    let deletions: Vec<PlannedDeletion> = report.deletions().cloned().collect();
    if dry_run {
        report.shredded = keys_freed_by(shared, &deletions)?;
    } else {
        // Deleting writes the tombstone journal and the catalog before it
        // frees anything, so under pressure the reserve's space is given
        // back for it, but only when there is something to delete: space
        // given back for nothing goes to the cameras still recording, and
        // the next retrieval's audit entry then finds no reserve at all.
        if pressure.is_some() && !deletions.is_empty() {
            reserve::release_reserve(&shared.root)?;
        }
        delete_segments(shared, &deletions, now)?;
        report.shredded = shred_unused_keys(shared)?;
        // A disk-pressure sweep that found nothing to delete changed nothing,
        // and the disk is full: nothing to record, and no room to record it.
        if free_bytes_needed.is_none() || !deletions.is_empty() || !report.shredded.is_empty() {
            audit_sweep(shared, &report, actor, free_bytes_needed)?;
        }
    }
    Ok(report)
}

/// Disk pressure ranks the oldest deletable footage of every camera
/// together, so it reads every camera's sealed segments (a rare, emergency
/// sweep; regular sweeps are planned by sweep_plan.rs).
fn plan_under_pressure(
    shared: &Shared,
    now: Timestamp,
    pressure: Pressure,
    report: &mut SweepReport,
) -> Result<()> {
    let mut per_camera: CameraFacts = BTreeMap::new();
    {
        let catalog = shared.catalog()?;
        for cam in catalog.cameras()? {
            let (_, policy) = catalog.effective_retention(&cam)?;
            let segments: Vec<SegmentFacts> = catalog.sealed_segments(&cam.id)?.iter().map(facts).collect();
            let holds = catalog.holds(Some(&cam.id))?;
            report.cameras.push(retention::plan_camera(&cam.id, policy, &segments, &holds, now));
            per_camera.insert(cam.id, (policy, segments, holds));
        }
    }
    let planned: Vec<PlannedDeletion> = report.cameras.iter().flat_map(|c| c.deletions.clone()).collect();
    let sealed = per_camera.values().flat_map(|(_, segments, _)| segments.iter().map(|s| s.id));
    let awaiting = tier_guard::awaiting_upload(&shared.root, sealed.clone());
    // Neither the only copy (not uploaded yet) nor a segment already off
    // this disk (evicted to the tier: deleting it frees nothing here), nor,
    // while the tier answers, an uploaded one (it evicts what it can).
    let spared: BTreeSet<u64> = if pressure.spare_uploaded {
        sealed.collect()
    } else {
        awaiting.union(&tier_guard::remote_only(&shared.root)).copied().collect()
    };
    report.pressure = retention::plan_disk_pressure(&per_camera, &planned, &spared, pressure.needed, now);
    let gone: BTreeSet<u64> = report.deletions().map(|d| d.segment.id).collect();
    for (policy, segments, holds) in per_camera.values() {
        for s in segments.iter().filter(|s| !gone.contains(&s.id)) {
            if awaiting.contains(&s.id) {
                report.awaiting_upload_bytes += s.bytes;
            }
            if holds.iter().any(|h| h.active_at(now) && h.covers(s.start, s.end)) {
                report.undeletable_bytes.0 += s.bytes;
            } else if policy.min_age_ns.is_some_and(|a| s.end.0 > now.0.saturating_sub(a)) {
                report.undeletable_bytes.1 += s.bytes;
            }
        }
    }
    Ok(())
}

/// Records an executed sweep: what went, why, and which keys were destroyed.
fn audit_sweep(shared: &Shared, report: &SweepReport, actor: &str, pressure: Option<u64>) -> Result<()> {
    let mut per_camera: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for d in report.deletions() {
        let e = per_camera.entry(d.segment.camera.as_str()).or_default();
        e.0 += 1;
        e.1 += d.segment.bytes;
    }
    let details = serde_json::json!({
        "now": report.now.0,
        "deleted": per_camera.iter().map(|(c, (n, b))| serde_json::json!({"camera": c, "segments": n, "bytes": b})).collect::<Vec<_>>(),
        "segment_ids": report.deletions().map(|d| d.segment.id).collect::<Vec<_>>(),
        "shredded": report.shredded.iter().map(|(c, d)| serde_json::json!({"camera": c, "day": crate::time::format_utc_day(*d)})).collect::<Vec<_>>(),
        "free_bytes_needed": pressure,
    });
    shared.audit(crate::access::audit::NewEntry {
        principal: actor.to_string(),
        action: if pressure.is_some() { "disk_pressure_sweep" } else { "retention_sweep" }.into(),
        outcome: crate::access::audit::DONE.into(),
        reason: format!("{} segments, {} bytes deleted", report.deletions().count(), report.deleted_bytes()),
        details: details.to_string(),
        ..Default::default()
    })?;
    Ok(())
}

/// Deletes segments by the protocol in the module comment.
pub(crate) fn delete_segments(shared: &Shared, deletions: &[PlannedDeletion], now: Timestamp) -> Result<()> {
    if deletions.is_empty() {
        return Ok(());
    }
    let marks: Vec<(u64, DeleteReason)> = deletions.iter().map(|d| (d.segment.id, d.reason)).collect();
    // Every path is derived and checked before anything changes: a row
    // that names a file outside the store stops the sweep, nothing deleted.
    let mut paths: Vec<(u64, PathBuf)> = Vec::with_capacity(deletions.len());
    let tombstones = {
        let catalog = shared.catalog_for_io();
        let mut out = Vec::with_capacity(deletions.len());
        for d in deletions {
            let row = catalog.segment(d.segment.id)?.ok_or_else(|| {
                Error::invalid(format!("segment {} vanished from the catalog during a sweep", d.segment.id))
            })?;
            paths.push((row.id, row_file::path_of(&shared.root, &row)?));
            out.push(Tombstone {
                id: row.id,
                camera: row.camera,
                start_ts: row.start_ts,
                end_ts: row.end_ts,
                bytes: row.bytes,
                kek_day: row.kek_day,
                content_hash: row.content_hash,
                prev_hash: row.prev_hash,
                reason: d.reason,
                deleted: now,
            });
        }
        out
    };
    mirror::append_tombstones(&shared.root, &tombstones)?;
    shared.catalog_for_io().mark_deleting(&marks)?;
    unlink_segments(shared, &paths)?;
    let ids: Vec<u64> = paths.iter().map(|(id, _)| *id).collect();
    shared.catalog_for_io().finish_deletion(&ids, now)
}

/// Unlinks segment files (missing ones are fine: a crash may have come after
/// the unlink), fsyncs each directory once, and removes day directories
/// left empty.
pub(crate) fn unlink_segments(shared: &Shared, paths: &[(u64, PathBuf)]) -> Result<()> {
    let mut dirs = BTreeSet::new();
    for (id, path) in paths {
        shared.forget_segment(*id);
        match crate::faults::check(crate::faults::Op::Remove).and_then(|()| std::fs::remove_file(path)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("delete segment", path, e)),
        }
        if let Some(dir) = path.parent() {
            dirs.insert(dir.to_path_buf());
        }
    }
    for dir in dirs {
        let empty = std::fs::read_dir(&dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if empty && std::fs::remove_dir(&dir).is_ok() {
            fsutil::fsync_dir(dir.parent().unwrap_or(&dir))?;
        } else if dir.exists() {
            fsutil::fsync_dir(&dir)?;
        }
    }
    Ok(())
}

/// Destroys the KEK of every (camera, day) whose segments retention deleted
/// (it has tombstones) and that no remaining segment row uses and no writer
/// holds. Only deletions decide shredding: a key is never destroyed because
/// a segment is merely missing from the catalog. Keys of days after a
/// camera's newest tombstone cost nothing, others two index probes (schema
/// 3), never a pass over every row of the store.
/// Lock order: keystore_io, keystore, catalog (the same everywhere).
pub(crate) fn shred_unused_keys(shared: &Shared) -> Result<Vec<(String, i32)>> {
    let _io = shared.keystore_io_guard();
    let mut keystore = shared.keystore_guard();
    let mut victims = Vec::new();
    {
        let catalog = shared.catalog_for_io();
        let mut emptied = EmptiedKeyDays::new(&catalog);
        for (camera, day) in keystore.unused_keks(&HashSet::new()) {
            if emptied.test(&camera, day)? {
                victims.push((camera, day));
            }
        }
    }
    if !victims.is_empty() {
        keystore.shred(&victims)?;
    }
    Ok(victims)
}

/// Which (camera, key day) retention has emptied: tombstones and no rows.
/// A store holds a key per camera and day (365,000 for a year of 1,000
/// cameras) and nearly all are of days retention has not reached, so each
/// camera's newest tombstoned day is asked once and only keys up to it are
/// probed (store open and every sweep run this over every key).
struct EmptiedKeyDays<'c> {
    catalog: &'c Catalog,
    newest_tombstoned: HashMap<String, Option<i32>>,
}

impl<'c> EmptiedKeyDays<'c> {
    fn new(catalog: &'c Catalog) -> Self {
        EmptiedKeyDays { catalog, newest_tombstoned: HashMap::new() }
    }

    fn test(&mut self, camera: &str, day: i32) -> Result<bool> {
        let newest = match self.newest_tombstoned.get(camera) {
            Some(newest) => *newest,
            None => {
                let newest = self.catalog.newest_tombstoned_key_day(camera)?;
                self.newest_tombstoned.insert(camera.to_string(), newest);
                newest
            }
        };
        if newest.is_none_or(|newest| day > newest) {
            return Ok(false);
        }
        Ok(self.catalog.key_day_tombstoned(camera, day)? && !self.catalog.key_day_in_use(camera, day)?)
    }
}

/// The keys a dry run's deletions would free.
fn keys_freed_by(shared: &Shared, deletions: &[PlannedDeletion]) -> Result<Vec<(String, i32)>> {
    let keystore: MutexGuard<'_, _> = shared.keystore_guard();
    let catalog = shared.catalog_for_io();
    let gone: BTreeSet<u64> = deletions.iter().map(|d| d.segment.id).collect();
    let planned: HashSet<(&str, i32)> =
        deletions.iter().map(|d| (d.segment.camera.as_str(), d.segment.kek_day)).collect();
    let mut freed = Vec::new();
    let mut emptied = EmptiedKeyDays::new(&catalog);
    for (camera, day) in keystore.unused_keks(&HashSet::new()) {
        let free = if planned.contains(&(camera.as_str(), day)) {
            catalog.key_day_segments(&camera, day)?.iter().all(|id| gone.contains(id))
        } else {
            emptied.test(&camera, day)?
        };
        if free {
            freed.push((camera, day));
        }
    }
    Ok(freed)
}
