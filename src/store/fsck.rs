//! store/fsck.rs: integrity checks and catalog rebuilds, the two ways the
//! store compares what the catalog says with what the segment files say.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::catalog::{CameraRow, Catalog, SegmentRow, SegmentState};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::keys::Keystore;
use crate::retention::RetentionSetting;
use crate::segment::format::Gap;
use crate::segment::reader::{SealState, SegmentFile};
use crate::segment::recover;
use crate::store::mirror;
use crate::store::recovery::{settle, Settled};
use crate::store::row_file;
use crate::store::shared::{Shared, CATALOG_FILE};
use crate::store::tier_guard;
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub camera: String,
    pub segment_id: Option<u64>,
    pub path: PathBuf,
    pub offset: Option<u64>,
    pub detail: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsckReport {
    pub segments: u64,
    pub frames: u64,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub cameras: u64,
    pub segments: u64,
    /// Legal holds restored from `holds.json`.
    pub holds: u64,
    /// Deleted-segment records restored from `tombstones.jsonl`.
    pub tombstones: u64,
    /// Unsealed segments recovered and sealed on the way.
    pub repaired: u64,
    /// Segment files that never held a complete frame, removed (as opening
    /// the store removes them: store/recovery.rs).
    pub removed_empty: u64,
    pub problems: Vec<Problem>,
}

fn problem_from(camera: &str, row: Option<&SegmentRow>, path: &Path, err: &Error) -> Problem {
    let (offset, detail) = match err {
        Error::Corrupt { offset, detail, .. } => (Some(*offset), detail.clone()),
        other => (None, other.to_string()),
    };
    Problem {
        camera: camera.to_string(),
        segment_id: row.map(|r| r.id),
        path: path.to_path_buf(),
        offset,
        detail,
    }
}

/// A store directory other local users may enter: its audit log (who
/// watched which camera, for which case), catalog and holds are not
/// encrypted. Stores made by earlier builds were 0755; open leaves the mode
/// to the owner, so fsck is where they learn of it.
fn open_to_others(root: &Path) -> Option<Problem> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(root).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| Problem {
        camera: String::new(),
        segment_id: None,
        path: root.to_path_buf(),
        offset: None,
        detail: format!(
            "the store directory is mode {mode:04o}: other users of this machine can read its audit log, \
             catalog and holds (only the footage is encrypted); run `chmod 700 {}`",
            root.display()
        ),
    })
}

/// SHA-256 of the first `len` bytes of a file, streamed.
fn hash_prefix(path: &Path, len: u64) -> Result<[u8; 32]> {
    let mut f = File::open(path).ctx("open", path)?.take(len);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).ctx("read", path)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

pub(crate) fn check(shared: &Shared, deep: bool) -> Result<FsckReport> {
    let mut report = FsckReport::default();
    report.problems.extend(open_to_others(&shared.root));
    let cameras: Vec<String> = shared.catalog()?.cameras()?.into_iter().map(|c| c.id).collect();
    let mut known_paths = HashSet::new();
    // Evicted to the tier: no local file to check (their objects are
    // verified against the recorded SHA-256 each time one is fetched).
    let remote_only = tier_guard::remote_only(&shared.root);
    for camera in &cameras {
        let rows = shared.catalog()?.camera_segments(camera)?;
        let tombstones = shared.catalog()?.tombstones(camera)?;
        report.problems.extend(chain_problems(camera, &rows, &tombstones, &shared.root));
        for row in &rows {
            // The file of the row's ids is known, whatever its path column says.
            if let Ok(home) = row_file::rel_path(&shared.root, row) {
                known_paths.insert(home);
            }
            let path = match row_file::path_of(&shared.root, row) {
                Ok(p) => p,
                Err(e) => {
                    report.problems.push(problem_from(
                        camera,
                        Some(row),
                        &shared.root.join(CATALOG_FILE),
                        &e,
                    ));
                    continue;
                }
            };
            if row.state == SegmentState::Deleting {
                continue;
            }
            report.segments += 1;
            let mut push = |p: Problem| report.problems.push(p);
            if !path.exists() && remote_only.contains(&row.id) {
                continue;
            }
            if !path.exists() {
                push(Problem {
                    camera: camera.clone(),
                    segment_id: Some(row.id),
                    path: path.clone(),
                    offset: None,
                    detail: "segment file is missing".into(),
                });
                continue;
            }
            let seg = match shared.open_segment(row) {
                Ok(s) => s,
                Err(e) => {
                    push(problem_from(camera, Some(row), &path, &e));
                    continue;
                }
            };
            report.bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if row.state == SegmentState::Sealed {
                if let SealState::Unsealed { problem, footer_damaged } = &seg.seal {
                    let what = if *footer_damaged { "footer is damaged" } else { "footer is missing" };
                    let mut detail = format!("{what}; the index was rebuilt by scanning");
                    if let Some((o, d)) = problem {
                        detail.push_str(&format!("; records end early at byte {o}: {d}"));
                    }
                    push(Problem {
                        camera: camera.clone(),
                        segment_id: Some(row.id),
                        path: path.clone(),
                        offset: None,
                        detail,
                    });
                } else {
                    if Some(seg.summary.content_hash) != row.content_hash {
                        push(Problem {
                            camera: camera.clone(),
                            segment_id: Some(row.id),
                            path: path.clone(),
                            offset: None,
                            detail: "content hash in the footer differs from the catalog".into(),
                        });
                    }
                    let actual = hash_prefix(&path, seg.summary.records_end)?;
                    if actual != seg.summary.content_hash {
                        push(Problem {
                            camera: camera.clone(),
                            segment_id: Some(row.id),
                            path: path.clone(),
                            offset: None,
                            detail: "file content does not match its content hash (altered or damaged)"
                                .into(),
                        });
                    }
                    // Listings trust the table (it is authenticated), so it
                    // must say what the records say.
                    if let Err(e) = seg.check_frame_table() {
                        push(problem_from(camera, Some(row), &path, &e));
                    }
                }
            }
            if deep {
                let mut offset = seg.header_len;
                let mut frames = 0u64;
                loop {
                    match seg.read_frame_expecting(offset, frames) {
                        Ok(Some((_, next))) => {
                            frames += 1;
                            offset = next;
                        }
                        Ok(None) => break,
                        Err(e) => {
                            push(problem_from(camera, Some(row), &path, &e));
                            break;
                        }
                    }
                }
                report.frames += frames;
            } else {
                report.frames += seg.summary.frame_count;
            }
        }
    }
    for (rel, _) in segment_files(&shared.root)? {
        if !known_paths.contains(&rel) {
            report.problems.push(Problem {
                camera: String::new(),
                segment_id: None,
                path: shared.root.join(&rel),
                offset: None,
                detail: "segment file is not in the catalog (a catalog rebuild adds it)".into(),
            });
        }
    }
    Ok(report)
}

/// Checks the camera's hash chain: each segment's header names the content
/// hash of the segment before it, whether that one still exists or was
/// deleted by retention (its tombstone keeps the hash).
fn chain_problems(
    camera: &str,
    rows: &[SegmentRow],
    tombstones: &[crate::catalog::Tombstone],
    root: &Path,
) -> Vec<Problem> {
    /// (start, id, prev_hash, content_hash, path of a live row)
    type Link<'a> = (Timestamp, u64, [u8; 32], Option<[u8; 32]>, Option<&'a str>);
    let mut links: Vec<Link> = rows
        .iter()
        .map(|r| (r.start_ts, r.id, r.prev_hash, r.content_hash, Some(r.path.as_str())))
        .chain(tombstones.iter().map(|t| (t.start_ts, t.id, t.prev_hash, t.content_hash, None)))
        .collect();
    links.sort_by_key(|l| (l.0, l.1));
    let mut out = Vec::new();
    for pair in links.windows(2) {
        let (prev, cur) = (&pair[0], &pair[1]);
        let (Some(path), Some(prev_hash)) = (cur.4, prev.3) else {
            continue;
        };
        if cur.2 != prev_hash {
            let what = if prev.4.is_some() { "segment" } else { "deleted segment" };
            out.push(Problem {
                camera: camera.to_string(),
                segment_id: Some(cur.1),
                path: root.join(path),
                offset: Some(52),
                detail: format!(
                    "hash chain broken: the previous-segment hash does not match {what} {} (a segment may \
                     be missing or altered)",
                    prev.1
                ),
            });
        }
    }
    out
}

/// Every `segments/CAMERA/DAY/*.vvs` file (relative path, absolute path).
pub(crate) fn segment_files(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let seg_root = root.join("segments");
    if !seg_root.exists() {
        return Ok(out);
    }
    let list = |p: &Path| -> Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> =
            std::fs::read_dir(p).ctx("list", p)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        v.sort();
        Ok(v)
    };
    // Symbolic links are not followed: every file found is inside the store.
    let is_dir = |p: &PathBuf| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let is_file = |p: &PathBuf| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
    for cam in list(&seg_root)?.into_iter().filter(is_dir) {
        for day in list(&cam)?.into_iter().filter(is_dir) {
            for f in list(&day)?.into_iter().filter(is_file) {
                if f.extension().is_some_and(|e| e == "vvs") {
                    let rel = f.strip_prefix(root).unwrap_or(&f).to_string_lossy().to_string();
                    out.push((rel, f));
                }
            }
        }
    }
    Ok(out)
}

/// The catalog row (and gaps) of a sealed segment file at `rel`, from the
/// file alone.
pub(crate) fn sealed_row(seg: &SegmentFile, rel: String, path: &Path) -> Result<(SegmentRow, Vec<Gap>)> {
    let s = &seg.summary;
    let bytes = std::fs::metadata(path).ctx("stat", path)?.len();
    let row = SegmentRow {
        id: seg.id(),
        camera: seg.camera().to_string(),
        path: rel,
        state: SegmentState::Sealed,
        codec: seg.config.codec.clone(),
        kek_day: seg.header.kek_day,
        start_ts: s.start_ts,
        end_ts: Some(s.end_ts),
        max_ts: Some(s.max_ts),
        frames: Some(s.frame_count),
        bytes: Some(bytes),
        content_hash: Some(s.content_hash),
        prev_hash: seg.header.prev_hash,
        created: seg.header.created,
        sealed_at: Some(Timestamp::now()),
    };
    Ok((row, s.gaps.clone()))
}

/// Writes a fresh catalog built from the segment files alone and moves it
/// into place. Unsealed segments are recovered on the way.
pub(crate) fn rebuild_catalog_file(
    root: &Path,
    store_id: &str,
    keystore: &mut Keystore,
    gap_threshold: i64,
) -> Result<RebuildReport> {
    let mut report = RebuildReport::default();
    let target = root.join(CATALOG_FILE);
    let tmp = root.join("catalog.rebuild.sqlite");
    for p in [&tmp, &root.join("catalog.rebuild.sqlite-wal"), &root.join("catalog.rebuild.sqlite-shm")] {
        let _ = std::fs::remove_file(p);
    }
    let mut rows: Vec<(SegmentRow, Vec<crate::segment::format::Gap>)> = Vec::new();
    for (rel, path) in segment_files(root)? {
        let mut keys = |c: &str, d: i32| keystore.kek(c, d);
        let seg = match SegmentFile::open(&path, &mut keys, gap_threshold) {
            Ok(s) => s,
            Err(e) => {
                report.problems.push(problem_from("", None, &path, &e));
                continue;
            }
        };
        // A file is catalogued only where its own header says it lives: a
        // copy under another segment's name is reported, never recovered.
        let home = row_file::home(seg.camera(), seg.header.kek_day, seg.id()).unwrap_or_default();
        if rel != home {
            report.problems.push(Problem {
                camera: seg.camera().to_string(),
                segment_id: Some(seg.id()),
                path: path.clone(),
                offset: Some(16),
                detail: format!(
                    "the file is segment {} of camera {:?}, which lives at {home}: not catalogued here \
                     (move it back there, or remove the copy)",
                    seg.id(),
                    seg.camera()
                ),
            });
            continue;
        }
        let seg = if let SealState::Unsealed { .. } = seg.seal {
            drop(seg);
            let recovery = recover::recover_segment(&path, &mut keys, gap_threshold)?;
            match settle(root, &path, recovery)? {
                Settled::Sealed { .. } => {
                    report.repaired += 1;
                    SegmentFile::open(&path, &mut keys, gap_threshold)?
                }
                Settled::RemovedEmpty => {
                    report.removed_empty += 1;
                    continue;
                }
                Settled::Quarantined { detail } => {
                    report.problems.push(Problem {
                        camera: String::new(),
                        segment_id: None,
                        path: path.clone(),
                        offset: None,
                        detail: format!("unreadable segment quarantined: {detail}"),
                    });
                    continue;
                }
            }
        } else {
            seg
        };
        rows.push(sealed_row(&seg, rel, &path)?);
    }
    let mirrored = mirror::load(root);
    let mut cameras = mirrored.cameras;
    for (row, _) in &rows {
        cameras.entry(row.camera.clone()).or_insert_with(|| CameraRow {
            id: row.camera.clone(),
            labels: BTreeMap::new(),
            created: row.created,
            retention: RetentionSetting::StoreDefault,
        });
    }
    {
        let mut catalog = Catalog::create(&tmp, store_id)?.without_commit_sync()?;
        for (name, policy) in &mirrored.classes {
            catalog.define_retention_class(name, policy)?;
        }
        if let Some(default) = &mirrored.default_class {
            catalog.set_default_retention_class(default)?;
        }
        for cam in cameras.values() {
            if let Err(e) = catalog.add_camera(cam) {
                // A class the mirror lost: fall back to the default, say so.
                report.problems.push(problem_from(&cam.id, None, &root.join("retention.json"), &e));
                catalog.set_camera_retention(&cam.id, &RetentionSetting::StoreDefault)?;
            }
            report.cameras += 1;
        }
        for hold in &mirrored.holds {
            catalog.insert_hold(hold)?;
            report.holds += 1;
        }
        let live: std::collections::HashSet<u64> = rows.iter().map(|(r, _)| r.id).collect();
        report.tombstones +=
            catalog.insert_tombstones(mirrored.tombstones.iter().filter(|t| !live.contains(&t.id)))?;
        catalog.insert_sealed_segments(&rows)?;
        report.segments += rows.len() as u64;
    } // closing the connection checkpoints and removes the WAL
    let built = std::fs::File::open(&tmp).ctx("open rebuilt catalog", &tmp)?;
    fsutil::fsync_file(&built, &tmp)?; // the commits were not synced: see without_commit_sync
    drop(built);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(root.join(format!("{CATALOG_FILE}{suffix}")));
    }
    std::fs::rename(&tmp, &target).ctx("move rebuilt catalog into place", &target)?;
    fsutil::fsync_dir(root)?;
    Ok(report)
}
