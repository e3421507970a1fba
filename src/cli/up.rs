//! `meridian up`: every region of a topology on this machine, one child
//! process (`meridian serve`) per region, supervised (see `supervisor.rs`);
//! Ctrl-C (or SIGTERM) stops them all cleanly.
//!
//! `up` also answers region commands (`meridian region stop|kill|start|pause`)
//! on a control endpoint bound to a free loopback port, whose address it
//! writes to `DATA_DIR/up.control` and, with its topology, to a per-user
//! record (see `locate.rs`) so the commands find it from any directory.
//!
//! With `--in-memory` every region keeps its store in memory and nothing is
//! written to the data directory: the cluster CA is made in memory and
//! handed to the regions in their environment.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use clap::Args;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::common::CONTROL_FILE;
use super::locate::{TopologySource, UpRecord, load_topology};
use super::supervisor::{RegionAction, RegionControl, SpawnSpec, Supervisor};
use crate::config::Topology;
use crate::replication::tls::ClusterCa;

/// Arguments of `meridian up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Topology file listing the regions (default: regions/local.toml if
    /// present, else the built-in three-region topology).
    #[arg(long)]
    pub topology: Option<PathBuf>,
    /// Root data directory; each region keeps its files in DIR/REGION.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Node settings file passed to every region.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Keep every region's store in memory: no files, everything gone when
    /// `up` stops (a region restarted by `region start` comes back empty and
    /// is resynchronised by its peers).
    #[arg(long)]
    pub in_memory: bool,
}

/// Runs `meridian up` until Ctrl-C or SIGTERM.
pub fn run(args: UpArgs) -> anyhow::Result<()> {
    crate::telemetry::init("info");
    let (topology, source) = load_topology(args.topology.as_deref())?;
    if let Some(config) = &args.config {
        crate::config::NodeConfig::load(config)?;
    }
    let in_memory_ca = if args.in_memory {
        Some(
            ClusterCa::generate(&topology.cluster)
                .context("create the cluster CA")?
                .to_pem(),
        )
    } else {
        ClusterCa::load_or_create(&args.data_dir, &topology.cluster, true).context("create the cluster CA")?;
        None
    };
    let specs = region_specs(&topology, &source, &args, in_memory_ca)?;
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    runtime.block_on(supervise(args, topology, specs))
}

/// The spawn specs of every region of `topology`.
fn region_specs(
    topology: &Topology,
    source: &TopologySource,
    args: &UpArgs,
    in_memory_ca: Option<(String, String)>,
) -> anyhow::Result<Vec<SpawnSpec>> {
    let exe = std::env::current_exe().context("find the meridian binary")?;
    let topology_file = match source {
        TopologySource::File(path) => Some(path.clone()),
        TopologySource::Builtin => None,
    };
    Ok(topology
        .region
        .iter()
        .map(|region| SpawnSpec {
            exe: exe.clone(),
            topology: topology_file.clone(),
            data_dir: args.data_dir.clone(),
            config: args.config.clone(),
            region: region.name.clone(),
            log: None,
            echo: true,
            in_memory_ca: in_memory_ca.clone(),
            up_control: None,
        })
        .collect())
}

async fn supervise(args: UpArgs, topology: Topology, mut specs: Vec<SpawnSpec>) -> anyhow::Result<()> {
    // Bound first, so that every region is told where it is (the console
    // passes region commands to it).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    for spec in &mut specs {
        spec.up_control = Some(listener.local_addr()?);
    }
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(topology.region.len());
    let supervisor = Supervisor::start(specs, ready_tx);
    let (stop, stopping) = watch::channel(false);
    let control = serve_control(listener, &args, &topology, supervisor.control(), stopping).await?;
    let mut ready = 0;
    let mut interrupted = false;
    while ready < topology.region.len() {
        tokio::select! {
            line = ready_rx.recv() => match line {
                Some(line) => {
                    super::common::say(format_args!("{line}"));
                    ready += 1;
                }
                None => break,
            },
            _ = crate::telemetry::wait_for_stop_signal() => {
                interrupted = true;
                break;
            }
        }
    }
    if ready == topology.region.len() && !interrupted {
        let stored = if args.in_memory {
            "in memory".to_string()
        } else {
            format!("data in {}", args.data_dir.display())
        };
        super::common::say(format_args!(
            "meridian: {ready} regions up ({stored}). Try, in another terminal:"
        ));
        for line in try_lines(&topology) {
            super::common::say(format_args!("  {line}"));
        }
        super::common::say(format_args!(
            "meridian: console at {} (every region serves one at /console)",
            console_url(topology.region[0].api)
        ));
        super::common::say(format_args!("meridian: press Ctrl-C to stop every region"));
        crate::telemetry::wait_for_stop_signal().await;
    }
    let _ = stop.send(true);
    let _ = control.await;
    if !args.in_memory {
        let _ = std::fs::remove_file(args.data_dir.join(CONTROL_FILE));
    }
    super::locate::remove_up_record();
    supervisor.shutdown().await;
    super::common::say(format_args!("meridian: all regions stopped"));
    Ok(())
}

/// The shell lines `up` suggests: the README's, with the first region's
/// endpoint.
pub fn try_lines(topology: &Topology) -> Vec<String> {
    let first = &topology.region[0];
    vec![
        "export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local".to_string(),
        // The SDKs for JavaScript and Java read AWS_REGION; the CLI and
        // boto3 AWS_DEFAULT_REGION.
        format!(
            "export AWS_REGION={0} AWS_DEFAULT_REGION={0} AWS_ENDPOINT_URL=http://{1}",
            first.name, first.api
        ),
        "aws dynamodb list-tables".to_string(),
    ]
}

/// The console of the region whose API listens on `api`, as a browser on
/// this machine reaches it (an unspecified address is reached on loopback).
pub fn console_url(api: std::net::SocketAddr) -> String {
    let mut api = api;
    if api.ip().is_unspecified() {
        api.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{api}/console")
}

/// Serves `POST /regions/{name}/{action}` on `listener` until
/// `stopping`, and records its address: in the data directory (unless in
/// memory) and in the per-user record.
async fn serve_control(
    listener: tokio::net::TcpListener,
    args: &UpArgs,
    topology: &Topology,
    control: RegionControl,
    mut stopping: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let addr = listener.local_addr()?;
    if !args.in_memory {
        write_control_file(&args.data_dir, &addr.to_string())?;
    }
    let record = UpRecord {
        pid: std::process::id(),
        control: addr.to_string(),
        data_dir: (!args.in_memory).then(|| std::path::absolute(&args.data_dir).unwrap_or(args.data_dir.clone())),
        topology: topology.clone(),
        config: args
            .config
            .as_ref()
            .map(|c| std::path::absolute(c).unwrap_or(c.clone())),
    };
    // Commands run here still find `up` through the data directory.
    if let Err(error) = super::locate::write_up_record(&record) {
        tracing::warn!(%error, "cannot record where `meridian up` runs; commands run elsewhere will not find it");
    }
    let app = Router::new()
        .route("/regions/{name}/{action}", post(handle_region_command))
        .layer(axum::middleware::from_fn(super::control::guard_control))
        .with_state(Arc::new(control));
    let shutdown = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    Ok(tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(shutdown).await
    }))
}

/// Writes `addr` to `DATA_DIR/up.control`, aside and renamed into place,
/// so a command that sees the file never reads half an address.
fn write_control_file(data_dir: &Path, addr: &str) -> anyhow::Result<()> {
    let partial = data_dir.join(format!("{CONTROL_FILE}.partial"));
    std::fs::write(&partial, addr).context("write the control file")?;
    std::fs::rename(&partial, data_dir.join(CONTROL_FILE)).context("write the control file")?;
    Ok(())
}

async fn handle_region_command(
    State(control): State<Arc<RegionControl>>,
    UrlPath((name, action)): UrlPath<(String, String)>,
) -> (StatusCode, Json<Value>) {
    let action = match action.as_str() {
        "stop" => RegionAction::Stop,
        "kill" => RegionAction::Kill,
        "start" => RegionAction::Start,
        "pause" => RegionAction::Pause,
        "wipe" => RegionAction::Wipe,
        other => {
            let message = format!("unknown action {other}: use stop, kill, start, pause or wipe");
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": message })));
        }
    };
    match control.command(&name, action).await {
        Ok(message) => {
            tracing::info!(region = %name, ?action, "{message}");
            (StatusCode::OK, Json(json!({ "message": message })))
        }
        Err(error) => (StatusCode::CONFLICT, Json(json!({ "error": error.to_string() }))),
    }
}

#[cfg(test)]
mod tests {
    /// The README's tour starts with the lines `up` prints, so what a new
    /// user pastes from either is the same.
    #[test]
    fn the_printed_hint_is_the_readmes() {
        let readme = include_str!("../../README.md");
        let topology = crate::config::Topology::builtin().unwrap();
        let lines = super::try_lines(&topology);
        let block = lines.join("\n");
        assert!(
            readme.contains(&format!("```sh\n{block}\n```")),
            "README lacks:\n{block}"
        );
    }
}
