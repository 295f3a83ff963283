//! The append path's cost in instructions, a figure that does not move with
//! the machine's noise: run under `valgrind --tool=callgrind` by
//! `benches/callgrind_append.sh`, which appends two amounts of footage and
//! divides the difference in instructions by the difference in megabytes
//! (so store creation and start-up cancel out).
//!
//!     append_instructions MEGABYTES DIR
//!
//! One camera, 20 KB access units (4 Mbit/s at 25 fps), a keyframe every 50,
//! through `Store::writer` (seal, encrypt, hash, index, group commit), closed
//! and synced at the end.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vidvault::crypto::SecretKey;
use vidvault::segment::format::CodecConfig;
use vidvault::segment::writer::NewFrame;
use vidvault::time::{TimeBase, Timestamp, NANOS_PER_SECOND};
use vidvault::{Store, StoreOptions};

const T0: i64 = 1_763_700_000 * NANOS_PER_SECOND;
const FRAME_NS: i64 = 40_000_000;
const AU_BYTES: usize = 20_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mb), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: append_instructions MEGABYTES DIR");
        std::process::exit(2);
    };
    let mb: usize = mb.parse().expect("MEGABYTES must be a whole number");
    let dir = PathBuf::from(dir);
    let config = CodecConfig {
        codec: "h264".into(),
        extradata: vec![1, 100, 0, 31],
        time_base: TimeBase::new(1, 90_000).unwrap(),
        width: 1280,
        height: 720,
        params: String::new(),
    };
    let store = Store::create(&dir.join("store"), SecretKey::from_bytes([1; 32]), StoreOptions::default())
        .expect("create the store");
    store.add_camera("cam", BTreeMap::new(), vidvault::RetentionSetting::StoreDefault).unwrap();
    let w = store.writer("cam", config).unwrap();
    // Footage-like bytes (not constant: nothing downstream may shortcut on them).
    let mut x: u32 = 0x9E37_79B9;
    let payload: Vec<u8> = (0..AU_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    for i in 0..(mb * 1_000_000 / AU_BYTES) as i64 {
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
