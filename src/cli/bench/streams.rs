//! `meridian bench --scenario streams`: one region, measured in one run:
//! 1. PutItem flat out, nothing else running (the baseline);
//! 2. PutItem flat out while a consumer follows the table's stream with
//!    GetRecords (records/s read while writes continue), then the backlog
//!    read again from TRIM_HORIZON with no writes (catch-up records/s);
//! 3. PutItem flat out while the TTL sweeper deletes `--expired-items`
//!    expired items of another table (foreground p99 with the sweep), and
//!    how long the whole sweep took;
//! 4. PutItem flat out again, nothing else: a second baseline, so drift
//!    over the run (a shared machine, a growing table) shows up as the gap
//!    between the two baselines rather than as an effect of the sweep.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use super::args::BenchArgs;
use super::load::{Sender, connect, one_request};
use super::region::{TABLE, start_bench_node_with, tempfile_dir};
use super::report::print_measurements;
use super::workload::{put_items, puts};
use crate::model::{AttributeValue, Item, Number};
use crate::node::Node;

const EXPIRING: &str = "expiring";
/// Longest wait for the sweep to finish after the measurement.
const SETTLE: Duration = Duration::from_secs(600);

/// A keep-alive connection for JSON requests to any target.
struct JsonClient {
    addr: String,
    sender: Sender,
}

impl JsonClient {
    async fn open(addr: &str) -> anyhow::Result<JsonClient> {
        let (sender, driver) = connect(addr).await?;
        tokio::spawn(driver);
        Ok(JsonClient {
            addr: addr.to_string(),
            sender,
        })
    }

    /// Sends `body` to `target` (e.g. `DynamoDBStreams_20120810.GetRecords`).
    async fn call(&mut self, target: &str, body: Value) -> anyhow::Result<Value> {
        let request = hyper::Request::post("/")
            .header("host", &self.addr)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .body(Full::new(Bytes::from(body.to_string())))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let value: Value = serde_json::from_slice(&bytes)?;
        anyhow::ensure!(status.is_success(), "{target} failed with {status}: {value}");
        Ok(value)
    }

    async fn streams(&mut self, op: &str, body: Value) -> anyhow::Result<Value> {
        self.call(&format!("DynamoDBStreams_20120810.{op}"), body).await
    }
}

/// Reads the stream `arn` from TRIM_HORIZON, following shard roll-overs,
/// until `stop` is set and a read comes back empty; returns records read.
async fn consume(addr: String, arn: String, stop: Arc<AtomicBool>) -> anyhow::Result<(u64, Duration)> {
    let mut client = JsonClient::open(&addr).await?;
    let start = Instant::now();
    let described = client.streams("DescribeStream", json!({"StreamArn": arn})).await?;
    let shards = described["StreamDescription"]["Shards"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut shard = shards
        .first()
        .and_then(|s| s["ShardId"].as_str())
        .ok_or_else(|| anyhow::anyhow!("the stream has no shard"))?
        .to_string();
    let mut iterator = shard_iterator(&mut client, &arn, &shard).await?;
    let mut records = 0u64;
    loop {
        let page = client
            .streams("GetRecords", json!({"ShardIterator": iterator, "Limit": 1000}))
            .await?;
        let count = page["Records"].as_array().map(Vec::len).unwrap_or(0);
        records += count as u64;
        match page["NextShardIterator"].as_str() {
            Some(next) => iterator = next.to_string(),
            None => {
                // The shard closed and is read to its end: move to its child.
                let described = client.streams("DescribeStream", json!({"StreamArn": arn})).await?;
                let shards = described["StreamDescription"]["Shards"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let child = shards
                    .iter()
                    .find(|s| s["ParentShardId"].as_str() == Some(shard.as_str()));
                let Some(child) = child.and_then(|s| s["ShardId"].as_str()) else {
                    break;
                };
                shard = child.to_string();
                iterator = shard_iterator(&mut client, &arn, &shard).await?;
                continue;
            }
        }
        if count == 0 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    Ok((records, start.elapsed()))
}

async fn shard_iterator(client: &mut JsonClient, arn: &str, shard: &str) -> anyhow::Result<String> {
    let body = json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"});
    let out = client.streams("GetShardIterator", body).await?;
    out["ShardIterator"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no ShardIterator"))
}

/// Writes `count` items into the `expiring` table whose `exp` is a minute
/// ago, straight through the engine (the sweep, not the load, is measured).
async fn load_expired(node: &Node, count: usize) -> anyhow::Result<()> {
    let expired = Number::from(node.engine().hlc().wall_now_ns() as i64 / 1_000_000_000 - 60);
    put_items(node, EXPIRING, count, |i| {
        Item::from([
            ("pk".to_string(), AttributeValue::S(format!("e{i}"))),
            ("exp".to_string(), AttributeValue::N(expired.clone())),
        ])
    })
    .await
}

/// Runs the streams benchmark and prints the table.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?.join("streams");
    let payload = "x".repeat(args.item_bytes.saturating_sub(40));
    let node = start_bench_node_with(&dir, 0, |config| config.ttl.sweep_interval_ms = 100).await?;
    let addr = node.api_addr.to_string();
    let key = json!({
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    let mut create = key.clone();
    create["TableName"] = json!(TABLE);
    create["StreamSpecification"] = json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"});
    one_request(&addr, "CreateTable", create.to_string()).await?;
    let mut expiring = key;
    expiring["TableName"] = json!(EXPIRING);
    one_request(&addr, "CreateTable", expiring.to_string()).await?;
    let arn = node
        .engine()
        .describe_table(TABLE.into())
        .await?
        .stream
        .map(|s| crate::streams::stream_arn(node.engine().region(), TABLE, &s.label))
        .ok_or_else(|| anyhow::anyhow!("the bench table has no stream"))?;

    // 1. Baseline.
    let baseline = puts(&addr, "PutItem, nothing else", &args, 1, &payload).await?;

    // 2. A stream consumer following the writes, then a catch-up read.
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = tokio::spawn(consume(addr.clone(), arn.clone(), stop.clone()));
    let with_consumer = puts(&addr, "PutItem + GetRecords consumer", &args, 2, &payload).await?;
    stop.store(true, Ordering::Relaxed);
    let (followed, follow_time) = consumer.await??;
    let (caught_up, catch_up_time) = consume(addr.clone(), arn.clone(), stop.clone()).await?;

    // 3. The TTL sweep of expired items while PutItem runs.
    load_expired(&node, args.expired_items).await?;
    let status = node.ttl_status();
    let before = status.deleted.load(Ordering::Relaxed);
    let sweep_start = Instant::now();
    let enable = json!({"TableName": EXPIRING, "TimeToLiveSpecification": {"AttributeName": "exp", "Enabled": true}});
    one_request(&addr, "UpdateTimeToLive", enable.to_string()).await?;
    let with_sweep = puts(&addr, "PutItem + TTL sweep", &args, 3, &payload).await?;
    let during = status.deleted.load(Ordering::Relaxed) - before;
    while node.engine().describe_table(EXPIRING.into()).await?.item_count > 0 {
        anyhow::ensure!(sweep_start.elapsed() < SETTLE, "the sweep did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sweep_time = sweep_start.elapsed();

    // 4. The baseline again.
    let after = puts(&addr, "PutItem, nothing else (again)", &args, 4, &payload).await?;
    node.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    print_measurements(&[&baseline, &with_consumer, &with_sweep, &after]);
    let rate = |records: u64, took: Duration| records as f64 / took.as_secs_f64();
    println!(
        "\nGetRecords while writes continue: {:.0} records/s ({followed} records in {follow_time:.2?})",
        rate(followed, follow_time)
    );
    println!(
        "GetRecords catch-up from TRIM_HORIZON, no writes: {:.0} records/s ({caught_up} records in {catch_up_time:.2?})",
        rate(caught_up, catch_up_time)
    );
    println!(
        "TTL sweep: {} expired items deleted in {sweep_time:.2?} ({:.0} items/s); {during} of them during the PutItem window",
        args.expired_items,
        rate(args.expired_items as u64, sweep_time)
    );
    let base_p99 = (baseline.p99.as_secs_f64() + after.p99.as_secs_f64()) / 2.0;
    let base_rate = (baseline.ops_per_sec + after.ops_per_sec) / 2.0;
    println!(
        "PutItem p99 with sweep / without (mean of both baselines): {:.2}; throughput: {:.2}",
        with_sweep.p99.as_secs_f64() / base_p99.max(1e-9),
        with_sweep.ops_per_sec / base_rate.max(1e-9)
    );
    println!(
        "baseline drift over the run (second / first): p99 {:.2}, throughput {:.2}",
        after.p99.as_secs_f64() / baseline.p99.as_secs_f64().max(1e-9),
        after.ops_per_sec / baseline.ops_per_sec.max(1e-9)
    );
    Ok(())
}
