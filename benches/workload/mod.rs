//! The workload both core benches append: one 720p H.264 camera at 25 fps,
//! 4 Mbit/s. One place, so that `core` (criterion) and `append_instructions`
//! (callgrind) measure the same thing.

use vidvault::segment::format::CodecConfig;
use vidvault::time::{TimeBase, NANOS_PER_SECOND};

pub const T0: i64 = 1_763_700_000 * NANOS_PER_SECOND;
pub const FRAME_NS: i64 = 40_000_000;
/// Average access unit of a 4 Mbit/s, 25 fps stream.
pub const AU_BYTES: usize = 20_000;

pub fn config() -> CodecConfig {
    CodecConfig {
        codec: "h264".into(),
        extradata: vec![1, 100, 0, 31],
        time_base: TimeBase::new(1, 90_000).unwrap(),
        width: 1280,
        height: 720,
        params: String::new(),
    }
}
