//! Whole request bodies of every operation, compressed or not, through the
//! HTTP request path of a real in-memory region (decompression, the JSON
//! shape check, dispatch, the handlers). See fuzz/harness/requests.rs for
//! the input's layout and what is checked; fuzz/seeds/requests seeds it.

#![no_main]

#[path = "../harness/requests.rs"]
mod harness;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static HARNESS: LazyLock<harness::Harness> = LazyLock::new(harness::Harness::start);

fuzz_target!(|data: &[u8]| {
    HARNESS.run(data);
});
