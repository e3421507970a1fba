//! `meridian bench --scenario transactions`: items written through
//! TransactWriteItems of 10 puts against BatchWriteItem of 10 puts, and
//! items read by a PartiQL key SELECT (ExecuteStatement) against GetItem,
//! each pair in turns in the same rounds on one region.

use std::time::Duration;

use super::args::BenchArgs;
use super::load::{ROUNDS, Samples, sample};
use super::region::{create_bench_table, start_bench_node_with, tempfile_dir};
use super::report::{Measurement, cpu_micros, print_measurements};

/// Puts in one request of either kind.
const PUTS: usize = 10;
/// What TransactWriteItems should reach against BatchWriteItem, in items/s.
const TARGET: f64 = 0.5;
/// What a PartiQL key SELECT should reach against GetItem.
const SELECT_TARGET: f64 = 0.8;
/// Items the reads cycle over, written before they start.
const READ_ITEMS: usize = 1000;
/// How long one load lasts (see the capacity scenario for why short).
const TURN: Duration = Duration::from_millis(500);

/// The items of request `n` of connection `conn` in round `round`, as
/// DynamoDB JSON items of the bench table (keys of their own per kind).
fn items(kind: &str, round: usize, conn: usize, n: u64, payload: &str) -> Vec<String> {
    (0..PUTS)
        .map(|i| format!(r#"{{"pk":{{"S":"{kind}{round}-{conn}-{n}-{i}"}},"payload":{{"S":"{payload}"}}}}"#))
        .collect()
}

/// A TransactWriteItems body of `PUTS` puts.
fn transact_body(round: usize, conn: usize, n: u64, payload: &str) -> String {
    let puts: Vec<String> = items("t", round, conn, n, payload)
        .into_iter()
        .map(|item| format!(r#"{{"Put":{{"TableName":"bench","Item":{item}}}}}"#))
        .collect();
    format!(r#"{{"TransactItems":[{}]}}"#, puts.join(","))
}

/// A BatchWriteItem body of `PUTS` puts.
fn batch_body(round: usize, conn: usize, n: u64, payload: &str) -> String {
    let puts: Vec<String> = items("b", round, conn, n, payload)
        .into_iter()
        .map(|item| format!(r#"{{"PutRequest":{{"Item":{item}}}}}"#))
        .collect();
    format!(r#"{{"RequestItems":{{"bench":[{}]}}}}"#, puts.join(","))
}

/// The key of read item `i`.
fn read_key(i: usize) -> String {
    format!("r-{i}")
}

/// The GetItem body reading item `i`.
fn get_body(i: usize) -> String {
    format!(r#"{{"TableName":"bench","Key":{{"pk":{{"S":"{}"}}}}}}"#, read_key(i))
}

/// The ExecuteStatement body of a key SELECT of item `i`.
fn select_body(i: usize) -> String {
    format!(
        r#"{{"Statement":"SELECT * FROM \"bench\" WHERE pk = '{}'"}}"#,
        read_key(i)
    )
}

/// Which item request `n` of connection `conn` reads.
fn read_index(conn: usize, n: u64) -> usize {
    (conn * 7919 + n as usize) % READ_ITEMS
}

/// Writes the items the reads cycle over, 25 to a BatchWriteItem.
async fn write_read_items(addr: &str, payload: &str) -> anyhow::Result<()> {
    for chunk in (0..READ_ITEMS).collect::<Vec<_>>().chunks(25) {
        let puts: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    r#"{{"PutRequest":{{"Item":{{"pk":{{"S":"{}"}},"payload":{{"S":"{payload}"}}}}}}}}"#,
                    read_key(*i)
                )
            })
            .collect();
        let body = format!(r#"{{"RequestItems":{{"bench":[{}]}}}}"#, puts.join(","));
        super::load::one_request(addr, "BatchWriteItem", body).await?;
    }
    Ok(())
}

/// GetItem against a PartiQL key SELECT of the same items, in turns.
async fn reads(addr: &str, connections: usize, rounds: u32) -> anyhow::Result<(Samples, Samples)> {
    let (mut get, mut select) = (Samples::default(), Samples::default());
    for round in 0..rounds {
        let order = if round % 2 == 0 { [true, false] } else { [false, true] };
        for partiql in order {
            let samples = sample(addr, connections, TURN, None, move |conn, n| {
                let i = read_index(conn, n);
                match partiql {
                    true => ("ExecuteStatement", select_body(i)),
                    false => ("GetItem", get_body(i)),
                }
            })
            .await?;
            match partiql {
                true => select.add(samples),
                false => get.add(samples),
            }
        }
    }
    Ok((get, select))
}

/// Runs the transactions scenario and prints its table and ratios.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    // A transactional put costs twice a batch's: the table's on-demand
    // maximum (40,000 units a second) would throttle the transactions
    // first. What is measured is the write path, not the limit.
    let node = start_bench_node_with(&dir, 0, |config| {
        config.capacity.table_max_read_units = u64::MAX / 2;
        config.capacity.table_max_write_units = u64::MAX / 2;
    })
    .await?;
    let addr = node.api_addr.to_string();
    create_bench_table(&addr).await?;
    let payload = "x".repeat(args.item_bytes.saturating_sub(40));
    let connections = args.connections();
    let rounds = u32::try_from(Duration::from_secs(args.seconds).as_millis() / (2 * TURN.as_millis()))
        .unwrap_or(u32::MAX)
        .max(ROUNDS);
    let (mut transact, mut batch) = (Samples::default(), Samples::default());
    for round in 0..rounds as usize {
        let load = |kind: &'static str| {
            let (addr, payload) = (addr.clone(), payload.clone());
            async move {
                sample(&addr, connections, TURN, None, move |conn, n| match kind {
                    "t" => ("TransactWriteItems", transact_body(round, conn, n, &payload)),
                    _ => ("BatchWriteItem", batch_body(round, conn, n, &payload)),
                })
                .await
            }
        };
        // Alternate which goes first (see the capacity scenario).
        let order = if round % 2 == 0 { ["t", "b"] } else { ["b", "t"] };
        for kind in order {
            let samples = load(kind).await?;
            match kind {
                "t" => transact.add(samples),
                _ => batch.add(samples),
            }
        }
    }
    write_read_items(&addr, &payload).await?;
    let (get, select) = reads(&addr, connections, rounds).await?;
    node.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    let measurements = [
        batch.summarise("BatchWriteItem of 10 puts"),
        transact.summarise("TransactWriteItems of 10 puts"),
        get.summarise("GetItem"),
        select.summarise("ExecuteStatement key SELECT"),
    ];
    print_measurements(&measurements.iter().collect::<Vec<_>>());
    report_writes(&measurements[0], &measurements[1]);
    println!(
        "ExecuteStatement key SELECT / GetItem: {:.3} (target >= {SELECT_TARGET:.2}); CPU per request {:.1} / {:.1} us",
        measurements[3].ops_per_sec / measurements[2].ops_per_sec,
        cpu_micros(&measurements[3]),
        cpu_micros(&measurements[2])
    );
    Ok(())
}

/// Items/s of each kind, and their ratio against the target.
fn report_writes(batch: &Measurement, transact: &Measurement) {
    let items = |m: &Measurement| m.ops_per_sec * PUTS as f64;
    println!(
        "\nitems/s written: TransactWriteItems {:.0}, BatchWriteItem {:.0}: {:.3} (target >= {TARGET:.2}); \
         CPU per request {:.1} / {:.1} us",
        items(transact),
        items(batch),
        items(transact) / items(batch),
        cpu_micros(transact),
        cpu_micros(batch)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_are_json_with_ten_puts() {
        let transact: serde_json::Value = serde_json::from_str(&transact_body(1, 2, 3, "xx")).unwrap();
        let actions = transact["TransactItems"].as_array().unwrap();
        assert_eq!(actions.len(), PUTS);
        assert_eq!(actions[9]["Put"]["Item"]["pk"]["S"], "t1-2-3-9");
        let batch: serde_json::Value = serde_json::from_str(&batch_body(1, 2, 3, "xx")).unwrap();
        let puts = batch["RequestItems"]["bench"].as_array().unwrap();
        assert_eq!(puts.len(), PUTS);
        assert_eq!(puts[0]["PutRequest"]["Item"]["payload"]["S"], "xx");
    }

    #[test]
    fn a_select_reads_the_item_a_get_reads() {
        let get: serde_json::Value = serde_json::from_str(&get_body(7)).unwrap();
        let select: serde_json::Value = serde_json::from_str(&select_body(7)).unwrap();
        assert_eq!(get["Key"]["pk"]["S"], "r-7");
        assert_eq!(select["Statement"], "SELECT * FROM \"bench\" WHERE pk = 'r-7'");
        assert!((0..50).all(|n| read_index(3, n) < READ_ITEMS));
    }
}
