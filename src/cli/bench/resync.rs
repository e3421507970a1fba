//! `meridian bench --scenario resync`: how fast a region that missed
//! `--items` writes gets them back, by the two ways a peer can: from the
//! change log (it was away, and the log still held what it missed: the
//! baseline) and from a snapshot (its data was deleted, so it comes back
//! as a new incarnation, and the log had been trimmed too: the other region
//! resynchronises it). Both move the same
//! items to the same region; each time runs from the region's start to
//! its holding every item.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::args::BenchArgs;
use super::cluster::BenchCluster;
use super::workload::load_backlog;
use crate::workers::trimmer::{TrimmerSetup, TrimmerStatus};

/// Runs the resync benchmark and prints what it measured.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let payload = "x".repeat(args.item_bytes.saturating_sub(40));
    let items = args.items;
    let names = ["us-east-1".to_string(), "eu-west-1".to_string()];
    let mut cluster = BenchCluster::start_with(&names, Vec::new()).await?;

    // 1. Baseline: eu-west-1 away while us-east-1 takes the writes, then
    // back, catching up from us-east-1's log.
    stop_last(&mut cluster).await?;
    load_backlog(&cluster.nodes[0], items, &payload).await?;
    let from_log = come_back(&mut cluster, items).await?;

    // 2. eu-west-1 loses its data while us-east-1's log is trimmed down to
    // its last entry: back, it asks for entries that are gone and is sent a
    // snapshot instead.
    stop_last(&mut cluster).await?;
    std::fs::remove_dir_all(cluster.region_dir(1))?;
    trim_everything(&cluster).await?;
    let from_snapshot = come_back(&mut cluster, items).await?;
    // The items are in before eu-west-1's acknowledgement of the resync is.
    let resyncs = || {
        cluster.nodes[0]
            .peer_status()
            .and_then(|peers| peers.state(&names[1]))
            .map_or(0, |s| s.resyncs)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while resyncs() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let resyncs = resyncs();
    cluster.shutdown().await;
    anyhow::ensure!(resyncs == 1, "eu-west-1 was resynchronised {resyncs} times, not once");

    let rate = |elapsed: Duration| items as f64 / elapsed.as_secs_f64();
    println!(
        "\n{:<52} {:>10} {:>12}",
        "a region gets back --items missed items", "seconds", "items/s"
    );
    println!(
        "{:<52} {:>10.2} {:>12.0}",
        "from the change log (baseline)",
        from_log.as_secs_f64(),
        rate(from_log)
    );
    println!(
        "{:<52} {:>10.2} {:>12.0}",
        "from a snapshot (data deleted, log trimmed)",
        from_snapshot.as_secs_f64(),
        rate(from_snapshot)
    );
    println!(
        "resync from a snapshot / catch-up from the log: {:.2} ({items} items of about {} bytes)",
        rate(from_snapshot) / rate(from_log),
        args.item_bytes
    );
    Ok(())
}

/// Stops the cluster's last region.
async fn stop_last(cluster: &mut BenchCluster) -> anyhow::Result<()> {
    let node = cluster
        .nodes
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no region to stop"))?;
    node.shutdown().await;
    Ok(())
}

/// Starts the stopped region again and waits until it holds `items` items;
/// returns how long that took.
async fn come_back(cluster: &mut BenchCluster, items: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let i = cluster.nodes.len();
    let node = cluster.start_node(i, None).await?;
    cluster.nodes.push(node);
    let done = cluster.wait_for_items_in(i, items as u64).await?;
    Ok(done.duration_since(started))
}

/// One trimmer pass over the first region's log that keeps nothing but the
/// last entry (no retention, no peer holding anything back).
async fn trim_everything(cluster: &BenchCluster) -> anyhow::Result<()> {
    let setup = TrimmerSetup::keep_nothing(cluster.nodes[0].engine().clone());
    let (_stop, shutdown) = watch::channel(false);
    crate::workers::trimmer::pass(&setup, &shutdown, &TrimmerStatus::default()).await?;
    Ok(())
}
