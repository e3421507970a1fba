//! The core bench's last figure: PutItem over HTTP against a region whose
//! store is in memory (`--in-memory`: no log, no syncs), against the no-op
//! HTTP baseline measured in turns with it, in the same rounds.

use std::path::Path;
use std::time::Duration;

use super::core_items::put_body;
use super::load::{Samples, sample};
use super::region::{create_bench_table, start_bench_node_with};
use super::report::print_measurements;

/// What the in-memory PutItem should reach against the no-op.
const TARGET: f64 = 0.80;

/// Measures and prints in-memory PutItem / no-op HTTP, in `rounds` turns of
/// `slice` each; `dir` is never created (the region keeps nothing on disk).
pub(super) async fn report(
    dir: &Path,
    connections: usize,
    (rounds, slice): (u32, Duration),
    payload: &str,
) -> anyhow::Result<()> {
    let node = start_bench_node_with(dir, 0, |config| config.storage.in_memory = true).await?;
    let addr = node.api_addr.to_string();
    create_bench_table(&addr).await?;
    let (mut noop, mut put) = (Samples::default(), Samples::default());
    for round in 0..rounds as usize {
        noop.add(
            sample(&addr, connections, slice, None, |_, _| {
                ("DescribeEndpoints", "{}".into())
            })
            .await?,
        );
        // Each round writes keys of its own, so every PutItem creates an item.
        let (first, payload) = (round * connections, payload.to_string());
        put.add(
            sample(&addr, connections, slice, None, move |conn, n| {
                ("PutItem", put_body(first + conn, n, &payload))
            })
            .await?,
        );
    }
    let writes = node.engine().write_stats();
    node.shutdown().await;
    anyhow::ensure!(!dir.exists(), "the in-memory region created {}", dir.display());
    let (noop, put) = (
        noop.summarise("no-op HTTP, in turns with:"),
        put.summarise("PutItem, store in memory"),
    );
    println!();
    print_measurements(&[&noop, &put]);
    println!(
        "In-memory PutItem / no-op HTTP: {:.2} (target >= {TARGET:.2})",
        put.ops_per_sec / noop.ops_per_sec
    );
    println!(
        "writes per group commit during in-memory PutItem: {:.1}",
        writes.jobs_per_commit()
    );
    Ok(())
}
