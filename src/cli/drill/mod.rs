//! `meridian drill FILE`: a scripted disaster-recovery rehearsal against a
//! cluster the drill starts itself (see `cluster.rs`). Clients write through
//! the DynamoDB API while timed events partition, kill, restart, pause and
//! skew regions; afterwards the drill waits for convergence and checks that
//! no acknowledged write was lost (`check.rs`), and writes a JSON report and
//! an SVG timeline (`report.rs`, `svg.rs`), which it posts to the regions of
//! a running cluster for their consoles (`post.rs`).

mod check;
mod cluster;
mod events;
mod post;
mod report;
mod script;
mod svg;
mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tokio::sync::watch;

use crate::cli::api_client::ApiClient;
use cluster::DrillCluster;
use script::Script;
use workload::Ledger;

/// Arguments of `meridian drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Drill file (TOML), e.g. regions/drills/region-loss.toml.
    pub file: PathBuf,
    /// Directory for the JSON report and the SVG timeline.
    #[arg(long, default_value = "drill-reports")]
    pub out: PathBuf,
    /// Keep the drill's data directory and region logs.
    #[arg(long)]
    pub keep: bool,
    /// Runs the drill on a compressed clock: the workload's duration and
    /// every event's time are multiplied by this factor (0.5 runs it in
    /// half the time). Rates, skews and the convergence bound stay as written.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// API address (host:port) of a region to post the report to, whose
    /// console then lists it with its timeline; repeat for several regions.
    /// Default: every region of the running `meridian up`, if one runs.
    #[arg(long, value_name = "HOST:PORT")]
    pub post_to: Vec<std::net::SocketAddr>,
    /// Node config file the drill's regions run with, e.g. one with
    /// `[api_tls]` and `auth = "sigv4"`: the drill then speaks HTTPS to
    /// them (trusting the cluster CA beside `api_tls.cert_file`) and signs
    /// its requests with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and
    /// AWS_SESSION_TOKEN), as the AWS CLI takes them. Default: plain HTTP,
    /// no authentication.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs a drill; fails unless it passes.
pub fn run(args: DrillArgs) -> anyhow::Result<()> {
    crate::telemetry::init("warn");
    let script = Script::load(&args.file)
        .and_then(|script| script.scaled(args.time_scale))
        .with_context(|| format!("read drill {}", args.file.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    runtime.block_on(drill(args, script))
}

async fn drill(args: DrillArgs, script: Script) -> anyhow::Result<()> {
    let began = Instant::now();
    eprintln!("drill {}: {}", script.name, script.description.trim());
    let dir = std::env::temp_dir().join(format!("meridian-drill-{}-{}", script.name, std::process::id()));
    let cluster = Arc::new(DrillCluster::start(&script, dir.clone(), args.config.as_deref()).await?);
    eprintln!(
        "drill {}: {} regions up in {:.1} s (data in {})",
        script.name,
        script.regions.len(),
        began.elapsed().as_secs_f64(),
        dir.display()
    );

    let ledger = Arc::new(Ledger::default());
    let (stop, stopping) = watch::channel(false);
    let started = Instant::now();
    let regions: Vec<(String, Arc<ApiClient>)> = cluster.names().into_iter().zip(cluster.apis.clone()).collect();
    let mut clients = workload::spawn_clients(&script.workload, &regions, ledger.clone(), started, stopping.clone());
    let poller = tokio::spawn(report::poll_lag(
        cluster.addrs(),
        cluster.access.clone(),
        started,
        stopping.clone(),
    ));
    let progress = tokio::spawn(report::progress(
        script.duration_s,
        ledger.clone(),
        started,
        stopping.clone(),
    ));
    let journal = events::run(&script, cluster.clone(), ledger.clone(), started).await;
    tokio::time::sleep_until((started + Duration::from_secs_f64(script.duration_s)).into()).await;
    let _ = stop.send(true);
    while clients.join_next().await.is_some() {}
    let workload_s = started.elapsed().as_secs_f64();
    let _ = progress.await;
    eprintln!("\ndrill {}: workload done; waiting for convergence", script.name);

    let settle = Duration::from_secs_f64(script.settle_s);
    let journal = journal.finish(settle).await;
    let settle_started = Instant::now();
    let converged = check::converge(&cluster.apis, settle).await;
    let settled_in = settle_started.elapsed();
    let lag_timeline = poller.await.unwrap_or_default();
    let finals = report::final_status(&cluster).await;
    let verdict = match &converged {
        Ok(items) => check::verify(items, &ledger.records()),
        Err(_) => check::Verdict::default(),
    };
    let outcome = report::Outcome {
        script: &script,
        file: &args.file,
        time_scale: args.time_scale,
        workload_s,
        total_s: began.elapsed().as_secs_f64(),
        settled_in,
        ledger: &ledger,
        converged: converged
            .as_ref()
            .map(|items| items.len())
            .map_err(|sizes| sizes.clone()),
        verdict,
        journal,
        lag_timeline,
        finals,
        names: cluster.names(),
    };
    let report = report::write(&outcome, &args.out)?;
    let passed = report["passed"] == serde_json::Value::Bool(true);
    match Arc::try_unwrap(cluster) {
        Ok(cluster) => cluster.shutdown(args.keep).await,
        Err(_) => tracing::warn!("drill cluster still in use at exit; regions stop with this process"),
    }
    post::post_report(&report, &post::targets(&args.post_to)).await;
    anyhow::ensure!(passed, "drill {} failed", script.name);
    Ok(())
}
