//! `meridian bench --scenario core`: PutItem, GetItem and Query over HTTP with many concurrent
//! keep-alive connections, next to two baselines measured in the same run:
//! the raw store (redb alone, writes grouped like the engine groups them, no
//! HTTP) and the same HTTP stack answering a no-op operation
//! (DescribeEndpoints). Results are reported as ratios to the baselines.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};

use super::args::BenchArgs;
use super::core_engine::{engine_gets, engine_puts};
use super::core_items::{get_body, item_to_read, put_body, query_body};
use super::load::{ROUNDS, Samples, sample};
use super::region::{create_bench_table, start_bench_node, tempfile_dir};
use super::report::{Measurement, cpu_micros, print_measurements, report_checkpoints, report_syncs, summarise};
use crate::engine::WriteStats;

/// How long one turn of the core bench lasts. With three turns of 1.7 s,
/// GetItem / no-op ranged over 0.59–0.76 in seven runs of one build; half a
/// second (even 512 connections are opened in a few ms) pools more turns, so
/// the drift evens out within a run.
const TURN: Duration = Duration::from_millis(500);

/// Rounds of the core bench and the length of each turn in them.
fn core_rounds(duration: Duration) -> (u32, Duration) {
    let rounds = u32::try_from(duration.as_millis() / TURN.as_millis())
        .unwrap_or(u32::MAX)
        .max(ROUNDS);
    (rounds, duration / rounds)
}

/// Runs the core scenario and prints its table and ratios.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
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
    super::core_in_memory::report(&dir.join("in-memory"), connections, (rounds, slice), &payload).await
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
