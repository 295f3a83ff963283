//! Criterion benches of the core: record sealing, segment append, store
//! append (through the group-commit writer) and seek latency at two store
//! sizes. Figures and how to read them: docs/BENCHMARKS.md.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use vidvault::crypto::SecretKey;
use vidvault::segment::format::{encode_frame_record, FrameMeta, SegmentHeader};
use vidvault::segment::writer::{NewFrame, SegmentWriter};
use vidvault::time::{Timestamp, NANOS_PER_SECOND};
use vidvault::{Store, StoreOptions};

mod workload;
use workload::{config, AU_BYTES, FRAME_NS, T0};

fn header(id: u64) -> SegmentHeader {
    SegmentHeader {
        store_id: [1; 16],
        segment_id: id,
        kek_day: 20_000,
        created: Timestamp(T0),
        prev_hash: [0; 32],
        wrapped_dek: [0; 60],
        camera: "34020000001320000001".into(),
    }
}

fn seal(c: &mut Criterion) {
    let payload = vec![0xA5u8; AU_BYTES];
    let cipher = SecretKey::from_bytes([7; 32]).cipher();
    let mut g = c.benchmark_group("seal");
    g.throughput(Throughput::Bytes(AU_BYTES as u64));
    g.bench_function("record_20KB", |b| {
        let mut out = Vec::with_capacity(AU_BYTES + 128);
        let mut seq = 0;
        b.iter(|| {
            out.clear();
            seq += 1;
            let meta = FrameMeta {
                seq,
                ts: Timestamp(T0),
                pts: Some(0),
                dts: Some(0),
                duration: Some(3600),
                keyframe: false,
            };
            encode_frame_record(&meta, &payload, &cipher, &[3; 32], &mut out);
            black_box(&out);
        })
    });
    g.bench_function("segment_append_20KB", |b| {
        let dek = SecretKey::from_bytes([9; 32]);
        let (mut w, _) =
            SegmentWriter::new(header(1), config(), &dek, StoreOptions::default().gap_threshold_ns);
        let mut out = Vec::with_capacity(64 << 20);
        let mut i = 0i64;
        b.iter(|| {
            if out.len() > 60 << 20 {
                out.clear();
            }
            let f = NewFrame {
                ts: Timestamp(T0 + i * FRAME_NS),
                data: &payload,
                keyframe: i == 0,
                pts: None,
                dts: None,
                duration: None,
            };
            i += 1;
            black_box(w.append(&f, &mut out));
        })
    });
    g.finish();
}

/// Appends as fast as the loop can go: once the disk falls behind, the
/// writer's backpressure makes this measure sustained disk-bound ingest.
fn store_append(c: &mut Criterion) {
    let dir =
        tempfile::tempdir_in(std::env::var("VIDVAULT_BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let store = Store::create(&dir.path().join("s"), SecretKey::from_bytes([1; 32]), StoreOptions::default())
        .unwrap();
    store.add_camera("cam", BTreeMap::new(), vidvault::RetentionSetting::StoreDefault).unwrap();
    let w = store.writer("cam", config()).unwrap();
    let payload = vec![0x5Au8; AU_BYTES];
    let mut i = 0i64;
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Bytes(AU_BYTES as u64));
    g.bench_function("append_20KB_unpaced", |b| {
        b.iter(|| {
            let f = NewFrame {
                ts: Timestamp(T0 + i * FRAME_NS),
                data: &payload,
                keyframe: i % 50 == 0,
                pts: None,
                dts: None,
                duration: None,
            };
            i += 1;
            w.append(&f).unwrap();
        })
    });
    g.finish();
    w.close().unwrap();
    store.close().unwrap();
}

/// A store holding `hours` of one camera at 25 fps, GOP 50, 5-minute segments
/// (small payloads: seek cost depends on index sizes, not on frame bytes).
fn footage(dir: &std::path::Path, hours: i64) -> Store {
    let store = Store::create(
        &dir.join(format!("s{hours}")),
        SecretKey::from_bytes([2; 32]),
        StoreOptions::default(),
    )
    .unwrap();
    store.add_camera("cam", BTreeMap::new(), vidvault::RetentionSetting::StoreDefault).unwrap();
    let w = store.writer("cam", config()).unwrap();
    let payload = [0u8; 16];
    for i in 0..hours * 3600 * 25 {
        w.append(&NewFrame {
            ts: Timestamp(T0 + i * FRAME_NS),
            data: &payload,
            keyframe: i % 50 == 0,
            pts: None,
            dts: None,
            duration: Some(3600),
        })
        .unwrap();
    }
    w.close().unwrap();
    store
}

fn seek(c: &mut Criterion) {
    let dir =
        tempfile::tempdir_in(std::env::var("VIDVAULT_BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let mut g = c.benchmark_group("seek");
    for hours in [1i64, 24] {
        let store = footage(dir.path(), hours);
        let span = hours * 3600 * NANOS_PER_SECOND;
        let mut x: u64 = 0x9E3779B97F4A7C15;
        g.bench_function(format!("random_{hours}h"), |b| {
            b.iter_batched(
                || {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    Timestamp(T0 + (x % span as u64) as i64)
                },
                |t| black_box(store.seek("cam", t).unwrap().unwrap()),
                BatchSize::SmallInput,
            )
        });
        store.close().unwrap();
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(50);
    targets = seal, store_append, seek
}
criterion_main!(benches);
