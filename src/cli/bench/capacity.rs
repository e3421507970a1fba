//! `meridian bench --scenario capacity`: PutItem and GetItem on an
//! on-demand table of a region enforcing capacity, against the same on a
//! region started with `capacity.enabled = false`, in turns in the same
//! rounds. The enforcing region's per-table maximum is raised out of reach,
//! so that what is measured is the admission check and the metering every
//! request pays, not throttles.

use std::sync::Arc;
use std::time::Duration;

use super::args::BenchArgs;
use super::core_items::{get_body, item_to_read, put_body};
use super::load::{ROUNDS, Samples, sample};
use super::region::{create_bench_table, start_bench_node_with, tempfile_dir};
use super::report::{cpu_micros, print_measurements};

/// What throughput with enforcement should reach against without.
const TARGET: f64 = 0.95;

/// How long one load lasts: short turns, many rounds, so that the drift
/// of a shared machine's speed evens out between the two regions.
const TURN: Duration = Duration::from_millis(500);

/// One region's PutItem and GetItem samples.
#[derive(Default)]
struct Loads {
    put: Samples,
    get: Samples,
}

impl Loads {
    /// One turn of PutItem then GetItem of the items it wrote at `addr`;
    /// round `round` writes keys of its own.
    async fn turn(
        &mut self,
        addr: &str,
        connections: usize,
        slice: Duration,
        round: usize,
        payload: &str,
    ) -> anyhow::Result<()> {
        let first = round * connections;
        let payload = payload.to_string();
        let mut written = sample(addr, connections, slice, None, move |conn, n| {
            ("PutItem", put_body(first + conn, n, &payload))
        })
        .await?;
        let written_by = Arc::new(std::mem::take(&mut written.per_connection));
        anyhow::ensure!(written_by.iter().any(|&w| w > 0), "PutItem wrote no item");
        self.put.add(written);
        self.get.add(
            sample(addr, connections, slice, None, move |conn, n| {
                let (writer, item) = item_to_read(&written_by, conn, n);
                ("GetItem", get_body(first + writer, item))
            })
            .await?,
        );
        Ok(())
    }
}

/// Runs the capacity scenario and prints its table and ratios.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let duration = Duration::from_secs(args.seconds);
    let payload = "x".repeat(args.item_bytes.saturating_sub(40));
    let enforced = start_bench_node_with(&dir.join("enforced"), 0, |config| {
        config.capacity.table_max_read_units = u64::MAX / 2;
        config.capacity.table_max_write_units = u64::MAX / 2;
    })
    .await?;
    let baseline = start_bench_node_with(&dir.join("baseline"), 0, |config| config.capacity.enabled = false).await?;
    let (on, off) = (enforced.api_addr.to_string(), baseline.api_addr.to_string());
    create_bench_table(&on).await?;
    create_bench_table(&off).await?;

    let connections = args.connections();
    // Each round runs four loads of one turn.
    let rounds = u32::try_from(duration.as_millis() / (4 * TURN.as_millis()))
        .unwrap_or(u32::MAX)
        .max(ROUNDS);
    let (mut with, mut without) = (Loads::default(), Loads::default());
    let slice = TURN;
    for round in 0..rounds as usize {
        // Alternate which goes first, so that neither always runs on a
        // warmer (or colder) machine.
        if round % 2 == 0 {
            with.turn(&on, connections, slice, round, &payload).await?;
            without.turn(&off, connections, slice, round, &payload).await?;
        } else {
            without.turn(&off, connections, slice, round, &payload).await?;
            with.turn(&on, connections, slice, round, &payload).await?;
        }
    }
    enforced.shutdown().await;
    baseline.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    let measurements = [
        without.put.summarise("PutItem, capacity off"),
        with.put.summarise("PutItem, capacity enforced"),
        without.get.summarise("GetItem, capacity off"),
        with.get.summarise("GetItem, capacity enforced"),
    ];
    print_measurements(&measurements.iter().collect::<Vec<_>>());
    let ratio = |i: usize, j: usize| measurements[j].ops_per_sec / measurements[i].ops_per_sec;
    // On a machine shared with other work the rates drift; the CPU each
    // request cost the process drifts less.
    let cpu = |i: usize| cpu_micros(&measurements[i]);
    println!(
        "\nPutItem enforced / off: {:.3} (target >= {TARGET:.2}); CPU per request {:.1} / {:.1} us",
        ratio(0, 1),
        cpu(1),
        cpu(0)
    );
    println!(
        "GetItem enforced / off: {:.3} (target >= {TARGET:.2}); CPU per request {:.1} / {:.1} us",
        ratio(2, 3),
        cpu(3),
        cpu(2)
    );
    Ok(())
}
