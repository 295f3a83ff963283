//! store/row_file.rs: the file a catalog row stands for. The catalog is a
//! cache that anyone with write access to the store can edit, so nothing in
//! a row is trusted to name a file:
//! - where: the path is derived from the row's camera, key day and id
//!   (docs/FORMAT.md section 1), never taken from its `path` column, which
//!   must agree; no component between the store root and the file may be a
//!   symbolic link. So a deletion, a move to quarantine or a read never
//!   reaches outside the store.
//! - what: the file's authenticated header must name this store, the row's
//!   camera, id and key day, and a sealed footer the row's times and content
//!   hash. A segment copied over another's path is refused, never served as
//!   the footage it replaced.

use std::path::{Path, PathBuf};

use crate::catalog::{SegmentRow, SegmentState, CATALOG_FILE};
use crate::error::{Error, Result};
use crate::segment::reader::{Identity, SealState, SegmentFile};

/// Where a segment lives, relative to the store root.
pub fn segment_rel_path(camera: &str, day: i32, id: u64) -> String {
    format!(
        "segments/{}/{}/{:016x}.vvs",
        crate::camera::camera_dir_name(camera),
        crate::time::format_utc_day(day),
        id
    )
}

/// The error for a row that cannot name a file inside the store.
fn bad_row(root: &Path, row: &SegmentRow, detail: String) -> Error {
    Error::Corrupt {
        camera: row.camera.clone(),
        path: root.join(CATALOG_FILE),
        offset: 0,
        detail: format!(
            "catalog row of segment {} (camera {:?}): {detail}; nothing was read, moved or deleted \
             through it (rebuild the catalog from the segment files)",
            row.id, row.camera
        ),
    }
}

/// Where segment `id` of `camera` (keyed on `day`) lives, relative to the
/// store root; None for an empty camera id, which no segment has.
pub(crate) fn home(camera: &str, day: i32, id: u64) -> Option<String> {
    (!camera.is_empty()).then(|| segment_rel_path(camera, day, id))
}

/// Where the row's segment lives, relative to the store root.
pub(crate) fn rel_path(root: &Path, row: &SegmentRow) -> Result<String> {
    home(&row.camera, row.kek_day, row.id).ok_or_else(|| bad_row(root, row, "the camera id is empty".into()))
}

/// The absolute path of the row's file: derived from its ids, checked
/// against its `path` column and free of symbolic links under the root.
pub(crate) fn path_of(root: &Path, row: &SegmentRow) -> Result<PathBuf> {
    let rel = rel_path(root, row)?;
    if row.path != rel {
        return Err(bad_row(
            root,
            row,
            format!("its path {:?} is not where that segment lives ({rel:?})", row.path),
        ));
    }
    let mut at = root.to_path_buf();
    for part in Path::new(&rel).components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(bad_row(
                    root,
                    row,
                    format!("{} is a symbolic link; segment paths never leave the store", at.display()),
                ))
            }
            Ok(_) => {}
            // Missing: callers decide what a missing file means.
            Err(_) => break,
        }
    }
    Ok(root.join(&rel))
}

/// What the row says its file is.
pub(crate) fn identity(store_id: &[u8; 16], row: &SegmentRow) -> Identity {
    Identity { store_id: *store_id, camera: row.camera.clone(), segment_id: row.id, kek_day: row.kek_day }
}

/// Checks an opened file's summary against a sealed row: times and content
/// hash from an intact footer must be the row's; a file indexed by scanning
/// (damaged footer) must start where the row starts and end no later.
pub(crate) fn check_summary(row: &SegmentRow, seg: &SegmentFile) -> Result<()> {
    if row.state != SegmentState::Sealed {
        return Ok(());
    }
    let s = &seg.summary;
    let mismatch = match seg.seal {
        SealState::Sealed => (Some(s.content_hash) != row.content_hash)
            .then_some("content hash")
            .or((s.start_ts != row.start_ts).then_some("start time"))
            .or((Some(s.end_ts) != row.end_ts).then_some("end time")),
        SealState::Unsealed { .. } => (s.frame_count > 0
            && (s.start_ts != row.start_ts || row.end_ts.is_some_and(|e| s.end_ts > e)))
        .then_some("time range"),
    };
    match mismatch {
        None => Ok(()),
        Some(what) => Err(Error::Corrupt {
            camera: row.camera.clone(),
            path: seg.path.clone(),
            offset: 0,
            detail: format!(
                "the file's {what} differs from the catalog's for segment {} (file: {}..{}, catalog: \
                 {}..{}); it is not the file that was sealed there, so nothing is read from it",
                row.id,
                s.start_ts.0,
                s.end_ts.0,
                row.start_ts.0,
                row.end_ts.map(|t| t.0.to_string()).unwrap_or_else(|| "open".into()),
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn row(path: &str) -> SegmentRow {
        SegmentRow {
            id: 5,
            camera: "cam".into(),
            path: path.into(),
            state: SegmentState::Sealed,
            codec: "h264".into(),
            kek_day: 20_000,
            start_ts: Timestamp(0),
            end_ts: Some(Timestamp(1)),
            max_ts: Some(Timestamp(1)),
            frames: Some(1),
            bytes: Some(1),
            content_hash: Some([0; 32]),
            prev_hash: [0; 32],
            created: Timestamp(0),
            sealed_at: None,
        }
    }

    #[test]
    fn paths_come_from_ids_and_never_leave_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let home = segment_rel_path("cam", 20_000, 5);
        assert_eq!(path_of(&root, &row(&home)).unwrap(), root.join(&home));
        for bad in [
            "../x.vvs",
            "/etc/passwd",
            "segments/cam/../../x.vvs",
            "segments/other/2024-10-04/0000000000000005.vvs",
        ] {
            let err = path_of(&root, &row(bad)).unwrap_err().to_string();
            assert!(err.contains("segment 5") && err.contains(bad), "{err}");
        }
        let mut empty = row(&home);
        empty.camera = String::new();
        assert!(path_of(&root, &empty).is_err());
    }

    #[test]
    fn a_symlink_on_the_way_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("segments")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("segments/cam")).unwrap();
        let home = segment_rel_path("cam", 20_000, 5);
        let err = path_of(&root, &row(&home)).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }
}
