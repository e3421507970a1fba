//! `meridian bench --scenario transactions`: items written through
//! TransactWriteItems of 10 puts against BatchWriteItem of 10 puts, in
//! turns in the same rounds on one region, and the items each wrote read
//! back with GetItem.

use std::time::Duration;

use super::args::BenchArgs;
use super::load::{ROUNDS, Samples, sample};
use super::region::{create_bench_table, start_bench_node, tempfile_dir};
use super::report::{Measurement, cpu_micros, print_measurements};

/// Puts in one request of either kind.
const PUTS: usize = 10;
/// What TransactWriteItems should reach against BatchWriteItem, in items/s.
const TARGET: f64 = 0.5;
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

/// Runs the transactions scenario and prints its table and ratios.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let node = start_bench_node(&dir, 0).await?;
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
    node.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    let measurements = [
        batch.summarise("BatchWriteItem of 10 puts"),
        transact.summarise("TransactWriteItems of 10 puts"),
    ];
    print_measurements(&measurements.iter().collect::<Vec<_>>());
    report_writes(&measurements[0], &measurements[1]);
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
}
