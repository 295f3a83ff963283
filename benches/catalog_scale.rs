//! What the catalog and keystore cost at a city's scale: a year of 1,000
//! cameras (or any cameras x days x segment length), with the rows and keys
//! a store of that size holds and none of the video bytes.
//!
//!     cargo bench --bench catalog_scale -- DIR [CAMERAS] [DAYS] [SEGMENT_MINUTES]
//!
//! (defaults 1000 cameras, 365 days, 15 minutes). DIR must not exist; it is
//! left behind (delete it after). The store is made by
//! the library, then the catalog rows of every segment and the keystore's
//! day keys are written as the store would have written them over the
//! period (ids in time order, one key per camera and UTC day). Measured,
//! through the public `Store` API:
//!
//! - the catalog's and keystore's size on disk;
//! - store open (recovery, mirrors, key checks), three times;
//! - the catalog part of a seek (`segments` at one instant) at random cameras
//!   and times, p50/p99 (the part inside a segment does not depend on the
//!   store's size: `vidvault bench seek`);
//! - gaps of one camera over 30 days, p50/p99;
//! - one retention sweep that deletes a day of every camera's footage and
//!   shreds its keys, then a sweep with nothing to delete (the steady cost of
//!   a periodic sweep), and a dry run.
//!
//! Segment files do not exist there, so the catalog rebuild (which reads
//! every file's header and footer) is measured on a second store beside DIR
//! (`DIR-rebuild`, removed after) with real segment files of the same length,
//! keyframes only, and reported per segment and scaled to the period: a
//! warm-cache figure; on a cold disk each file costs its reads' seeks too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{params, Connection};
use vidvault::crypto::SecretKey;
use vidvault::keys::Keystore;
use vidvault::segment::writer::NewFrame;
use vidvault::store::segment_rel_path;
use vidvault::time::{TimeRange, Timestamp, NANOS_PER_DAY, NANOS_PER_SECOND};
use vidvault::{RetentionPolicy, RetentionSetting, Store, StoreOptions};

// Only its codec configuration: this bench's own times are midnight-aligned.
#[allow(dead_code)]
mod workload;

/// A UTC midnight, so that segment days and key days line up.
const T0: i64 = 1_763_683_200 * NANOS_PER_SECOND;
const MASTER: [u8; 32] = [1; 32];
const KEYFRAME_EVERY_NS: i64 = 2 * NANOS_PER_SECOND;
/// 4 Mbit/s.
const BYTES_PER_SECOND: i64 = 500_000;

struct Scale {
    cameras: usize,
    days: i64,
    segment_ns: i64,
}

impl Scale {
    fn segments_per_day(&self) -> i64 {
        NANOS_PER_DAY / self.segment_ns
    }
    fn camera(&self, i: usize) -> String {
        format!("cam-{i:05}")
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let Some(dir) = pos.first() else {
        eprintln!("usage: catalog_scale DIR [CAMERAS] [DAYS] [SEGMENT_MINUTES]");
        std::process::exit(2);
    };
    let num =
        |i: usize, default: i64| pos.get(i).map(|s| s.parse().expect("a whole number")).unwrap_or(default);
    let scale = Scale {
        cameras: num(1, 1000) as usize,
        days: num(2, 365),
        segment_ns: num(3, 15) * 60 * NANOS_PER_SECOND,
    };
    let root = PathBuf::from(dir.as_str());
    let rows = scale.cameras as i64 * scale.days * scale.segments_per_day();
    println!(
        "catalog scale: {} cameras x {} days, {}-minute segments: {} segment rows, {} day keys",
        scale.cameras,
        scale.days,
        scale.segment_ns / 60 / NANOS_PER_SECOND,
        rows,
        scale.cameras as i64 * scale.days
    );
    assert!(!root.exists(), "{} exists: give a new directory", root.display());
    let t = Instant::now();
    build(&root, &scale);
    println!(
        "built in {:.1} s (not a result: the store's own writes are measured by `vidvault bench ingest`)",
        t.elapsed().as_secs_f64()
    );
    let size = |name: &str| std::fs::metadata(root.join(name)).map(|m| m.len()).unwrap_or(0);
    println!(
        "on disk: catalog {:.1} MB ({:.0} bytes per segment), keystore {:.1} MB",
        size("catalog.sqlite") as f64 / 1e6,
        size("catalog.sqlite") as f64 / rows.max(1) as f64,
        size("keys.vvk") as f64 / 1e6
    );
    let mut opens = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let store = open(&root);
        opens.push(t.elapsed().as_secs_f64() * 1e3);
        store.close().unwrap();
    }
    println!("store open: {}", opens.iter().map(|ms| format!("{ms:.0} ms")).collect::<Vec<_>>().join(", "));

    let store = open(&root);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let span = scale.days * NANOS_PER_DAY;
    let lookups = time_each(5000, || {
        let cam = scale.camera(rng.below(scale.cameras as u64) as usize);
        // An instant inside a segment: each row ends at its last frame,
        // 40 ms before the next one starts.
        let slot = rng.below(((span - NANOS_PER_DAY) / scale.segment_ns) as u64) as i64;
        let inside = rng.below((scale.segment_ns - 40_000_000) as u64) as i64;
        let t = Timestamp(T0 + NANOS_PER_DAY + slot * scale.segment_ns + inside);
        let found = store.segments(&cam, TimeRange::new(t, Timestamp(t.0 + 1))).unwrap();
        assert_eq!(found.len(), 1, "{cam} at {t:?}");
    });
    report("seek, catalog part (segments at an instant)", &lookups);
    let month = 30 * NANOS_PER_DAY;
    let gap_times = time_each(200, || {
        let cam = scale.camera(rng.below(scale.cameras as u64) as usize);
        let start = T0 + rng.below((span - month.min(span)) as u64 + 1) as i64;
        let gaps = store
            .gaps(&cam, TimeRange::new(Timestamp(start), Timestamp(start + month.min(span))), None)
            .unwrap();
        assert!(gaps.is_empty(), "{cam}: {gaps:?}");
    });
    report("gaps of one camera over 30 days", &gap_times);

    // Every camera keeps DAYS - 1 days: at the end of the period, day 0 expires.
    let now = Timestamp(T0 + span);
    let t = Instant::now();
    let dry = store.enforce_retention(Some(now), true, "bench").unwrap();
    let dry_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let swept = store.enforce_retention(Some(now), false, "bench").unwrap();
    let sweep_s = t.elapsed().as_secs_f64();
    let deleted = swept.deletions().count();
    assert_eq!(deleted as i64, scale.cameras as i64 * scale.segments_per_day(), "a day of every camera");
    assert_eq!(dry.deletions().count(), deleted);
    let t = Instant::now();
    let again = store.enforce_retention(Some(now), false, "bench").unwrap();
    let idle_s = t.elapsed().as_secs_f64();
    assert_eq!(again.deletions().count(), 0);
    println!(
        "retention sweep: a day of every camera ({deleted} segments, {} keys shredded) {sweep_s:.2} s; \
         dry run {dry_s:.2} s; next sweep with nothing to delete {idle_s:.2} s",
        swept.shredded.len()
    );
    store.close().unwrap();
    rebuild_probe(&PathBuf::from(format!("{dir}-rebuild")), &scale, rows);
}

/// Cameras x segments of the rebuild probe: enough files for a stable
/// per-file figure, few enough to write in seconds.
const PROBE_CAMERAS: usize = 4;
const PROBE_SEGMENTS_PER_CAMERA: i64 = 250;

/// Rebuilds the catalog of a store of real segment files of `scale`'s length.
fn rebuild_probe(root: &Path, scale: &Scale, rows: i64) {
    assert!(!root.exists(), "{} exists: give a new directory", root.display());
    let options = StoreOptions { roll_after_ns: scale.segment_ns, ..StoreOptions::default() };
    let store = Store::create(root, SecretKey::from_bytes(MASTER), options.clone()).expect("create");
    let payload = [0u8; 16];
    for i in 0..PROBE_CAMERAS {
        let camera = scale.camera(i);
        store.add_camera(&camera, BTreeMap::new(), RetentionSetting::StoreDefault).unwrap();
        let w = store.writer(&camera, workload::config()).unwrap();
        // One keyframe every 2 s: the footer index a 25 fps, GOP-50 camera writes.
        for k in 0..PROBE_SEGMENTS_PER_CAMERA * scale.segment_ns / KEYFRAME_EVERY_NS {
            w.append(&NewFrame {
                ts: Timestamp(T0 + k * KEYFRAME_EVERY_NS),
                data: &payload,
                keyframe: true,
                pts: None,
                dts: None,
                duration: Some(180_000),
            })
            .unwrap();
        }
        w.close().unwrap();
    }
    let files = store.rebuild_catalog().expect("rebuild").segments; // warms the page cache
    let mut times = Vec::new();
    let cpu_before = process_cpu_seconds();
    for _ in 0..3 {
        let t = Instant::now();
        let report = store.rebuild_catalog().expect("rebuild");
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(report.segments, files);
    }
    let cpu_each = (process_cpu_seconds() - cpu_before) / 3.0;
    store.close().unwrap();
    std::fs::remove_dir_all(root).unwrap();
    times.sort_by(|a, b| a.total_cmp(b));
    let per_file = times[1] / files.max(1) as f64;
    println!(
        "catalog rebuild (real files, warm cache): {files} segments in {:.2} s (median of 3; {:.2} CPU-s each), \
         {:.0} us per segment; the period's {rows} segments at that rate: {:.0} s",
        times[1],
        cpu_each,
        per_file * 1e6,
        per_file * rows as f64
    );
}

/// User + system CPU of this process (all threads), from /proc.
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Field 3 (the state) comes first after the command name; utime and
    // stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let f: Vec<f64> = after.split_whitespace().map(|v| v.parse().unwrap_or(f64::NAN)).collect();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    f.get(11).zip(f.get(12)).map(|(u, s)| (u + s) / ticks).unwrap_or(f64::NAN)
}

fn open(root: &Path) -> Store {
    Store::open(root, SecretKey::from_bytes(MASTER), StoreOptions::default(), false).expect("open the store")
}

/// The store through the library; then the rows and keys of the period.
fn build(root: &Path, scale: &Scale) {
    let store = Store::create(root, SecretKey::from_bytes(MASTER), StoreOptions::default()).expect("create");
    let keep = RetentionPolicy {
        max_age_ns: Some((scale.days - 1) * NANOS_PER_DAY),
        max_bytes: None,
        min_age_ns: None,
    };
    for i in 0..scale.cameras {
        store.add_camera(&scale.camera(i), BTreeMap::new(), RetentionSetting::Custom(keep)).unwrap();
    }
    store.close().unwrap();
    drop(store); // its catalog connection too: the bulk load below changes the journal mode

    let mut keystore = Keystore::open(&root.join("keys.vvk"), SecretKey::from_bytes(MASTER)).unwrap();
    let first_day = Timestamp(T0).utc_day();
    for i in 0..scale.cameras {
        for d in 0..scale.days as i32 {
            keystore.kek_for_writing(&scale.camera(i), first_day + d).unwrap();
            keystore.release_lease(&scale.camera(i), first_day + d);
        }
    }
    keystore.persist_pending().unwrap();
    drop(keystore);

    let mut db = Connection::open(root.join("catalog.sqlite")).unwrap();
    // A bulk load, not a measurement: no journal while it runs.
    db.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;")
        .unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO segments (id, camera, path, state, codec, kek_day, start_ts, end_ts, max_ts,
                     frames, bytes, content_hash, prev_hash, created_ns, sealed_ns)
                 VALUES (?1, ?2, ?3, 'sealed', 'h264', ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?5, ?6)",
            )
            .unwrap();
        let seconds = scale.segment_ns / NANOS_PER_SECOND;
        let mut rng = Rng(7);
        let mut id: u64 = 0;
        let mut prev = vec![[0u8; 32]; scale.cameras];
        for slot in 0..scale.days * scale.segments_per_day() {
            let start = T0 + slot * scale.segment_ns;
            let day = Timestamp(start).utc_day();
            for (i, prev_hash) in prev.iter_mut().enumerate() {
                id += 1;
                let camera = scale.camera(i);
                let hash = rng.hash();
                insert
                    .execute(params![
                        id as i64,
                        camera,
                        segment_rel_path(&camera, day, id),
                        day,
                        start,
                        start + scale.segment_ns - 40_000_000,
                        seconds * 25,
                        seconds * BYTES_PER_SECOND,
                        hash.as_slice(),
                        prev_hash.as_slice(),
                    ])
                    .unwrap();
                *prev_hash = hash;
            }
        }
    }
    tx.commit().unwrap();
    db.execute_batch("PRAGMA journal_mode = WAL").unwrap();
}

fn time_each(n: usize, mut f: impl FnMut()) -> Vec<f64> {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn report(what: &str, sorted_ms: &[f64]) {
    let p = |q: f64| sorted_ms[((sorted_ms.len() - 1) as f64 * q) as usize];
    println!(
        "{what}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} runs)",
        p(0.5),
        p(0.99),
        p(1.0),
        sorted_ms.len()
    );
}

/// xorshift64*: reproducible picks without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn hash(&mut self) -> [u8; 32] {
        let mut h = [0u8; 32];
        for c in h.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        h
    }
}
