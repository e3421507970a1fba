//! The core bench's measurements of the engine alone, without HTTP: what the
//! region's own work costs between raw redb and the HTTP stack. Next to the
//! no-op, they say how much of a PutItem or GetItem over HTTP is the engine.

use std::time::{Duration, Instant};

use crate::engine::{Engine, ItemOp, ItemWrite};
use crate::model::{AttributeValue, Item, Number};

use super::core_items::{item_to_read, key};
use super::load::{Samples, cpu_time};
use super::report::{Measurement, summarise};

/// Durable PutItems straight into the engine from `tasks` tasks at once,
/// for `duration`, each task writing items of its own (`e{task}-{n}`, shaped
/// like the HTTP PutItem's): the engine's share of a PutItem's cost, with
/// the same concurrency as the HTTP turns.
pub(super) async fn engine_puts(
    engine: &Engine,
    tasks: usize,
    duration: Duration,
    payload: &str,
) -> anyhow::Result<Samples> {
    let start = Instant::now();
    let cpu_start = cpu_time();
    let mut workers = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let (engine, payload) = (engine.clone(), payload.to_string());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while start.elapsed() < duration {
                let item = Item::from([
                    ("pk".to_string(), AttributeValue::S(format!("e{task}-{n}"))),
                    ("n".to_string(), AttributeValue::N(Number::parse(&n.to_string())?)),
                    ("payload".to_string(), AttributeValue::S(payload.clone())),
                ]);
                let began = Instant::now();
                engine
                    .write_item("bench".to_string(), ItemWrite::new(ItemOp::Put(item)))
                    .await?;
                latencies.push(began.elapsed());
                n += 1;
            }
            anyhow::Ok(latencies)
        }));
    }
    Samples::join(workers, start, cpu_start).await
}

/// GetItem through the engine alone, one read at a time on this task: what
/// a point read costs between redb (`raw_store_gets`) and HTTP, over the
/// items the first round of PutItem wrote (`written_by`: how many each
/// connection wrote).
pub(super) async fn engine_gets(
    engine: &Engine,
    written_by: &[u64],
    duration: Duration,
) -> anyhow::Result<Measurement> {
    anyhow::ensure!(
        written_by.iter().any(|&w| w > 0),
        "the first round of PutItem wrote no item"
    );
    let connections = written_by.len() as u64;
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut n = 0u64;
    while start.elapsed() < duration {
        let (conn, i) = item_to_read(written_by, (n % connections) as usize, n / connections);
        let key = Item::from([("pk".to_string(), AttributeValue::S(key(conn, i)))]);
        let began = Instant::now();
        let (_, item) = engine.get_item("bench", &key).await?;
        latencies.push(began.elapsed());
        anyhow::ensure!(item.is_some(), "engine GetItem found no item for {key:?}");
        n += 1;
    }
    Ok(summarise(
        "engine GetItem (no HTTP, one task)",
        latencies,
        start.elapsed(),
    ))
}
