//! `meridian bench --scenario pitr`: restore a table of N items (about 200
//! bytes each) to a point 10 minutes into a 20-minute write history, next to
//! a plain full scan of the same table measured in the same run.
//!
//! The history is written through the engine (batches of items, one
//! durable commit each) with the region's simulated clock walking from 20
//! minutes ago to now, so versions carry timestamps spread over the
//! history: minutes 0-10 put every item, minutes 10-20 overwrite half of
//! them and delete one in twenty. The restore goes through the API
//! (RestoreTableToPointInTime, then DescribeTable until ACTIVE); the scan
//! reads every page of the live table through the engine, as Scan does.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::args::BenchArgs;
use super::region::{start_bench_node, tempfile_dir};
use super::workload::scan;
use crate::cli::api_client::call;
use crate::engine::{Engine, ItemOp, ItemWrite};
use crate::model::{AttributeValue, Item};
use crate::node::Node;
use crate::pitr::time;

const MINUTE_MS: i64 = 60_000;
/// Items per engine write job (one durable commit).
const BATCH: usize = 2_000;

fn key(i: usize) -> Item {
    Item::from([("pk".to_string(), AttributeValue::S(format!("user#{i:09}")))])
}

/// Writes `ops` (key index, `Some(payload)` to put or `None` to delete) in
/// batches, moving the clock from `from_ms` to `to_ms` (offsets from now).
async fn write_history(
    engine: &Engine,
    ops: Vec<(usize, Option<&str>)>,
    from_ms: i64,
    to_ms: i64,
) -> anyhow::Result<()> {
    let total = ops.len().max(1);
    let mut done = 0;
    for chunk in ops.chunks(BATCH) {
        let offset = from_ms + (to_ms - from_ms) * done as i64 / total as i64;
        engine.hlc().set_offset_ms(offset)?;
        let writes = chunk
            .iter()
            .map(|(i, payload)| {
                let op = match payload {
                    Some(payload) => {
                        let mut item = key(*i);
                        item.insert("payload".into(), AttributeValue::S((*payload).to_string()));
                        ItemOp::Put(item)
                    }
                    None => ItemOp::Delete(key(*i)),
                };
                ("bench".to_string(), ItemWrite::new(op))
            })
            .collect();
        engine.write_batch(writes).await?;
        done += chunk.len();
    }
    engine.hlc().set_offset_ms(to_ms)?;
    Ok(())
}

/// Runs the scenario and prints its table.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let n = args.items;
    let dir = tempfile_dir()?;
    // The clock starts 20 minutes back (a hybrid logical clock never goes
    // back once it has stamped something) and walks forward to now.
    let node = start_bench_node(&dir, -20 * MINUTE_MS).await?;
    let addr = node.api_addr;
    let engine = node.engine().clone();
    let create = json!({
        "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    });
    call(addr, "CreateTable", &create).await?;
    let enable = json!({"TableName": "bench",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}});
    call(addr, "UpdateContinuousBackups", &enable).await?;

    // About 200 bytes an item: a 16-byte key and the payload.
    let payload_a = "a".repeat(args.item_bytes.saturating_sub(30));
    let payload_b = "b".repeat(args.item_bytes.saturating_sub(30));
    println!("writing a 20-minute history of {n} items ...");
    let started = Instant::now();
    let first: Vec<_> = (0..n).map(|i| (i, Some(payload_a.as_str()))).collect();
    write_history(&engine, first, -20 * MINUTE_MS, -10 * MINUTE_MS).await?;
    let at_ns = engine.hlc().wall_now_ns();
    let second: Vec<_> = (0..n)
        .filter_map(|i| match i % 20 {
            0 => Some((i, None)),
            x if x % 2 == 1 => Some((i, Some(payload_b.as_str()))),
            _ => None,
        })
        .collect();
    let later_writes = second.len();
    write_history(&engine, second, -10 * MINUTE_MS + 1, 0).await?;
    println!(
        "history written in {:.1} s ({} writes)",
        started.elapsed().as_secs_f64(),
        n + later_writes
    );

    let scan_started = Instant::now();
    let scanned = scan(&engine, "bench", None).await?;
    let scan_secs = scan_started.elapsed().as_secs_f64();

    let restore_started = Instant::now();
    let request = json!({"SourceTableName": "bench", "TargetTableName": "restored",
        "RestoreDateTime": time::epoch_seconds(at_ns)});
    call(addr, "RestoreTableToPointInTime", &request).await?;
    let restored = loop {
        let described = call(addr, "DescribeTable", &json!({"TableName": "restored"})).await?;
        if described["Table"]["TableStatus"] == "ACTIVE" {
            break described["Table"]["ItemCount"].as_u64().unwrap_or(0);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let restore_secs = restore_started.elapsed().as_secs_f64();
    anyhow::ensure!(restored == n as u64, "restored {restored} items, expected {n}");

    let status = history_stats(&node).await?;
    let file_bytes = std::fs::metadata(dir.join("bench-1").join(crate::engine::DB_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    let scan_rate = scanned as f64 / scan_secs;
    let restore_rate = restored as f64 / restore_secs;
    println!("\n{:<52} {:>12} {:>10}", "measurement", "items/s", "seconds");
    println!(
        "{:<52} {:>12.0} {:>10.2}",
        format!("full scan of the live table ({scanned} items)"),
        scan_rate,
        scan_secs
    );
    println!(
        "{:<52} {:>12.0} {:>10.2}",
        format!("restore to minute 10 of 20 ({restored} items)"),
        restore_rate,
        restore_secs
    );
    println!("restore / scan: {:.2} (target >= 0.25)", restore_rate / scan_rate);
    println!(
        "history kept: {} versions, {} bytes; live table {} bytes; database file {} bytes",
        status.0, status.1, status.2, file_bytes
    );
    node.shutdown().await;
    std::fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))?;
    Ok(())
}

/// (history versions, history bytes, table bytes) of the bench table.
async fn history_stats(node: &Node) -> anyhow::Result<(u64, u64, u64)> {
    let meta = node.engine().describe_table("bench".into()).await?;
    let (versions, bytes) = node.engine().history_size(meta.storage_id).await?;
    Ok((versions, bytes, meta.size_bytes))
}
