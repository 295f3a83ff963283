//! The append path's cost in instructions, a figure that does not move with
//! the machine's noise: run under `valgrind --tool=callgrind` by
//! `benches/callgrind_append.sh`, which appends two amounts of footage and
//! divides the difference in instructions by the difference in megabytes
//! (so store creation and start-up cancel out).
//!
//!     append_instructions MEGABYTES DIR [seal-only]
//!
//! `seal-only` is the baseline: the same access units sealed into records
//! (AES-256-GCM and the record's hash) into memory, nothing else; the
//! difference is what the store adds (index, segment files, catalog, sync).
//!
//! One camera, 20 KB access units (4 Mbit/s at 25 fps), a keyframe every 50,
//! through `Store::writer` (seal, encrypt, hash, index, group commit), closed
//! and synced at the end.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vidvault::crypto::SecretKey;
use vidvault::segment::format::{encode_frame_record, FrameMeta};
use vidvault::segment::writer::NewFrame;
use vidvault::time::Timestamp;
use vidvault::{Store, StoreOptions};

mod workload;
use workload::{config, AU_BYTES, FRAME_NS, T0};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mb), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: append_instructions MEGABYTES DIR");
        std::process::exit(2);
    };
    let mb: usize = mb.parse().expect("MEGABYTES must be a whole number");
    let dir = PathBuf::from(dir);
    let seal_only = args.next().as_deref() == Some("seal-only");
    let payload = footage_bytes();
    let frames = (mb * 1_000_000 / AU_BYTES) as i64;
    if seal_only {
        let cipher = SecretKey::from_bytes([7; 32]).cipher();
        let mut out = Vec::with_capacity(AU_BYTES + 128);
        for i in 0..frames {
            out.clear();
            let meta = FrameMeta {
                seq: i as u64,
                ts: Timestamp(T0 + i * FRAME_NS),
                pts: None,
                dts: None,
                duration: None,
                keyframe: i % 50 == 0,
            };
            encode_frame_record(&meta, &payload, &cipher, &[3; 32], &mut out);
            std::hint::black_box(&out);
        }
        return;
    }
    let store = Store::create(&dir.join("store"), SecretKey::from_bytes([1; 32]), StoreOptions::default())
        .expect("create the store");
    store.add_camera("cam", BTreeMap::new(), vidvault::RetentionSetting::StoreDefault).unwrap();
    let w = store.writer("cam", config()).unwrap();
    for i in 0..frames {
        w.append(&NewFrame {
            ts: Timestamp(T0 + i * FRAME_NS),
            data: &payload,
            keyframe: i % 50 == 0,
            pts: None,
            dts: None,
            duration: None,
        })
        .unwrap();
    }
    w.close().unwrap();
    store.close().unwrap();
}

/// Footage-like bytes (not constant: nothing downstream may shortcut on them).
fn footage_bytes() -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..AU_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
