//! `meridian restore`: two kinds of restore for operators.
//!
//! - `meridian restore --table T --to TIME --as T2 [--region R]`: asks the
//!   running region (its API address from the topology, or `--endpoint`) for
//!   RestoreTableToPointInTime and follows the new table until it is ACTIVE.
//!   TIME is RFC 3339 (`2026-11-22T10:15:30Z`) or `latest`.
//! - `meridian restore --from BACKUP --region R [--data-dir DIR]`: puts back
//!   a whole region's data directory saved by `meridian backup`, while the
//!   region is stopped (see `region_backup.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

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
    let addr = args.place.address()?;
    super::common::runtime()?.block_on(restore_table(addr, table, restore_time, target, !args.no_wait))
}

async fn restore_table(
    addr: SocketAddr,
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
    let answer = call(addr, "RestoreTableToPointInTime", &request).await?;
    let restored_to = answer["TableDescription"]["RestoreSummary"]["RestoreDateTime"]
        .as_f64()
        .and_then(time::from_epoch_seconds)
        .map(time::format_rfc3339)
        .unwrap_or_default();
    println!("meridian: restoring {table} as of {restored_to} into {target} at http://{addr}");
    if !wait {
        return Ok(());
    }
    // The source's count now: an estimate of what the restore loads.
    let source = call(addr, "DescribeTable", &json!({ "TableName": table })).await?;
    let estimate = source["Table"]["ItemCount"].as_u64();
    let started = Instant::now();
    let mut progress = Progress::new(format!("meridian: restoring {target}"), estimate, "items");
    loop {
        let described = call(addr, "DescribeTable", &json!({ "TableName": target })).await?;
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

/// Sends one DynamoDB request and returns its JSON answer, or the error
/// DynamoDB's way (`Type: message`).
pub(super) async fn call(addr: SocketAddr, operation: &str, body: &Value) -> anyhow::Result<Value> {
    let stream = tokio::net::TcpStream::connect(addr).await.with_context(|| {
        format!(
            "nothing answers at http://{addr}: is the cluster running? {}",
            super::locate::START_HINT
        )
    })?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(connection);
    let request = hyper::Request::post("/")
        .header("host", addr.to_string())
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
        .body(Full::new(Bytes::from(serde_json::to_vec(body)?)))?;
    let response = sender.send_request(request).await?;
    let ok = response.status().is_success();
    let bytes = response.into_body().collect().await?.to_bytes();
    let answer: Value = serde_json::from_slice(&bytes).context("the region answered something other than JSON")?;
    if !ok {
        let kind = answer["__type"].as_str().unwrap_or("error");
        bail!(
            "{}: {}",
            kind.rsplit('#').next().unwrap_or(kind),
            answer["message"].as_str().unwrap_or("")
        );
    }
    Ok(answer)
}
