//! store/recovery.rs: recovery on open, and the one rule for what a segment
//! recovery result means. Opening the store and rebuilding the catalog both
//! recover unsealed segment files (segment/recover.rs does the bytes); both
//! then call `settle`, so the same file gets the same outcome on either path:
//! sealed (as found or repaired), removed when it never held a frame, or
//! moved to quarantine when its header cannot be read. Nothing unreadable is
//! deleted and every outcome is reported.

use std::path::{Path, PathBuf};

use crate::catalog::{Catalog, SegmentRow, SegmentState};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::keys::Keystore;
use crate::segment::format::SegmentSummary;
use crate::segment::reader::{read_header, Identity};
use crate::segment::recover::Recovery;
use crate::store::row_file;
use crate::time::Timestamp;

/// What recovery on open did to one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredSegment {
    pub camera: String,
    pub segment_id: u64,
    pub path: PathBuf,
    /// "sealed", "repaired", "removed-empty", "removed-missing", "quarantined",
    /// "finished-deletion", or "refused": the row names no file of this
    /// store, or its file is another segment; row and file were left as
    /// they are (`detail` says why).
    pub action: &'static str,
    pub frames: u64,
    pub discarded_bytes: u64,
    pub detail: String,
}

/// What became of a recovered segment file.
pub(crate) enum Settled {
    /// The file is sealed and readable; `repair` says what was cut
    /// (discarded bytes, where and why) when the tail was torn.
    Sealed { summary: SegmentSummary, repair: Option<(u64, String)> },
    /// It never held a complete frame (nothing in it was acknowledged): removed.
    RemovedEmpty,
    /// Its header is unreadable: moved aside, never deleted.
    Quarantined { detail: String },
}

/// Carries out what `recovery` of the file at `path` means (see the file
/// comment); the caller updates its catalog accordingly.
pub(crate) fn settle(root: &Path, path: &Path, recovery: Recovery) -> Result<Settled> {
    Ok(match recovery {
        Recovery::AlreadySealed { summary, .. } => Settled::Sealed { summary, repair: None },
        Recovery::Repaired { summary, discarded_bytes, problem, .. } => {
            let detail = problem.map(|(o, d)| format!("cut at byte {o}: {d}")).unwrap_or_default();
            Settled::Sealed { summary, repair: Some((discarded_bytes, detail)) }
        }
        Recovery::Empty { .. } => {
            fsutil::remove_file_durable(path)?;
            Settled::RemovedEmpty
        }
        Recovery::Unreadable { detail } => {
            let moved = fsutil::quarantine(root, path)?;
            Settled::Quarantined { detail: format!("{detail}; moved to {}", moved.display()) }
        }
    })
}

/// A row recovery leaves alone, and why.
fn refused(row: &SegmentRow, path: PathBuf, err: &Error) -> RecoveredSegment {
    RecoveredSegment {
        camera: row.camera.clone(),
        segment_id: row.id,
        path,
        action: "refused",
        frames: 0,
        discarded_bytes: 0,
        detail: err.to_string(),
    }
}

/// Checks the header of the file at `path` (when it has one) names the
/// segment `expect`; missing, empty and unreadable files pass (recovery
/// decides what they mean).
fn check_claims(path: &Path, expect: &Identity) -> Result<()> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(());
    };
    match read_header(&file, path) {
        Ok(parsed) => expect.check(&parsed.header, path),
        Err(_) => Ok(()),
    }
}

/// Brings every segment the catalog lists as open back to a sealed state, and
/// finishes deletions a crash interrupted.
pub(crate) fn recover_open_segments(
    root: &Path,
    catalog: &mut Catalog,
    keystore: &mut Keystore,
    gap_threshold: i64,
) -> Result<Vec<RecoveredSegment>> {
    let mut report = Vec::new();
    let store_id = keystore.store_id();
    // A sweep was interrupted after marking these rows: finish it, for the
    // rows that name a file of this store (row_file.rs); the others stay.
    let mut finished = Vec::new();
    for row in catalog.segments_in_state(SegmentState::Deleting)? {
        match row_file::path_of(root, &row) {
            Ok(path) => {
                fsutil::remove_file_durable(&path)?;
                finished.push((row, path));
            }
            Err(e) => report.push(refused(&row, root.join(&row.path), &e)),
        }
    }
    let ids: Vec<u64> = finished.iter().map(|(r, _)| r.id).collect();
    catalog.finish_deletion(&ids, Timestamp::now())?;
    report.extend(finished.into_iter().map(|(row, path)| RecoveredSegment {
        path,
        camera: row.camera,
        segment_id: row.id,
        action: "finished-deletion",
        frames: row.frames.unwrap_or(0),
        discarded_bytes: 0,
        detail: "a retention sweep was interrupted after deciding to delete this segment".into(),
    }));
    for row in catalog.segments_in_state(SegmentState::Open)? {
        let path = match row_file::path_of(root, &row) {
            Ok(p) => p,
            Err(e) => {
                report.push(refused(&row, root.join(&row.path), &e));
                continue;
            }
        };
        let mut entry = RecoveredSegment {
            camera: row.camera.clone(),
            segment_id: row.id,
            path: path.clone(),
            action: "",
            frames: 0,
            discarded_bytes: 0,
            detail: String::new(),
        };
        // A file copied over this one's path is not repaired or sealed in
        // its place: both stay as they are, reported.
        if let Err(e) = check_claims(&path, &row_file::identity(&store_id, &row)) {
            report.push(refused(&row, path, &e));
            continue;
        }
        if !path.exists() {
            // The row is committed before the file is created: a crash in
            // between leaves a row whose file never held a frame.
            catalog.remove_segment(row.id)?;
            entry.action = "removed-missing";
            report.push(entry);
            continue;
        }
        let recovery =
            crate::segment::recover::recover_segment(&path, &mut |c, d| keystore.kek(c, d), gap_threshold)?;
        match settle(root, &path, recovery)? {
            Settled::Sealed { summary, repair } => {
                let bytes = std::fs::metadata(&path).ctx("stat", &path)?.len();
                catalog.mark_sealed(row.id, &summary, bytes, Timestamp::now())?;
                entry.frames = summary.frame_count;
                match repair {
                    None => entry.action = "sealed",
                    Some((discarded, detail)) => {
                        entry.action = "repaired";
                        entry.discarded_bytes = discarded;
                        entry.detail = detail;
                    }
                }
            }
            Settled::RemovedEmpty => {
                catalog.remove_segment(row.id)?;
                entry.action = "removed-empty";
            }
            Settled::Quarantined { detail } => {
                catalog.remove_segment(row.id)?;
                entry.action = "quarantined";
                entry.detail = detail;
            }
        }
        report.push(entry);
    }
    Ok(report)
}
