//! cargo fuzz target: `vidvault::fuzzing::keystore` (see fuzz/README.md).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vidvault::fuzzing::{self, Scratch};

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| Scratch::new("keystore").expect("scratch directory"));

fuzz_target!(|data: &[u8]| {
    fuzzing::keystore(&SCRATCH, data);
});
