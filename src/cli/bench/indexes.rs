//! `meridian bench --scenario indexes`: what secondary indexes cost, each
//! figure next to its baseline measured in the same run.
//!
//! - PutItem on a table with two GSIs (ALL projection) and one LSI against
//!   the same table without indexes, over HTTP, taking turns each round.
//! - Query on a GSI against Query on the table, each returning the same ten
//!   items.
//! - The backfill of a GSI created on a table of --items items while a
//!   paced PutItem load runs on it from start to end: items/s, and the
//!   PutItem p99 during the backfill against the same load before it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use super::args::BenchArgs;
use super::load::{ROUNDS, Samples, load_paced, sample};
use super::region::{start_bench_node, tempfile_dir};
use super::report::Measurement;
use crate::cli::api_client::call;
use crate::engine::{Engine, ItemOp, ItemWrite, WriteStats};
use crate::model::{AttributeValue, Item, Number};

/// Partitions of the query measurement, ten items each.
const QUERY_PARTITIONS: usize = 100;
/// Items per engine write job while loading.
const BATCH: usize = 2_000;
/// PutItem rate of the load that runs during the backfill (requests/s).
const BACKFILL_LOAD_RATE: f64 = 500.0;

fn table(name: &str, indexed: bool) -> Value {
    let mut create = json!({
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    });
    if indexed {
        let definitions = create["AttributeDefinitions"].as_array_mut().expect("a list");
        definitions.push(json!({"AttributeName": "a", "AttributeType": "S"}));
        definitions.push(json!({"AttributeName": "b", "AttributeType": "N"}));
        definitions.push(json!({"AttributeName": "c", "AttributeType": "N"}));
        let gsi = |name: &str, key: &str| {
            json!({"IndexName": name, "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "ALL"}})
        };
        create["GlobalSecondaryIndexes"] = json!([gsi("byA", "a"), gsi("byB", "b")]);
        create["LocalSecondaryIndexes"] = json!([{
            "IndexName": "byC",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }]);
    }
    create
}

/// A PutItem body for `table`: every index key present, ~`bytes` in all.
fn put_body(table: &str, key: u64, payload: &str) -> String {
    json!({
        "TableName": table,
        "Item": {
            "pk": {"S": format!("p{}", key % 10_000)}, "sk": {"N": key.to_string()},
            "a": {"S": format!("a{}", key % 1_000)}, "b": {"N": (key % 777).to_string()},
            "c": {"N": (key % 31).to_string()}, "payload": {"S": payload},
        },
    })
    .to_string()
}

/// Loads `n` items into `table` through the engine (no HTTP), with the
/// GSI key `g` on every item.
async fn load_items(engine: &Engine, table: &str, n: usize, payload: &str) -> anyhow::Result<()> {
    for start in (0..n).step_by(BATCH) {
        let writes = (start..n.min(start + BATCH))
            .map(|i| {
                let item = Item::from([
                    ("pk".to_string(), AttributeValue::S(format!("big#{i:09}"))),
                    ("sk".to_string(), AttributeValue::N(Number::from(0))),
                    ("g".to_string(), AttributeValue::S(format!("g{}", i % 1_000))),
                    ("payload".to_string(), AttributeValue::S(payload.to_string())),
                ]);
                (table.to_string(), ItemWrite::new(ItemOp::Put(item)))
            })
            .collect();
        engine.write_batch(writes).await?;
    }
    Ok(())
}

/// Puts on `plain` and `indexed`, taking turns over the rounds.
async fn put_turns(addr: &str, args: &BenchArgs, payload: &str) -> anyhow::Result<[Measurement; 2]> {
    let duration = Duration::from_secs(args.seconds);
    let connections = args.connections();
    let mut pooled: [Vec<Measurement>; 2] = [Vec::new(), Vec::new()];
    for round in 0..u64::from(ROUNDS) {
        for (turn, name) in ["plain", "indexed"].into_iter().enumerate() {
            let payload = payload.to_string();
            let base = round * 10_000_000;
            let make = move |connection: usize, n: u64| {
                let key = base + connection as u64 * 100_000 + n;
                ("PutItem", put_body(name, key, &payload))
            };
            pooled[turn].push(load_paced(addr, "PutItem", connections, duration, None, make).await?);
        }
    }
    Ok(pooled.map(pool))
}

/// Several measurements of one kind as one: summed counts over summed time.
fn pool(rounds: Vec<Measurement>) -> Measurement {
    let count: u64 = rounds.iter().map(|m| m.count).sum();
    let seconds: f64 = rounds
        .iter()
        .map(|m| m.count as f64 / m.ops_per_sec.max(f64::MIN_POSITIVE))
        .sum();
    let worst = rounds.iter().map(|m| m.p99).max().unwrap_or_default();
    let mut first = rounds.into_iter().next().expect("at least one round");
    first.ops_per_sec = count as f64 / seconds.max(f64::MIN_POSITIVE);
    first.count = count;
    first.p99 = worst;
    first
}

/// Query on the table and on a GSI, each returning ten items.
async fn query_turns(addr: &str, args: &BenchArgs) -> anyhow::Result<[Measurement; 2]> {
    let duration = Duration::from_secs(args.seconds);
    let connections = args.connections();
    let mut pooled: [Vec<Measurement>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (turn, index) in [false, true].into_iter().enumerate() {
            let make = move |connection: usize, n: u64| {
                let partition = (connection as u64 * 7 + n) % QUERY_PARTITIONS as u64;
                let body = match index {
                    false => json!({"TableName": "indexed", "KeyConditionExpression": "pk = :v",
                                    "ExpressionAttributeValues": {":v": {"S": format!("q{partition}")}}}),
                    true => json!({"TableName": "indexed", "IndexName": "byA",
                                   "KeyConditionExpression": "a = :v",
                                   "ExpressionAttributeValues": {":v": {"S": format!("qa{partition}")}}}),
                };
                ("Query", body.to_string())
            };
            pooled[turn].push(load_paced(addr, "Query", connections, duration, None, make).await?);
        }
    }
    Ok(pooled.map(pool))
}

/// Whether index `index` of `table` is ACTIVE.
async fn index_active(addr: std::net::SocketAddr, table: &str) -> anyhow::Result<bool> {
    let described = call(addr, "DescribeTable", &json!({"TableName": table})).await?;
    let status = &described["Table"]["GlobalSecondaryIndexes"][0]["IndexStatus"];
    Ok(status == "ACTIVE")
}

/// Connections of the paced PutItem load.
const PACED_CONNECTIONS: usize = 8;
/// Length of one slice of the load during the backfill: it runs in slices
/// until the index is ACTIVE, so it covers the whole backfill and at most
/// this much after it.
const PACED_SLICE: Duration = Duration::from_millis(500);

/// The paced load's samples on `table` for `duration`, keys from `base`.
async fn paced_puts(
    addr: &str,
    table: &'static str,
    duration: Duration,
    payload: &str,
    base: u64,
) -> anyhow::Result<Samples> {
    let payload = payload.to_string();
    let make = move |connection: usize, n: u64| {
        (
            "PutItem",
            put_body(table, base + connection as u64 * 1_000_000 + n, &payload),
        )
    };
    sample(addr, PACED_CONNECTIONS, duration, Some(BACKFILL_LOAD_RATE), make).await
}

/// The paced load on `table`, slice after slice, until `done` is set.
async fn paced_puts_until(
    addr: String,
    table: &'static str,
    done: Arc<AtomicBool>,
    payload: String,
    base: u64,
) -> anyhow::Result<Measurement> {
    let mut pooled = Samples::default();
    for slice in 0u64.. {
        let from = base + slice * PACED_CONNECTIONS as u64 * 1_000_000;
        pooled.add(paced_puts(&addr, table, PACED_SLICE, &payload, from).await?);
        if done.load(Ordering::Acquire) {
            break;
        }
    }
    Ok(pooled.summarise("PutItem"))
}

/// Runs the scenario and prints its figures.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let node = start_bench_node(&dir, 0).await?;
    let engine = node.engine().clone();
    let api = node.api_addr;
    let addr = api.to_string();
    for (name, indexed) in [("plain", false), ("indexed", true)] {
        call(api, "CreateTable", &table(name, indexed)).await?;
    }
    let payload = "x".repeat(args.item_bytes.saturating_sub(60));

    let [plain_put, indexed_put] = put_turns(&addr, &args, &payload).await?;

    for partition in 0..QUERY_PARTITIONS {
        let writes = (0..10)
            .map(|i| {
                let item = Item::from([
                    ("pk".to_string(), AttributeValue::S(format!("q{partition}"))),
                    ("sk".to_string(), AttributeValue::N(Number::from(i))),
                    ("a".to_string(), AttributeValue::S(format!("qa{partition}"))),
                    ("payload".to_string(), AttributeValue::S(payload.clone())),
                ]);
                ("indexed".to_string(), ItemWrite::new(ItemOp::Put(item)))
            })
            .collect();
        engine.write_batch(writes).await?;
    }
    let [table_query, gsi_query] = query_turns(&addr, &args).await?;

    // The backfill: a GSI on `g` of a table of --items items.
    call(api, "CreateTable", &table("big", false)).await?;
    println!("writing {} items for the backfill ...", args.items);
    load_items(&engine, "big", args.items, &payload).await?;
    let steady = Duration::from_secs(args.seconds);
    let writes_at_start = engine.write_stats();
    let before = paced_puts(&addr, "big", steady, &payload, 1 << 40)
        .await?
        .summarise("PutItem");
    let create = json!({
        "TableName": "big",
        "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byG",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}}],
    });
    let checkpoints_before = engine.checkpoint_stats();
    let writes_before = engine.write_stats();
    let started = Instant::now();
    call(api, "UpdateTable", &create).await?;
    let done = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(paced_puts_until(
        addr.clone(),
        "big",
        done.clone(),
        payload.clone(),
        1 << 41,
    ));
    while !index_active(api, "big").await? {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backfill = started.elapsed();
    done.store(true, Ordering::Release);
    let during = load.await.context("the load during the backfill")??;
    let checkpoints = engine.checkpoint_stats();
    let writes_after = engine.write_stats();
    node.shutdown().await;
    std::fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))?;

    let backfill_rate = args.items as f64 / backfill.as_secs_f64();
    println!("\n{:<58} {:>12} {:>10}", "measurement", "value", "ratio");
    let line = |name: &str, value: String, ratio: f64, target: &str| {
        println!("{name:<58} {value:>12} {ratio:>10.2}  {target}");
    };
    line(
        "PutItem/s, no indexes (baseline)",
        format!("{:.0}", plain_put.ops_per_sec),
        1.0,
        "",
    );
    line(
        "PutItem/s, two GSIs (ALL) and one LSI",
        format!("{:.0}", indexed_put.ops_per_sec),
        indexed_put.ops_per_sec / plain_put.ops_per_sec,
        "target >= 0.60",
    );
    line(
        "Query/s on the table, 10 items (baseline)",
        format!("{:.0}", table_query.ops_per_sec),
        1.0,
        "",
    );
    line(
        "Query/s on a GSI, 10 items",
        format!("{:.0}", gsi_query.ops_per_sec),
        gsi_query.ops_per_sec / table_query.ops_per_sec,
        "target >= 0.80",
    );
    line(
        &format!("backfill of {} items, items/s", args.items),
        format!("{backfill_rate:.0}"),
        backfill_rate / 100_000.0,
        "target >= 1.00 (of 100,000/s)",
    );
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    line("PutItem p99 before the backfill (baseline)", ms(before.p99), 1.0, "");
    line(
        "PutItem p99 during the backfill",
        ms(during.p99),
        during.p99.as_secs_f64() / before.p99.as_secs_f64().max(1e-9),
        "target <= 2.00",
    );
    println!(
        "(PutItem latency before / during the backfill: p50 {} / {}, p99.9 {} / {})",
        ms(before.p50),
        ms(during.p50),
        ms(before.p999),
        ms(during.p999)
    );
    println!(
        "(backfill took {:.1} s; PutItem during it: {} requests at {:.0}/s)",
        backfill.as_secs_f64(),
        during.count,
        during.ops_per_sec
    );
    println!(
        "(checkpoints during the backfill and its load: {} of {:.0} ms in all; the longest in the run {:.1} ms)",
        checkpoints.count - checkpoints_before.count,
        checkpoints.total_ms - checkpoints_before.total_ms,
        checkpoints.longest_ms
    );
    println!(
        "(log syncs before / during the backfill: {} / {})",
        syncs_between(&writes_at_start, &writes_before),
        syncs_between(&writes_before, &writes_after)
    );
    Ok(())
}

/// The log syncs between two readings of the writer's counters: how many,
/// and the share over 1 ms and over 5 ms.
fn syncs_between(from: &WriteStats, to: &WriteStats) -> String {
    let syncs = to.sync_latency.since(&from.sync_latency);
    let over = |bound: f64| 100.0 * syncs.share_over(bound).unwrap_or(0.0);
    let jobs = to.jobs - from.jobs;
    let waited = (to.queue_wait - from.queue_wait).as_secs_f64() * 1000.0 / jobs.max(1) as f64;
    format!(
        "{} syncs, {:.1}% over 1 ms, {:.1}% over 5 ms; writer jobs waited {waited:.2} ms on average",
        syncs.total(),
        over(0.001),
        over(0.005)
    )
}
