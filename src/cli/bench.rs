//! `meridian bench`: PutItem, GetItem and Query over HTTP with many concurrent
//! keep-alive connections, next to two baselines measured in the same run:
//! the raw store (redb alone, writes grouped like the engine groups them, no
//! HTTP) and the same HTTP stack answering a no-op operation
//! (DescribeEndpoints). Results are reported as ratios to the baselines.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};
use serde_json::json;

use crate::config::{NodeConfig, RegionConfig, Topology};
use crate::engine::WriteStats;
use crate::engine::sync_latency::SyncHistogram;
use crate::node::{Node, NodeOptions};
use crate::store::CheckpointStats;

use super::bench_engine::{cpu_micros, engine_gets, engine_puts};
use super::bench_load::{Samples, sample};
pub(super) use super::bench_load::{Sender, connect, load_paced, one_request};

/// Arguments of `meridian bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Concurrent keep-alive connections [default: 512 for `core`, 64
    /// for the other scenarios].
    #[arg(long)]
    pub connections: Option<usize>,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Approximate item size in bytes.
    #[arg(long, default_value_t = 200)]
    pub item_bytes: usize,
    /// What to measure: `core` (one region against its baselines),
    /// `replication` (three replicating regions against one region),
    /// `latency` (every region of --topology driven at --rate, with its
    /// simulated link delays: client latency per region, lag per link),
    /// `pitr` (a point-in-time restore against a full scan),
    /// `streams` (GetRecords throughput, PutItem p99 during a TTL sweep),
    /// `retention` (PutItem while the change-log trimmer removes --items
    /// entries), `resync` (a region getting back --items missed items from
    /// a snapshot, against from the change log) or `scan` (a parallel scan
    /// of --items items, segment after segment, against a full scan).
    #[arg(long, default_value = "core")]
    pub scenario: String,
    /// Topology for the latency scenario (names and `[[link]]`s; its
    /// addresses are replaced by free ports).
    #[arg(long, default_value = "regions/three-continents.toml")]
    pub topology: std::path::PathBuf,
    /// Writes per second per region in the latency scenario; 0 is flat out.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Items in the table of the `pitr` scenario; change-log entries the
    /// `retention` scenario trims; items the `resync` scenario's region missed;
    /// items in the table of the `scan` scenario.
    #[arg(long, default_value_t = 1_000_000)]
    pub items: usize,
    /// `streams` scenario: expired items the TTL sweep deletes.
    #[arg(long, default_value_t = 100_000)]
    pub expired_items: usize,
}

/// Connections of the core bench unless `--connections` says otherwise. It
/// compares throughputs, so every operation must keep both cores busy: a
/// durable PutItem spends milliseconds waiting for its group and the log
/// sync, and the faster the machine, the more connections it takes to
/// cover that wait. 64 connections left a third of the cores idle during
/// PutItem (1.35-1.47 cores busy); 256 left 1.59-1.68 busy on a day the
/// no-op ran at 72,000-94,000/s, and 512 1.80-1.88, while the no-op and
/// GetItem keep 1.96-1.99 busy either way.
const CORE_CONNECTIONS: usize = 512;

/// Connections of the other scenarios: they drive several regions or pace
/// their load, and their figures (lag at half the replicated throughput)
/// were taken with this many.
const CONNECTIONS: usize = 64;

impl BenchArgs {
    /// `--connections`, or the scenario's default.
    pub fn connections(&self) -> usize {
        let default = match self.scenario.as_str() {
            "core" => CORE_CONNECTIONS,
            _ => CONNECTIONS,
        };
        self.connections.unwrap_or(default)
    }
}

/// Throughput and latency of one measurement.
pub struct Measurement {
    pub name: &'static str,
    pub ops_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    /// CPU cores this process kept busy on average (client and server).
    pub cores: f64,
    /// Requests answered.
    pub count: u64,
}

/// Throughput and percentiles of a set of latencies measured over `elapsed`.
pub fn summarise(name: &'static str, mut latencies: Vec<Duration>, elapsed: Duration) -> Measurement {
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    Measurement {
        name,
        ops_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.5),
        p99: pick(0.99),
        p999: pick(0.999),
        cores: 0.0,
        count: latencies.len() as u64,
    }
}

/// Starts the single region `bench-1` on port 0 with its data in `dir` and
/// its clock `clock_offset_ms` off.
pub async fn start_bench_node(dir: &Path, clock_offset_ms: i64) -> anyhow::Result<Node> {
    start_bench_node_with(dir, clock_offset_ms, |_| ()).await
}

/// `start_bench_node` with node settings changed by `configure`.
pub async fn start_bench_node_with(
    dir: &Path,
    clock_offset_ms: i64,
    configure: impl FnOnce(&mut NodeConfig),
) -> anyhow::Result<Node> {
    let region = RegionConfig {
        name: "bench-1".into(),
        api: "127.0.0.1:0".parse()?,
        peer: "127.0.0.1:0".parse()?,
        clock_offset_ms,
    };
    let topology = Topology {
        cluster: "bench".into(),
        region: vec![region],
        link: Vec::new(),
        table: Vec::new(),
    };
    let mut options = NodeOptions::new(topology, "bench-1", dir.to_path_buf());
    configure(&mut options.config);
    Ok(Node::start(options).await?)
}

/// Creates the table `bench` (string hash key `pk`) through the API.
pub async fn create_bench_table(addr: &str) -> anyhow::Result<()> {
    let create = json!({
        "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    });
    one_request(addr, "CreateTable", create.to_string()).await
}

/// Runs the benchmark and prints the table.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    crate::telemetry::init("warn");
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let result = match args.scenario.as_str() {
        "core" => runtime.block_on(bench(args)),
        "replication" => runtime.block_on(super::bench_replication::bench(args)),
        "latency" => runtime.block_on(super::bench_latency::bench(args)),
        "pitr" => runtime.block_on(super::bench_pitr::bench(args)),
        "streams" => runtime.block_on(super::bench_streams::bench(args)),
        "retention" => runtime.block_on(super::bench_retention::bench(args)),
        "resync" => runtime.block_on(super::bench_resync::bench(args)),
        "scan" => runtime.block_on(super::bench_scan::bench(args)),
        other => Err(anyhow::anyhow!(
            "unknown scenario {other:?}: use core, replication, latency, pitr, streams, retention, resync or scan"
        )),
    };
    // Scenarios remove their own data; this removes the folder they shared.
    let _ = std::fs::remove_dir_all(bench_root());
    result
}

/// Rounds the HTTP measurements are interleaved in, at least. This
/// machine's speed drifts from one second to the next (seen here: the no-op
/// rate of back to back runs between 30,000 and 57,000/s), so no-op, PutItem,
/// GetItem and Query take turns in each round and the rounds are pooled: the
/// ratios compare them under the same conditions.
pub const ROUNDS: u32 = 3;

/// How long one turn of the core bench lasts. With three turns of 1.7 s,
/// GetItem / no-op ranged over 0.59–0.76 in seven runs of one build; half a
/// second (even 512 connections are opened in a few ms) pools more turns, so
/// the drift evens out within a run.
const TURN: Duration = Duration::from_millis(500);

/// Rounds of the core bench and the length of each turn in them.
pub(super) fn core_rounds(duration: Duration) -> (u32, Duration) {
    let rounds = u32::try_from(duration.as_millis() / TURN.as_millis())
        .unwrap_or(u32::MAX)
        .max(ROUNDS);
    (rounds, duration / rounds)
}

async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let duration = Duration::from_secs(args.seconds);
    let payload = "x".repeat(args.item_bytes.saturating_sub(40));

    let node = start_bench_node(&dir, 0).await?;
    let addr = node.api_addr.to_string();
    create_bench_table(&addr).await?;

    let connections = args.connections();
    let (rounds, slice) = core_rounds(duration);
    let (mut noop, mut put, mut get) = (Samples::default(), Samples::default(), Samples::default());
    let mut query = Samples::default();
    let mut first_round_items = Arc::new(Vec::new());
    for round in 0..rounds as usize {
        noop.add(
            sample(&addr, connections, slice, None, |_, _| {
                ("DescribeEndpoints", "{}".to_string())
            })
            .await?,
        );
        // Each round writes keys of its own, so every PutItem creates an item.
        let first = round * connections;
        let put_payload = payload.clone();
        let mut written = sample(&addr, connections, slice, None, move |conn, n| {
            ("PutItem", put_body(first + conn, n, &put_payload))
        })
        .await?;
        // Reads cycle over the items each connection wrote, so every
        // GetItem finds one (a miss would answer faster).
        let written_by = Arc::new(std::mem::take(&mut written.per_connection));
        anyhow::ensure!(
            written_by.iter().any(|&w| w > 0),
            "PutItem wrote no item in round {round}"
        );
        if round == 0 {
            first_round_items = written_by.clone();
        }
        put.add(written);
        get.add(
            sample(&addr, connections, slice, None, {
                let written_by = written_by.clone();
                move |conn, n| {
                    let (writer, item) = item_to_read(&written_by, conn, n);
                    ("GetItem", get_body(first + writer, item))
                }
            })
            .await?,
        );
        query.add(
            sample(&addr, connections, slice, None, move |conn, n| {
                let (writer, item) = item_to_read(&written_by, conn, n);
                ("Query", query_body(first + writer, item))
            })
            .await?,
        );
    }
    let writes = node.engine().write_stats();
    let checkpoints = node.engine().checkpoint_stats();
    // After the HTTP turns and their counters: these writes' groups and
    // checkpoints are not the region's under PutItem over HTTP.
    let engine_put = engine_puts(node.engine(), connections, duration / 2, &payload)
        .await?
        .summarise("engine PutItem (no HTTP)");
    let engine_get = engine_gets(node.engine(), &first_round_items, duration / 2).await?;
    let (noop, put, get, query) = (
        noop.summarise("no-op HTTP (DescribeEndpoints)"),
        put.summarise("PutItem"),
        get.summarise("GetItem"),
        query.summarise("Query (one item)"),
    );
    node.shutdown().await;

    // The raw store commits groups of the size the engine's group commit
    // gathered under this load, with the region stopped.
    let group = writes.jobs_per_commit().round().max(1.0) as usize;
    let raw_path = dir.join("raw.redb");
    let raw_put = tokio::task::spawn_blocking({
        let (path, payload) = (raw_path.clone(), payload.clone());
        move || raw_store_puts(&path, &payload, group, duration)
    })
    .await??;
    let raw_get = tokio::task::spawn_blocking(move || raw_store_gets(&raw_path, duration)).await??;
    let _ = std::fs::remove_dir_all(&dir);

    print_measurements(&[&raw_put, &raw_get, &engine_put, &engine_get, &noop, &put, &get, &query]);
    println!(
        "\nPutItem / no-op HTTP: {:.2} (target >= 0.50)",
        put.ops_per_sec / noop.ops_per_sec
    );
    println!(
        "GetItem / no-op HTTP: {:.2} (target >= 0.70)",
        get.ops_per_sec / noop.ops_per_sec
    );
    println!(
        "Query / no-op HTTP: {:.2} (no target; GetItem of the same item: {:.2})",
        query.ops_per_sec / noop.ops_per_sec,
        get.ops_per_sec / noop.ops_per_sec
    );
    report_write_path(&writes, &put);
    // The write path's own cost against the HTTP stack's: a PutItem over
    // HTTP pays for both, so were the costs simply added, its ratio to the
    // no-op would be no-op / (no-op + engine PutItem); beyond the sum is
    // what the two cost each other on shared cores.
    println!(
        "CPU per operation (this process, load generator included): no-op HTTP {:.1}µs, \
         engine PutItem {:.1}µs, PutItem over HTTP {:.1}µs",
        cpu_micros(&noop),
        cpu_micros(&engine_put),
        cpu_micros(&put),
    );
    report_syncs("the region", &writes.sync_latency);
    report_checkpoints("the region", &checkpoints);
    println!(
        "PutItem / raw store puts: {:.2} (the raw store committing durably in groups of {group}, \
         the engine's mean group under this load)",
        put.ops_per_sec / raw_put.ops_per_sec
    );
    println!("GetItem / raw store gets: {:.2}", get.ops_per_sec / raw_get.ops_per_sec);
    super::bench_in_memory::report(&dir.join("in-memory"), connections, duration, &payload).await
}

/// Prints one row per measurement: ops/s, p50, p99 and busy cores.
pub fn print_measurements(measurements: &[&Measurement]) {
    println!(
        "\n{:<34} {:>12} {:>10} {:>10} {:>6}",
        "measurement", "ops/s", "p50", "p99", "cores"
    );
    for m in measurements {
        println!(
            "{:<34} {:>12.0} {:>10.2?} {:>10.2?} {:>6.2}",
            m.name, m.ops_per_sec, m.p50, m.p99, m.cores
        );
    }
}

/// Where PutItem's time went inside the engine (the bench's only writes),
/// next to what the client saw: the rest is HTTP and scheduling.
fn report_write_path(writes: &WriteStats, put: &Measurement) {
    let jobs = writes.jobs.max(1) as u32;
    println!(
        "average writes per durable commit during PutItem: {:.1}",
        writes.jobs_per_commit()
    );
    println!(
        "mean PutItem in the engine: queued {:.2?}, in its group {:.2?}, waiting for the log sync {:.2?} \
         (client p50 {:.2?}); {} log syncs of {:.2?} each",
        writes.queue_wait / jobs,
        writes.in_group / jobs,
        writes.durable_wait / jobs,
        put.p50,
        writes.syncs,
        writes.syncing / writes.syncs.max(1) as u32,
    );
}

/// Prints how a region's log syncs were spread: every write waits for one
/// (and maybe the end of another), so their tail is the writes' tail.
pub fn report_syncs(region: &str, syncs: &SyncHistogram) {
    let percent = |bound: f64| syncs.share_over(bound).unwrap_or(0.0) * 100.0;
    println!(
        "log syncs in {region}: {}, over 1 ms {:.1}%, over 5 ms {:.2}%, over 10 ms {:.2}%, the longest {:.1} ms",
        syncs.total(),
        percent(0.001),
        percent(0.005),
        percent(0.01),
        syncs.longest.as_secs_f64() * 1e3,
    );
}

/// Prints the checkpoints a region made: the writer waits for each, so the
/// longest bounds the worst stall a write saw.
pub fn report_checkpoints(region: &str, checkpoints: &CheckpointStats) {
    println!(
        "checkpoints in {region}: {} of {:.1} ms on average, the longest {:.1} ms (writes wait meanwhile)",
        checkpoints.count,
        checkpoints.total_ms / checkpoints.count.max(1) as f64,
        checkpoints.longest_ms,
    );
}

// The PutItem and GetItem bodies are formatted as text rather than built as
// JSON trees: the load generator shares the CPU with the server, so its cost
// counts against the server's ratios. Keys and numbers are digits and the
// payload is plain `x`s, so nothing needs escaping.

/// The PutItem body of request `n` of connection `conn`.
pub(super) fn put_body(conn: usize, n: u64, payload: &str) -> String {
    format!(
        r#"{{"TableName":"bench","Item":{{"pk":{{"S":"k{conn}-{n}"}},"n":{{"N":"{n}"}},"payload":{{"S":"{payload}"}}}}}}"#
    )
}

/// The Query body reading the partition of the item `put_body(conn, n, _)`
/// wrote: the bench table has no sort key, so one item.
fn query_body(conn: usize, n: u64) -> String {
    format!(
        r#"{{"TableName":"bench","KeyConditionExpression":"pk = :pk","ExpressionAttributeValues":{{":pk":{{"S":"k{conn}-{n}"}}}}}}"#
    )
}

/// Which item request `n` of connection `conn` reads, as (connection that
/// wrote it, its number), given how many items each connection wrote: one
/// of its own, cycling over them; a connection that wrote none (one that
/// connected too late in a short turn) reads those of another. Every answer
/// is an item that exists, as long as some connection wrote one.
pub(super) fn item_to_read(written_by: &[u64], conn: usize, n: u64) -> (usize, u64) {
    let wrote = |c: &usize| written_by.get(*c).is_some_and(|&w| w > 0);
    let writer = if wrote(&conn) {
        Some(conn)
    } else {
        let writers = written_by.iter().filter(|&&w| w > 0).count().max(1);
        (0..written_by.len()).filter(wrote).nth(conn % writers)
    };
    match writer {
        Some(writer) => (writer, n % written_by[writer]),
        None => (conn, 0),
    }
}

/// The GetItem body reading the item `put_body(conn, n, _)` wrote.
fn get_body(conn: usize, n: u64) -> String {
    format!(r#"{{"TableName":"bench","Key":{{"pk":{{"S":"k{conn}-{n}"}}}}}}"#)
}

/// A fresh scratch directory for a benchmark's regions.
pub fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = bench_root();
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The folder this benchmark process keeps its data under.
fn bench_root() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("meridian-bench-{}", std::process::id()))
}

const RAW: TableDefinition<&[u8], &[u8]> = TableDefinition::new("raw");

/// redb alone: durable commits of `group` items each (the core bench passes
/// the mean group the engine's group commit gathered under its load).
/// Latency is per commit.
fn raw_store_puts(path: &Path, payload: &str, group: usize, duration: Duration) -> anyhow::Result<Measurement> {
    let db = Database::create(path)?;
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut n = 0u64;
    while start.elapsed() < duration {
        let began = Instant::now();
        let txn = db.begin_write()?;
        {
            let mut table = txn.open_table(RAW)?;
            for _ in 0..group {
                let key = format!("k{n}");
                table.insert(key.as_bytes(), payload.as_bytes())?;
                n += 1;
            }
        }
        txn.commit()?;
        let took = began.elapsed();
        latencies.extend(std::iter::repeat_n(took, group));
    }
    Ok(summarise("raw store puts (redb, grouped)", latencies, start.elapsed()))
}

/// redb alone: point reads of the keys written, one read transaction each.
fn raw_store_gets(path: &Path, duration: Duration) -> anyhow::Result<Measurement> {
    let db = Database::open(path)?;
    let count = db.begin_read()?.open_table(RAW)?.len()?.max(1);
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut n = 0u64;
    while start.elapsed() < duration {
        let began = Instant::now();
        let table = db.begin_read()?.open_table(RAW)?;
        let key = format!("k{}", n % count);
        let _ = table.get(key.as_bytes())?;
        latencies.push(began.elapsed());
        n += 1;
    }
    Ok(summarise("raw store gets (redb)", latencies, start.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_go_to_items_that_were_written() {
        // Connection 1 wrote nothing: it reads the items of the others.
        let written_by = [3, 0, 2];
        assert_eq!(item_to_read(&written_by, 0, 4), (0, 1));
        assert_eq!(item_to_read(&written_by, 2, 5), (2, 1));
        let borrowed: Vec<(usize, u64)> = (0..4).map(|n| item_to_read(&written_by, 1, n)).collect();
        assert_eq!(borrowed, [(2, 0), (2, 1), (2, 0), (2, 1)]);
        for (conn, n) in [(0, 7), (1, 9), (2, 11)] {
            let (writer, item) = item_to_read(&written_by, conn, n);
            assert!(item < written_by[writer], "{conn}/{n} read {writer}/{item}");
        }
    }

    #[test]
    fn request_bodies_are_the_json_they_stand_for() {
        let parse = |body: String| serde_json::from_str::<serde_json::Value>(&body).unwrap();
        let put = json!({"TableName": "bench", "Item": {
            "pk": {"S": "k3-17"}, "n": {"N": "17"}, "payload": {"S": "xxxx"}}});
        assert_eq!(parse(put_body(3, 17, "xxxx")), put);
        let get = json!({"TableName": "bench", "Key": {"pk": {"S": "k3-17"}}});
        assert_eq!(parse(get_body(3, 17)), get);
        let query = json!({"TableName": "bench", "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "k3-17"}}});
        assert_eq!(parse(query_body(3, 17)), query);
    }
}
