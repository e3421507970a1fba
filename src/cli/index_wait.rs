//! `meridian index wait TABLE INDEX`: follows a secondary index's backfill
//! in one region until the index is ACTIVE there, with a progress bar: the
//! items the backfill has looked at (the `index-backfill` worker in
//! `/status`) out of the table's item count (DescribeTable).

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::api_client::ApiClient;
use super::locate::RegionEndpoint;
use super::progress::Progress;

/// Arguments of `meridian index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    pub command: IndexCommand,
}

/// `meridian index` subcommands.
#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Follow INDEX of TABLE until it is ACTIVE in the region, showing the
    /// backfill's progress.
    Wait(WaitArgs),
}

/// Arguments of `meridian index wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    pub table: String,
    pub index: String,
    /// Region to follow.
    #[command(flatten)]
    pub place: RegionEndpoint,
}

/// Runs `meridian index`.
pub fn run(args: IndexArgs) -> anyhow::Result<()> {
    let IndexCommand::Wait(args) = args.command;
    let api = ApiClient::for_region(&args.place)?;
    super::common::runtime()?.block_on(wait(&api, &args.table, &args.index))
}

/// What DescribeTable says of the index: its status, and the table's
/// item count.
async fn describe(api: &ApiClient, table: &str, index: &str) -> anyhow::Result<(String, u64)> {
    let answer = api.call("DescribeTable", &json!({ "TableName": table })).await?;
    let described = &answer["Table"];
    let indexes = described["GlobalSecondaryIndexes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let found = indexes
        .iter()
        .find(|i| i["IndexName"] == json!(index))
        .with_context(|| format!("table {table} has no global secondary index {index}"))?;
    let status = found["IndexStatus"].as_str().unwrap_or("").to_string();
    Ok((status, described["ItemCount"].as_u64().unwrap_or(0)))
}

/// Items the backfill has looked at for `table/index` since it took it up
/// (0 while it fills another index or none).
async fn looked_at(api: &ApiClient, table: &str, index: &str) -> u64 {
    // `/status` is on the admin surface: the admin token goes with it when
    // there is one.
    let status: Value = super::http::get_json(&api.addr().to_string(), "/status", api.access())
        .await
        .unwrap_or(Value::Null);
    let workers = status["workers"].as_array().cloned().unwrap_or_default();
    workers
        .iter()
        .find(|w| w["name"] == json!("index-backfill") && w["current"] == json!(format!("{table}/{index}")))
        .and_then(|w| w["current_items_looked_at"].as_u64())
        .unwrap_or(0)
}

async fn wait(api: &ApiClient, table: &str, index: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let (mut status, items) = describe(api, table, index).await?;
    let mut progress = Progress::new(format!("meridian: backfilling {table}/{index}"), Some(items), "items");
    let mut seen = 0;
    while status != "ACTIVE" {
        seen = seen.max(looked_at(api, table, index).await);
        progress.set(seen.min(items));
        tokio::time::sleep(Duration::from_millis(250)).await;
        status = describe(api, table, index).await?.0;
    }
    progress.finish(format_args!(
        "meridian: index {index} of {table} is ACTIVE at {} after {:.1} s",
        api.url(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
