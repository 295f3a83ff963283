//! cargo fuzz target: `vidvault::fuzzing::segment_reader` (see fuzz/README.md).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vidvault::fuzzing::{self, Scratch};

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| Scratch::new("segment").expect("scratch directory"));

fuzz_target!(|data: &[u8]| {
    fuzzing::segment_reader(&SCRATCH, data);
});
