//! The core API tests again, against regions whose store is in memory
//! (`--in-memory`): `common::TestRegion::start` keeps the store in memory in
//! a test crate named `*_in_memory`, and checks at shutdown that the data
//! directory stayed empty.

// Each included file has its own `mod common;`: the harness is compiled
// once per file, as it is in the files' own test crates.
#![allow(clippy::duplicate_mod)]

#[path = "api_batch.rs"]
mod api_batch;
#[path = "api_errors.rs"]
mod api_errors;
#[path = "api_items.rs"]
mod api_items;
#[path = "api_query_scan.rs"]
mod api_query_scan;
#[path = "api_tables.rs"]
mod api_tables;
