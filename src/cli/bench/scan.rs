//! `meridian bench --scenario scan`: a parallel scan of a table of N items
//! (about 200 bytes each), against a plain full scan of the same table
//! measured in the same run; for two tables: one item per partition key,
//! and 100 items (sort keys) per partition key.
//!
//! Every segment of a parallel scan walks the whole table and keeps the
//! items whose partition key hashes to it, so a scan in S segments looks at
//! S times the table (less where it jumps past the rest of a partition of
//! another segment). The measurement reads every segment one after
//! another, so the ratio to the full scan is the cost of the items a
//! segment passes over. Reads go through the engine, as Scan does, without
//! the JSON of the responses. The turns alternate over several rounds, so
//! the machine's drift falls on all of them alike.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::args::BenchArgs;
use super::region::{start_bench_node, tempfile_dir};
use super::workload::scan;
use crate::cli::api_client::call;
use crate::engine::{Engine, ItemOp, ItemWrite};
use crate::model::{AttributeValue, Item, Number};

/// Items per engine write job while loading.
const BATCH: usize = 2_000;
/// Segment counts measured, besides the plain scan.
const SEGMENTS: [u32; 2] = [8, 64];
/// Rounds the turns alternate in.
const ROUNDS: u32 = 3;
/// Items per partition key in the `wide` table.
const WIDE: usize = 100;

/// Scans `table` in `total` segments, one after another; returns the items
/// seen and the time taken.
async fn timed_scan(engine: &Engine, table: &str, total: u32) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let mut items = 0;
    for segment in 0..total {
        let segment = (total > 1).then_some((segment, total));
        items += scan(engine, table, segment).await?;
    }
    Ok((items, started.elapsed()))
}

/// Runs the scenario and prints its table.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let n = args.items;
    let dir = tempfile_dir()?;
    let node = start_bench_node(&dir, 0).await?;
    let engine = node.engine().clone();
    let create = json!({
        "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    });
    call(node.api_addr, "CreateTable", &create).await?;
    let create_wide = json!({
        "TableName": "wide", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    });
    call(node.api_addr, "CreateTable", &create_wide).await?;

    println!("writing {n} items into each table ...");
    let payload = "x".repeat(args.item_bytes.saturating_sub(30));
    for start in (0..n).step_by(BATCH) {
        let item = |table: &str, i: usize| {
            let mut item = Item::from([("payload".to_string(), AttributeValue::S(payload.clone()))]);
            if table == "wide" {
                item.insert("pk".into(), AttributeValue::S(format!("user#{:09}", i / WIDE)));
                item.insert("sk".into(), AttributeValue::N(Number::from((i % WIDE) as i64)));
            } else {
                item.insert("pk".into(), AttributeValue::S(format!("user#{i:09}")));
            }
            (table.to_string(), ItemWrite::new(ItemOp::Put(item)))
        };
        for table in ["bench", "wide"] {
            let writes = (start..n.min(start + BATCH)).map(|i| item(table, i)).collect();
            engine.write_batch(writes).await?;
        }
    }

    let turns: Vec<(&str, u32)> = ["bench", "wide"]
        .into_iter()
        .flat_map(|table| std::iter::once(1).chain(SEGMENTS).map(move |total| (table, total)))
        .collect();
    let mut took = vec![Duration::ZERO; turns.len()];
    for _ in 0..ROUNDS {
        for (turn, &(table, total)) in turns.iter().enumerate() {
            let (items, elapsed) = timed_scan(&engine, table, total).await?;
            anyhow::ensure!(
                items == n as u64,
                "{total} segments of {table} saw {items} items, expected {n}"
            );
            took[turn] += elapsed;
        }
    }
    node.shutdown().await;
    std::fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))?;

    let rate = |turn: usize| (n as u64 * u64::from(ROUNDS)) as f64 / took[turn].as_secs_f64();
    println!("\n{:<52} {:>12} {:>10}", "measurement", "items/s", "seconds");
    for (turn, &(table, total)) in turns.iter().enumerate() {
        let shape = match table {
            "wide" => format!("{WIDE} items a partition"),
            _ => "one item a partition".to_string(),
        };
        let name = match total {
            1 => format!("full scan, {shape}"),
            total => format!("{total} segments one after another, {shape}"),
        };
        let seconds = took[turn].as_secs_f64() / f64::from(ROUNDS);
        println!("{name:<52} {:>12.0} {seconds:>10.2}", rate(turn));
    }
    // Turns go table by table, the full scan first.
    let per_table = 1 + SEGMENTS.len();
    for (turn, &(table, total)) in turns.iter().enumerate() {
        if total > 1 {
            let full = turn - turn % per_table;
            println!("{table}: {total} segments / full scan: {:.2}", rate(turn) / rate(full));
        }
    }
    Ok(())
}
