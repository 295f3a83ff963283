//! cargo fuzz target: `vidvault::fuzzing::grant_token` (see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vidvault::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::grant_token(data);
});
