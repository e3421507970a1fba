//! `meridian bench --scenario latency`: every region of a topology (by
//! default the three-continent preset) on this machine with the topology's
//! simulated link conditions, each driven with PutItem at `--rate` through
//! the DynamoDB API. Reports each region's client latency (writes are local,
//! so geography should not show) and each link's replication lag next to
//! its configured one-way delay (where geography does show).

use std::time::Duration;

use serde_json::json;

use super::args::BenchArgs;
use super::cluster::BenchCluster;
use super::load::load_paced;
use super::region::TABLE;
use crate::config::Topology;

/// Runs the latency scenario and prints both tables.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let topology = Topology::load(&args.topology)?;
    let names: Vec<String> = topology.region.iter().map(|r| r.name.clone()).collect();
    let cluster = BenchCluster::start_with(&names, topology.link.clone()).await?;
    let duration = Duration::from_secs(args.seconds);
    let payload = "x".repeat(args.item_bytes.saturating_sub(40));
    let per_region = (args.connections() / names.len()).max(1);
    let rate = (args.rate > 0.0).then_some(args.rate);
    println!(
        "driving {} regions for {} s at {} with {per_region} connections each; links from {}",
        names.len(),
        args.seconds,
        rate.map_or("full speed".to_string(), |r| format!("{r:.0} writes/s per region")),
        args.topology.display()
    );
    let mut loads = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (addr, payload, name) = (cluster.addr(i), payload.clone(), name.clone());
        loads.push(tokio::spawn(async move {
            load_paced(&addr, "PutItem", per_region, duration, rate, move |conn, n| {
                let item = json!({"pk": {"S": format!("{name}-c{conn}-{n}")}, "payload": {"S": payload}});
                ("PutItem", json!({"TableName": TABLE, "Item": item}).to_string())
            })
            .await
        }));
    }
    let mut measured = Vec::new();
    let mut written = 0.0;
    for load in loads {
        let m = load.await??;
        written += m.ops_per_sec * duration.as_secs_f64();
        measured.push(m);
    }
    cluster.wait_for_items(written.round() as u64).await?;

    println!("\nclient latency (PutItem, acknowledged after the local durable commit):");
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10}",
        "region", "writes/s", "p50", "p99", "p999"
    );
    for (name, m) in names.iter().zip(&measured) {
        println!(
            "{name:<16} {:>10.0} {:>10.2?} {:>10.2?} {:>10.2?}",
            m.ops_per_sec, m.p50, m.p99, m.p999
        );
    }
    println!("\nreplication lag (origin commit to apply in the receiving region):");
    println!(
        "{:<16} {:<16} {:>14} {:>10} {:>10} {:>12}",
        "from", "to", "one-way delay", "lag p50", "lag p99", "p50 - delay"
    );
    for node in &cluster.nodes {
        let to = node.engine().region().to_string();
        let Some(peers) = node.peer_status() else { continue };
        for peer in peers.report_at(node.engine().hlc().wall_now_ns()) {
            let delay = topology
                .links_from(&peer.peer)
                .into_iter()
                .find(|(t, _)| *t == to)
                .map_or(0, |(_, f)| f.delay_ms);
            println!(
                "{:<16} {:<16} {:>11} ms {:>7.1} ms {:>7.1} ms {:>9.1} ms",
                peer.peer,
                to,
                delay,
                peer.lag_p50_ms,
                peer.lag_p99_ms,
                peer.lag_p50_ms - delay as f64
            );
        }
    }
    cluster.shutdown().await;
    Ok(())
}
