//! Loads more than one scenario drives: PutItem of fresh keys over HTTP,
//! items written straight through the engine in batches, and a full scan
//! through the engine.

use std::time::Duration;

use serde_json::json;

use super::args::BenchArgs;
use super::load::load_paced;
use super::region::TABLE;
use super::report::Measurement;
use crate::engine::{Engine, ItemOp, ItemWrite, RangeRead};
use crate::model::{AttributeValue, Item};
use crate::node::Node;

/// Items per engine batch while loading.
const LOAD_BATCH: usize = 500;

/// PutItem of fresh keys into the `bench` table, flat out on
/// `connections` connections.
pub async fn puts(
    addr: &str,
    name: &'static str,
    args: &BenchArgs,
    phase: u32,
    payload: &str,
) -> anyhow::Result<Measurement> {
    let payload = payload.to_string();
    let duration = Duration::from_secs(args.seconds);
    load_paced(addr, name, args.connections(), duration, None, move |conn, n| {
        let item = json!({"pk": {"S": format!("p{phase}-c{conn}-{n}")}, "payload": {"S": payload}});
        ("PutItem", json!({"TableName": TABLE, "Item": item}).to_string())
    })
    .await
}

/// Writes the items `item(0..count)` into `table` straight through the
/// engine, in batches: the scenario measures what happens to them, not
/// their load.
pub async fn put_items(node: &Node, table: &str, count: usize, item: impl Fn(usize) -> Item) -> anyhow::Result<()> {
    let mut written = 0;
    while written < count {
        let batch = (written..count.min(written + LOAD_BATCH))
            .map(|i| (table.to_string(), ItemWrite::new(ItemOp::Put(item(i)))))
            .collect::<Vec<_>>();
        written += batch.len();
        node.engine().write_batch(batch).await?;
    }
    Ok(())
}

/// Writes `count` items into `bench` straight through the engine: each
/// leaves a change-log entry for a trim to remove or a peer to catch up on.
pub async fn load_backlog(node: &Node, count: usize, payload: &str) -> anyhow::Result<()> {
    put_items(node, TABLE, count, |i| {
        Item::from([
            ("pk".to_string(), AttributeValue::S(format!("l{i}"))),
            ("payload".to_string(), AttributeValue::S(payload.to_string())),
        ])
    })
    .await
}

/// Reads every page of `table` (of one segment, with `segment`) through the
/// engine, as Scan does; returns the items seen. The `scan` scenario's
/// baseline and the `pitr` scenario's.
pub async fn scan(engine: &Engine, table: &str, segment: Option<(u32, u32)>) -> anyhow::Result<u64> {
    let mut start = None;
    let mut items = 0;
    loop {
        let spec = RangeRead {
            table: table.to_string(),
            partition: None,
            sort: None,
            forward: true,
            start_after: start,
            limit: None,
            filter: None,
            segment,
            index: None,
            fetch_from_table: false,
        };
        let (_, page) = engine.read_range(spec).await?;
        items += page.items.len() as u64;
        match page.last_key {
            Some(last) => start = Some(last),
            None => return Ok(items),
        }
    }
}
