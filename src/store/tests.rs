//! store/tests.rs: store-level tests of the pure core: round trips across segments, seeks,
//! gaps, live reads, reopen, wrong key, lock, corruption, fsck and rebuild.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::segment::format::CodecConfig;
use crate::segment::writer::NewFrame;
use crate::time::{TimeBase, TimeRange, Timestamp, NANOS_PER_SECOND};
use crate::{SecretKey, Store, StoreOptions};

const T0: i64 = 1_763_700_000 * NANOS_PER_SECOND; // 2025-11-21
const FRAME: i64 = 40_000_000; // 25 fps

fn key() -> SecretKey {
    SecretKey::from_bytes([0x5A; 32])
}

fn options() -> StoreOptions {
    StoreOptions {
        roll_after_ns: 10 * NANOS_PER_SECOND,
        sync_interval: Duration::from_millis(50),
        ..StoreOptions::default()
    }
}

pub(crate) fn config() -> CodecConfig {
    CodecConfig {
        codec: "h264".into(),
        extradata: b"\x01\x64\x00\x1f".to_vec(),
        time_base: TimeBase::new(1, 90_000).unwrap(),
        width: 640,
        height: 360,
        params: String::new(),
    }
}

fn payload(i: i64) -> Vec<u8> {
    let mut p = format!("PLAINTEXT-MARKER frame {i} ").into_bytes();
    p.resize(200 + (i as usize % 7) * 50, (i % 251) as u8);
    p
}

/// Writes `n` frames at 25 fps starting at `start`, GOP of 25 (1 s).
fn write_frames(store: &Store, camera: &str, start: i64, first: i64, n: i64) {
    let w = store.writer(camera, config()).unwrap();
    for i in first..first + n {
        let data = payload(i);
        w.append(&NewFrame {
            ts: Timestamp(start + (i - first) * FRAME),
            data: &data,
            keyframe: i % 25 == 0,
            pts: Some(i * 3600),
            dts: Some(i * 3600),
            duration: Some(3600),
        })
        .unwrap();
    }
    w.close().unwrap();
}

fn new_store(dir: &Path) -> Store {
    let s = Store::create(&dir.join("store"), key(), options()).unwrap();
    s.add_camera("cam", BTreeMap::new(), crate::RetentionSetting::StoreDefault).unwrap();
    s
}

fn range(a: i64, b: i64) -> TimeRange {
    TimeRange::new(Timestamp(a), Timestamp(b))
}

#[test]
fn round_trip_across_segments_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    write_frames(&store, "cam", T0, 0, 1000); // 40 s -> 4 segments
    let segs = store.segments("cam", range(T0, T0 + 100 * NANOS_PER_SECOND)).unwrap();
    assert_eq!(segs.len(), 4);
    let frames: Vec<_> =
        store.read("cam", range(T0, T0 + 40 * NANOS_PER_SECOND)).unwrap().map(|f| f.unwrap()).collect();
    assert_eq!(frames.len(), 1000);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.data, payload(i as i64));
        assert_eq!(f.meta.pts, Some(i as i64 * 3600));
    }
    store.close().unwrap();
    let store = Store::open(&dir.path().join("store"), key(), options(), false).unwrap();
    let n = store.read("cam", range(T0, T0 + 40 * NANOS_PER_SECOND)).unwrap().count();
    assert_eq!(n, 1000);
    let report = store.fsck(true).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.frames, 1000);
}

#[test]
fn read_starts_at_keyframe_and_stops_before_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    write_frames(&store, "cam", T0, 0, 500);
    // start inside GOP 3 (frames 75..100), end at frame 130
    let frames: Vec<_> =
        store.read("cam", range(T0 + 80 * FRAME, T0 + 130 * FRAME)).unwrap().map(|f| f.unwrap()).collect();
    assert_eq!(frames.first().unwrap().meta.ts, Timestamp(T0 + 75 * FRAME));
    assert!(frames[0].meta.keyframe);
    assert_eq!(frames.last().unwrap().meta.ts, Timestamp(T0 + 129 * FRAME));
    assert_eq!(frames.len(), 55);
    let kf = store.seek("cam", Timestamp(T0 + 99 * FRAME)).unwrap().unwrap();
    assert_eq!(kf.meta.ts, Timestamp(T0 + 75 * FRAME));
    // before the first frame: the first keyframe
    let kf = store.seek("cam", Timestamp(T0 - NANOS_PER_SECOND)).unwrap().unwrap();
    assert_eq!(kf.meta.ts, Timestamp(T0));
    // after the last frame (beyond tolerance): nothing
    assert!(store.seek("cam", Timestamp(T0 + 3600 * NANOS_PER_SECOND)).unwrap().is_none());
}

#[test]
fn gaps_between_writer_sessions_and_inside_segments() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    write_frames(&store, "cam", T0, 0, 250); // [T0, T0+10s)
    write_frames(&store, "cam", T0 + 60 * NANOS_PER_SECOND, 0, 250); // [T0+60s, T0+70s)
    let gaps = store.gaps("cam", range(T0 - 5 * NANOS_PER_SECOND, T0 + 80 * NANOS_PER_SECOND), None).unwrap();
    let g: Vec<(i64, i64)> = gaps.iter().map(|g| (g.start.0 - T0, g.end.0 - T0)).collect();
    assert_eq!(
        g,
        vec![
            (-5 * NANOS_PER_SECOND, 0),
            (10 * NANOS_PER_SECOND, 60 * NANOS_PER_SECOND),
            (70 * NANOS_PER_SECOND, 80 * NANOS_PER_SECOND)
        ]
    );
    // A read into the gap starts at the next recording.
    let first = store
        .read("cam", range(T0 + 30 * NANOS_PER_SECOND, T0 + 61 * NANOS_PER_SECOND))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first.meta.ts, Timestamp(T0 + 60 * NANOS_PER_SECOND));
}

#[test]
fn live_segment_is_readable_before_close() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    let w = store.writer("cam", config()).unwrap();
    for i in 0..60 {
        let data = payload(i);
        w.append(&NewFrame {
            ts: Timestamp(T0 + i * FRAME),
            data: &data,
            keyframe: i % 25 == 0,
            pts: None,
            dts: None,
            duration: None,
        })
        .unwrap();
    }
    let frames: Vec<_> =
        store.read("cam", range(T0, T0 + NANOS_PER_SECOND * 100)).unwrap().map(|f| f.unwrap()).collect();
    assert_eq!(frames.len(), 60);
    assert_eq!(frames[59].data, payload(59));
    assert!(store.gaps("cam", range(T0, T0 + 59 * FRAME), None).unwrap().is_empty());
    w.close().unwrap();
}

#[test]
fn ordering_rules_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    let w = store.writer("cam", config()).unwrap();
    let d = [1u8; 10];
    let f = |ts: i64, keyframe: bool| NewFrame {
        ts: Timestamp(ts),
        data: &d,
        keyframe,
        pts: None,
        dts: None,
        duration: None,
    };
    assert!(matches!(w.append(&f(T0, false)), Err(Error::InvalidArgument(_))), "first frame must be key");
    w.append(&f(T0, true)).unwrap();
    w.append(&f(T0 + FRAME, false)).unwrap();
    assert!(w.append(&f(T0 + FRAME, true)).is_err(), "keyframe must move forward");
    assert!(w.append(&f(T0 - FRAME, false)).is_err(), "frame before its keyframe");
    w.close().unwrap();
    // A new session may not go back in time either.
    let w = store.writer("cam", config()).unwrap();
    assert!(w.append(&f(T0, true)).is_err());
    w.append(&f(T0 + 10 * FRAME, true)).unwrap();
    w.close().unwrap();
}

#[test]
fn negative_durations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    let w = store.writer("cam", config()).unwrap();
    let d = [1u8; 10];
    let f = |ts: i64, duration: i64| NewFrame {
        ts: Timestamp(ts),
        data: &d,
        keyframe: true,
        pts: None,
        dts: None,
        duration: Some(duration),
    };
    match w.append(&f(T0, -3600)) {
        Err(Error::InvalidArgument(msg)) => {
            assert!(msg.contains("\"cam\"") && msg.contains("-3600"), "names camera and value: {msg}")
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    w.append(&f(T0, 0)).unwrap();
    w.close().unwrap();
    assert_eq!(store.read("cam", range(T0, T0 + FRAME)).unwrap().count(), 1);
}

#[test]
fn wrong_key_lock_and_unknown_camera() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    let root = dir.path().join("store");
    match Store::open(&root, key(), options(), false) {
        Err(Error::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        other => panic!("expected Locked, got {:?}", other.err()),
    }
    assert!(matches!(store.writer("nope", config()), Err(Error::UnknownCamera(_))));
    store.close().unwrap();
    let wrong = SecretKey::from_bytes([0x5B; 32]);
    assert!(matches!(Store::open(&root, wrong, options(), false), Err(Error::WrongKey { .. })));
}

#[test]
fn flipped_byte_fails_only_the_affected_frames() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    write_frames(&store, "cam", T0, 0, 500); // 2 segments of 10 s
    let segs = store.segments("cam", range(T0, T0 + 20 * NANOS_PER_SECOND)).unwrap();
    store.close().unwrap();
    let victim = dir.path().join("store").join(&segs[0].path);
    let mut bytes = std::fs::read(&victim).unwrap();
    let pos = bytes.len() / 2;
    bytes[pos] ^= 0x40;
    std::fs::write(&victim, &bytes).unwrap();
    let store = Store::open(&dir.path().join("store"), key(), options(), false).unwrap();
    let err =
        store.read("cam", range(T0, T0 + 10 * NANOS_PER_SECOND)).unwrap().find_map(|f| f.err()).unwrap();
    match &err {
        Error::Corrupt { camera, path, offset, .. } => {
            assert_eq!(camera, "cam");
            assert_eq!(path, &victim);
            assert!(*offset <= pos as u64 && pos as u64 - *offset < 2000, "offset {offset} vs flip {pos}");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    // The other segment is intact.
    let n = store
        .read("cam", range(T0 + 10 * NANOS_PER_SECOND, T0 + 20 * NANOS_PER_SECOND))
        .unwrap()
        .filter(|f| f.is_ok())
        .count();
    assert_eq!(n, 250);
    let report = store.fsck(true).unwrap();
    assert!(report.problems.iter().any(|p| p.segment_id == Some(segs[0].id)));
    assert!(report.problems.iter().all(|p| p.segment_id != Some(segs[1].id)));
}

#[test]
fn catalog_rebuild_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = new_store(dir.path());
    store.set_labels("cam", BTreeMap::from([("area".to_string(), "district-3".to_string())])).unwrap();
    write_frames(&store, "cam", T0, 0, 600);
    let before = store.segments("cam", range(T0, T0 + 60 * NANOS_PER_SECOND)).unwrap();
    store.close().unwrap();
    for f in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(root.join(f));
    }
    assert!(matches!(Store::open(&root, key(), options(), false), Err(Error::CatalogMissing { .. })));
    let store = Store::open(&root, key(), options(), true).unwrap();
    let after = store.segments("cam", range(T0, T0 + 60 * NANOS_PER_SECOND)).unwrap();
    assert_eq!(before.len(), after.len());
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(
            (a.id, a.start_ts, a.end_ts, a.content_hash, a.prev_hash),
            (b.id, b.start_ts, b.end_ts, b.content_hash, b.prev_hash)
        );
    }
    assert_eq!(store.camera("cam").unwrap().labels["area"], "district-3");
    assert_eq!(store.read("cam", range(T0, T0 + 60 * NANOS_PER_SECOND)).unwrap().count(), 600);
    assert!(store.fsck(false).unwrap().problems.is_empty());
}

#[test]
fn no_plaintext_reaches_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    write_frames(&store, "cam", T0, 0, 100);
    store.close().unwrap();
    for entry in walk(&dir.path().join("store")) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!bytes.windows(16).any(|w| w == b"PLAINTEXT-MARKER"), "plaintext in {}", entry.display());
    }
}

fn walk(p: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

mod retention {
    use super::*;
    use crate::retention::{RetentionPolicy, RetentionSetting};
    use crate::segment::reader::SegmentFile;
    use crate::time::NANOS_PER_DAY;

    const DAY: i64 = NANOS_PER_DAY;

    #[test]
    fn sweep_respects_holds_and_shreds_emptied_days() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("store"), key(), options()).unwrap();
        let policy = RetentionPolicy { max_age_ns: Some(2 * DAY), max_bytes: None, min_age_ns: Some(DAY) };
        store.add_camera("cam", BTreeMap::new(), RetentionSetting::Custom(policy)).unwrap();
        // Day 0, day 1 and day 2 of footage, 20 s each (two segments a day).
        let base = (T0 / DAY + 1) * DAY;
        for d in 0..3 {
            write_frames(&store, "cam", base + d * DAY, 0, 500);
        }
        let day1 = range(base + DAY, base + DAY + 20 * NANOS_PER_SECOND);
        let hold = store.hold("cam", day1, "CASE-7", "assault near gate", None, "clerk").unwrap();
        let day0_rows = store.segments("cam", range(base, base + 20 * NANOS_PER_SECOND)).unwrap();
        let backup = dir.path().join("backup.vvs");
        std::fs::copy(dir.path().join("store").join(&day0_rows[0].path), &backup).unwrap();

        let now = Timestamp(base + 3 * DAY + 3600 * NANOS_PER_SECOND);
        let dry = store.enforce_retention(Some(now), true, "test").unwrap();
        assert_eq!(dry.deletions().count(), 2, "dry run plans day 0 only (day 1 is held)");
        assert_eq!(dry.shredded, vec![("cam".to_string(), (base / DAY) as i32)]);
        assert_eq!(
            store.segments("cam", range(base, base + 3 * DAY)).unwrap().len(),
            6,
            "dry run deletes nothing"
        );

        let done = store.enforce_retention(Some(now), false, "test").unwrap();
        assert_eq!(done.deleted_bytes(), dry.deleted_bytes());
        assert_eq!(done.shredded, dry.shredded);
        assert!(store.read("cam", range(base, base + 20 * NANOS_PER_SECOND)).unwrap().next().is_none());
        assert_eq!(store.read("cam", day1).unwrap().count(), 500, "held footage reads after its retention");
        // The copy taken before the sweep is now unreadable, master key or not.
        let err = SegmentFile::open(
            &backup,
            &mut |c, d| store.shared().keystore_guard().kek(c, d),
            store.options().gap_threshold_ns,
        )
        .err()
        .unwrap();
        assert!(matches!(err, Error::KeyShredded { .. }), "{err}");
        assert!(store.fsck(true).unwrap().problems.is_empty(), "chain verifies through tombstones");

        store.release(hold.id, "clerk").unwrap();
        let done = store.enforce_retention(Some(now), false, "test").unwrap();
        assert_eq!(done.deletions().count(), 2);
        assert_eq!(store.segments("cam", range(base, base + 3 * DAY)).unwrap().len(), 2, "day 2 is young");
        assert!(store.fsck(true).unwrap().problems.is_empty());
    }

    #[test]
    fn rotation_rewraps_keys_without_touching_video() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = new_store(dir.path());
        write_frames(&store, "cam", T0, 0, 300);
        let before: Vec<_> = std::fs::read_dir(root.join("segments/cam")).unwrap().collect();
        let new_key = SecretKey::from_bytes([0x77; 32]);
        store.rotate_master_key(new_key.clone(), "test").unwrap();
        store.close().unwrap();
        assert!(matches!(Store::open(&root, key(), options(), false), Err(Error::WrongKey { .. })));
        let store = Store::open(&root, new_key, options(), false).unwrap();
        assert_eq!(store.read("cam", range(T0, T0 + 60 * NANOS_PER_SECOND)).unwrap().count(), 300);
        let after: Vec<_> = std::fs::read_dir(root.join("segments/cam")).unwrap().collect();
        assert_eq!(before.len(), after.len());
    }
}

#[test]
fn group_commit_syncs_in_both_modes() {
    for mode in [crate::store::CommitMode::Filesystem, crate::store::CommitMode::PerFile] {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions { commit: mode, ..options() };
        let store = Store::create(&dir.path().join("store"), key(), opts).unwrap();
        store.add_camera("cam", BTreeMap::new(), crate::RetentionSetting::StoreDefault).unwrap();
        let w = store.writer("cam", config()).unwrap();
        let data = payload(0);
        for i in 0..10 {
            let f = NewFrame {
                ts: Timestamp(T0 + i * FRAME),
                data: &data,
                keyframe: i == 0,
                pts: None,
                dts: None,
                duration: None,
            };
            w.append(&f).unwrap();
        }
        // The writer never calls sync(): the group commit must, within a few intervals.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while w.stats().syncs == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(w.stats().syncs > 0, "{mode:?}: no group commit happened");
        let on_disk = std::fs::metadata(
            store
                .segments("cam", range(T0, T0 + NANOS_PER_SECOND))
                .map(|s| dir.path().join("store").join(&s[0].path))
                .unwrap(),
        )
        .unwrap()
        .len();
        assert!(on_disk > 10 * data.len() as u64, "{mode:?}: frames not written by the commit");
        w.close().unwrap();
    }
}

/// Opening a segment reads its first block for the header; a header longer
/// than that (a large codec configuration) is read on. Both ways into a
/// segment are taken: the first open, and the reopen from the cached index
/// (one file handle kept, so seeks that alternate segments reopen them).
#[test]
fn seeks_open_and_reopen_segments_whose_header_is_longer_than_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let opts = StoreOptions { segment_cache: 1, ..options() };
    let store = Store::create(&root, key(), opts.clone()).unwrap();
    store.add_camera("cam", BTreeMap::new(), crate::RetentionSetting::StoreDefault).unwrap();
    let config = CodecConfig { extradata: (0..6000u32).map(|i| i as u8).collect(), ..config() };
    let w = store.writer("cam", config.clone()).unwrap();
    for i in 0..500i64 {
        let data = payload(i);
        let ts = Timestamp(T0 + i * FRAME);
        w.append(&NewFrame { ts, data: &data, keyframe: i % 25 == 0, pts: None, dts: None, duration: None })
            .unwrap();
    }
    w.close().unwrap();
    store.close().unwrap();

    let store = Store::open(&root, key(), opts, false).unwrap();
    let segs = store.segments("cam", range(T0, T0 + 20 * NANOS_PER_SECOND)).unwrap();
    assert_eq!(segs.len(), 2);
    for _ in 0..3 {
        for seg in &segs {
            let t = seg.start_ts.0 + 5 * NANOS_PER_SECOND + FRAME;
            let f = store.seek("cam", Timestamp(t)).unwrap().unwrap();
            assert!(f.meta.keyframe && f.meta.ts.0 == seg.start_ts.0 + 5 * NANOS_PER_SECOND, "{:?}", f.meta);
            assert_eq!(f.data, payload((f.meta.ts.0 - T0) / FRAME));
        }
    }
    assert_eq!(store.segment_config(segs[1].id).unwrap().extradata, config.extradata);
}
