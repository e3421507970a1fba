//! `meridian bench --scenario replication`: sustained replicated write
//! throughput of three regions on this machine (items/s applied in every
//! region), next to one region's write throughput measured in the same run,
//! and replication lag p50/p99 at half the replicated throughput.

use std::time::{Duration, Instant};

use serde_json::json;

use super::args::BenchArgs;
use super::cluster::BenchCluster;
use super::load::{ROUNDS, load_paced};
use super::region::TABLE;
use super::report::{report_checkpoints, report_syncs};
use crate::replication::status::PeerReport;

/// Drives PutItem of fresh keys (of their own for each `round`) into every
/// region of `cluster`, with `connections` connections in all; returns
/// (acknowledged writes, elapsed).
async fn drive(
    cluster: &BenchCluster,
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    payload: &str,
    round: u32,
) -> anyhow::Result<(u64, Duration)> {
    let start = Instant::now();
    let per_region = (connections / cluster.nodes.len()).max(1);
    let mut loads = Vec::new();
    for i in 0..cluster.nodes.len() {
        let (addr, payload) = (cluster.addr(i), payload.to_string());
        let region_rate = rate.map(|r| r / cluster.nodes.len() as f64);
        loads.push(tokio::spawn(async move {
            load_paced(&addr, "PutItem", per_region, duration, region_rate, move |conn, n| {
                let item = json!({"pk": {"S": format!("r{i}-c{conn}-{n}-{round}")}, "payload": {"S": payload}});
                ("PutItem", json!({"TableName": TABLE, "Item": item}).to_string())
            })
            .await
        }));
    }
    let mut written = 0;
    for load in loads {
        written += load.await??.count;
    }
    Ok((written, start.elapsed()))
}

/// Runs the replication benchmark and prints the table.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds);
    let payload = "x".repeat(args.item_bytes.saturating_sub(40));

    // The machine's speed drifts between runs (see `ROUNDS`), so one region
    // and three take turns in each round, and the rounds are pooled.
    let single = BenchCluster::start(1).await?;
    let three = BenchCluster::start(3).await?;
    let slice = (duration / ROUNDS).max(Duration::from_secs(1));
    let (mut single_written, mut single_elapsed) = (0, Duration::ZERO);
    let (mut written, mut replicating) = (0, Duration::ZERO);
    let commits_now = || {
        three
            .nodes
            .iter()
            .map(|n| n.engine().write_stats().commits)
            .sum::<u64>()
    };
    let commits_before = commits_now();
    for round in 0..ROUNDS {
        let (count, elapsed) = drive(&single, args.connections(), slice, None, &payload, round).await?;
        single_written += count;
        single_elapsed += elapsed;
        let start = Instant::now();
        written += drive(&three, args.connections(), slice, None, &payload, round).await?.0;
        replicating += three.wait_for_items(written).await?.duration_since(start);
    }
    let commits = commits_now() - commits_before;
    single.shutdown().await;
    three.shutdown().await;
    let single_rate = single_written as f64 / single_elapsed.as_secs_f64();
    let replicated_rate = written as f64 / replicating.as_secs_f64();

    let half = BenchCluster::start(3).await?;
    let rate = Some(replicated_rate / 2.0);
    let (half_written, _) = drive(&half, args.connections(), duration, rate, &payload, 0).await?;
    half.wait_for_items(half_written).await?;
    let durability: Vec<_> = half
        .nodes
        .iter()
        .map(|n| {
            let engine = n.engine();
            let syncs = engine.write_stats().sync_latency;
            (engine.region().to_string(), engine.checkpoint_stats(), syncs)
        })
        .collect();
    let mut lag_rows = Vec::new();
    for node in &half.nodes {
        let Some(peers) = node.peer_status() else { continue };
        for peer in peers.report_at(node.engine().hlc().wall_now_ns()) {
            lag_rows.push((peer, node.engine().region().to_string()));
        }
    }
    half.shutdown().await;

    println!("\n{:<46} {:>12}", "measurement", "items/s");
    println!("{:<46} {:>12.0}", "single region, durable PutItem", single_rate);
    println!(
        "{:<46} {:>12.0}",
        "three regions, applied in every region", replicated_rate
    );
    println!(
        "replicated / single-region: {:.2} (target >= 0.50)",
        replicated_rate / single_rate
    );
    // Each item is written once in each region, locally or as a change applied.
    println!(
        "items written per commit in the three regions: {:.1} ({commits} commits)",
        (written * 3) as f64 / commits.max(1) as f64
    );
    println!(
        "\nlag at {:.0} writes/s (half the replicated throughput):",
        replicated_rate / 2.0
    );
    println!(
        "{:<16} {:<16} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "from", "to", "p50 ms", "p99 ms", "ship p50", "ship p99", "apply p50", "apply p99"
    );
    let mut worst_p99: f64 = 0.0;
    for (lag, to) in &lag_rows {
        println!(
            "{:<16} {to:<16} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
            lag.peer,
            lag.lag_p50_ms,
            lag.lag_p99_ms,
            lag.lag_shipping_p50_ms,
            lag.lag_shipping_p99_ms,
            lag.lag_applying_p50_ms,
            lag.lag_applying_p99_ms,
        );
        worst_p99 = worst_p99.max(lag.lag_p99_ms);
    }
    let (sampled, applied) = lag_rows.iter().fold((0, 0), |(s, a), (lag, _)| {
        (s + lag.lag_samples as u64, a + lag.state.applied + lag.state.superseded)
    });
    println!(
        "(shipping: origin commit to arrival; applying: arrival to apply, when reads see it; over the latest {sampled} of {applied} changes applied)"
    );
    println!("worst link p99: {worst_p99:.2} ms (target < 10 ms)");
    // The receiver's log sync comes after the apply; it decides when the
    // origin hears back, not when readers here see the change.
    let worst = |f: fn(&PeerReport) -> f64| lag_rows.iter().map(|(lag, _)| f(lag)).fold(0.0, f64::max);
    println!(
        "counted to the apply being durable instead (adds the receiver's log sync): worst p50 {:.2} ms, worst p99 {:.2} ms",
        worst(|l| l.lag_durable_p50_ms),
        worst(|l| l.lag_durable_p99_ms)
    );
    // Lag as measured before the origin sent its commit times: from the
    // write's HLC stamp, taken while its group was still committing.
    println!(
        "counted from the write's HLC stamp instead (includes its commit at the origin): worst p50 {:.2} ms, worst p99 {:.2} ms",
        worst(|l| l.lag_from_write_p50_ms),
        worst(|l| l.lag_from_write_p99_ms)
    );
    for (region, checkpoints, syncs) in &durability {
        report_syncs(region, syncs);
        report_checkpoints(region, checkpoints);
    }
    Ok(())
}
