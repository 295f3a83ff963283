//! cargo fuzz target: `vidvault::fuzzing::recovery` (see fuzz/README.md).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vidvault::fuzzing::{self, Scratch};

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| Scratch::new("recovery").expect("scratch directory"));

fuzz_target!(|data: &[u8]| {
    fuzzing::recovery(&SCRATCH, data);
});
