//! `meridian bench`: each scenario measures against a baseline taken in the
//! same run and prints ratios. A scenario is one module; what several share
//! lives in leaf modules they import, never in another scenario:
//!
//! - `args`: the command's arguments and the `Scenario` list;
//! - `report`: measurements and how they are printed;
//! - `load`: the HTTP load generator;
//! - `region`: the single bench region, its table, the scratch folder;
//! - `cluster`: several replicating regions;
//! - `workload`: loads several scenarios drive (HTTP PutItem, engine
//!   batches, a full scan through the engine);
//! - `core_items`, `core_engine`: the core scenario's items and its
//!   measurements of the engine alone.

mod args;
mod auth;
mod capacity;
mod cluster;
mod core;
mod core_engine;
mod core_in_memory;
mod core_items;
mod indexes;
mod latency;
mod load;
mod pitr;
mod region;
mod replication;
mod report;
mod resync;
mod retention;
mod scan;
mod streams;
mod transactions;
mod workload;

use anyhow::Context;

pub use args::{BenchArgs, Scenario};
use region::bench_root;

/// Runs the scenario `args` names and prints its tables.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    crate::telemetry::init("warn");
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let result = match args.scenario {
        Scenario::Core => runtime.block_on(core::bench(args)),
        Scenario::Replication => runtime.block_on(replication::bench(args)),
        Scenario::Latency => runtime.block_on(latency::bench(args)),
        Scenario::Pitr => runtime.block_on(pitr::bench(args)),
        Scenario::Streams => runtime.block_on(streams::bench(args)),
        Scenario::Retention => runtime.block_on(retention::bench(args)),
        Scenario::Resync => runtime.block_on(resync::bench(args)),
        Scenario::Scan => runtime.block_on(scan::bench(args)),
        Scenario::Indexes => runtime.block_on(indexes::bench(args)),
        Scenario::Capacity => runtime.block_on(capacity::bench(args)),
        Scenario::Auth => runtime.block_on(auth::bench(args)),
        Scenario::Transactions => runtime.block_on(transactions::bench(args)),
    };
    // Scenarios remove their own data; this removes the folder they shared.
    let _ = std::fs::remove_dir_all(bench_root());
    result
}
