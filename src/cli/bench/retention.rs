//! `meridian bench --scenario retention`: one region, measured in one run:
//! 1. PutItem flat out, nothing else (the baseline);
//! 2. PutItem flat out while one pass of the change-log trimmer removes a
//!    backlog of `--items` entries (foreground throughput and p99 with the
//!    trim, and the trim's entries/s);
//! 3. PutItem flat out again, nothing else: a second baseline, so drift over
//!    the run shows up as the gap between the two baselines.

use std::time::Instant;

use tokio::sync::watch;

use super::args::BenchArgs;
use super::region::{create_bench_table, start_bench_node_with, tempfile_dir};
use super::report::print_measurements;
use super::workload::{load_backlog, puts};
use crate::workers::trimmer::{TrimmerSetup, TrimmerStatus};

/// Runs the retention scenario and prints its table.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?.join("retention");
    let payload = "x".repeat(args.item_bytes.saturating_sub(40));
    // The region's own trimmer stays idle: the pass measured is started here.
    let node = start_bench_node_with(&dir, 0, |config| config.storage.log_trim_interval_ms = 86_400_000).await?;
    let addr = node.api_addr.to_string();
    create_bench_table(&addr).await?;
    load_backlog(&node, args.items, &payload).await?;

    // 1. Baseline.
    let baseline = puts(&addr, "PutItem, nothing else", &args, 1, &payload).await?;

    // 2. One trimmer pass over the backlog (retention zero, no peers: all of
    // the log but its last entry goes) while PutItem runs.
    let setup = TrimmerSetup::keep_nothing(node.engine().clone());
    let trim = tokio::spawn(async move {
        let (_stop, shutdown) = watch::channel(false);
        let status = TrimmerStatus::default();
        let started = Instant::now();
        crate::workers::trimmer::pass(&setup, &shutdown, &status).await?;
        let trimmed = status.trimmed.load(std::sync::atomic::Ordering::Relaxed);
        anyhow::Ok((trimmed, started.elapsed()))
    });
    let with_trim = puts(&addr, "PutItem + change-log trim", &args, 2, &payload).await?;
    let (trimmed, trim_time) = trim.await??;

    // 3. The baseline again.
    let after = puts(&addr, "PutItem, nothing else (again)", &args, 3, &payload).await?;
    node.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    print_measurements(&[&baseline, &with_trim, &after]);
    println!(
        "\nchange-log trim: {trimmed} entries in {trim_time:.2?} ({:.0} entries/s), within a {}s PutItem window",
        trimmed as f64 / trim_time.as_secs_f64(),
        args.seconds
    );
    let baselines = (baseline.ops_per_sec + after.ops_per_sec) / 2.0;
    println!(
        "PutItem with the trim / mean of the baselines: {:.2} (p99 {:.2?} against {:.2?} and {:.2?})",
        with_trim.ops_per_sec / baselines,
        with_trim.p99,
        baseline.p99,
        after.p99
    );
    Ok(())
}
