//! `meridian restore`: two kinds of restore for operators.
//!
//! - `meridian restore --table T --to TIME --as T2 [--region R]`: asks the
//!   running region (its API address from the topology, or `--endpoint`) for
//!   RestoreTableToPointInTime and follows the new table until it is ACTIVE.
//!   TIME is RFC 3339 (`2026-11-22T10:15:30Z`) or `latest`. Over HTTPS and
//!   signed where the region asks for it (see `api_client.rs`).
//! - `meridian restore --from BACKUP --region R [--data-dir DIR]`: puts back
//!   a whole region's data directory saved by `meridian backup`, while the
//!   region is stopped (see `region_backup.rs`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

use super::api_client::ApiClient;
use super::locate::RegionEndpoint;
use super::progress::Progress;
use crate::pitr::time;

/// Arguments of `meridian restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Table to restore (point-in-time restore through the region's API).
    #[arg(long, requires_all = ["to", "target"], conflicts_with = "from")]
    pub table: Option<String>,
    /// Time to restore to: RFC 3339 (e.g. 2026-11-22T10:15:30Z) or `latest`.
    #[arg(long)]
    pub to: Option<String>,
    /// Name of the new table.
    #[arg(long = "as", id = "target")]
    pub target: Option<String>,
    /// Region to restore in (with `--from`, the region the backup is of).
    #[command(flatten)]
    pub place: RegionEndpoint,
    /// Return once the restore has started instead of waiting for ACTIVE.
    #[arg(long)]
    pub no_wait: bool,
    /// A region backup made by `meridian backup` to put back (the region
    /// must be stopped).
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Root data directory (with `--from`); the region's files go in DIR/REGION.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// With `--from`: replace the region's existing data directory.
    #[arg(long)]
    pub force: bool,
}

/// Runs `meridian restore`.
pub fn run(args: RestoreArgs) -> anyhow::Result<()> {
    if let Some(from) = &args.from {
        return super::region_backup::restore(from, &args.data_dir, &args.place.region, args.force);
    }
    let (Some(table), Some(to), Some(target)) = (&args.table, &args.to, &args.target) else {
        bail!("give either --table T --to TIME --as T2, or --from BACKUP_DIR");
    };
    let restore_time = if to == "latest" {
        None
    } else {
        let ns = time::parse_rfc3339(to).with_context(|| format!("--to {to:?} is not an RFC 3339 time"))?;
        Some(ns)
    };
    let api = ApiClient::for_region(&args.place)?;
    super::common::runtime()?.block_on(restore_table(&api, table, restore_time, target, !args.no_wait))
}

async fn restore_table(
    api: &ApiClient,
    table: &str,
    at_ns: Option<u64>,
    target: &str,
    wait: bool,
) -> anyhow::Result<()> {
    let mut request = json!({ "SourceTableName": table, "TargetTableName": target });
    match at_ns {
        Some(ns) => request["RestoreDateTime"] = json!(time::epoch_seconds(ns)),
        None => request["UseLatestRestorableTime"] = json!(true),
    }
    let answer = api.call("RestoreTableToPointInTime", &request).await?;
    let restored_to = answer["TableDescription"]["RestoreSummary"]["RestoreDateTime"]
        .as_f64()
        .and_then(time::from_epoch_seconds)
        .map(time::format_rfc3339)
        .unwrap_or_default();
    println!(
        "meridian: restoring {table} as of {restored_to} into {target} at {}",
        api.url()
    );
    if !wait {
        return Ok(());
    }
    // The source's count now: an estimate of what the restore loads.
    let source = api.call("DescribeTable", &json!({ "TableName": table })).await?;
    let estimate = source["Table"]["ItemCount"].as_u64();
    let started = Instant::now();
    let mut progress = Progress::new(format!("meridian: restoring {target}"), estimate, "items");
    loop {
        let described = api.call("DescribeTable", &json!({ "TableName": target })).await?;
        let status = described["Table"]["TableStatus"].as_str().unwrap_or("").to_string();
        let count = described["Table"]["ItemCount"].as_u64().unwrap_or(0);
        if status == "ACTIVE" {
            progress.finish(format_args!(
                "meridian: {target} is ACTIVE with {count} items after {:.1} s",
                started.elapsed().as_secs_f64()
            ));
            return Ok(());
        }
        if estimate.is_some_and(|e| count > e) {
            progress.set_total(count);
        }
        progress.set(count);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
