//! `meridian up`: every region of a topology on this machine, one child
//! process (`meridian serve`) per region, supervised (see `supervisor.rs`);
//! Ctrl-C (or SIGTERM) stops them all cleanly.
//!
//! `up` also answers region commands (`meridian region stop|kill|start|pause`)
//! on a control endpoint bound to a free loopback port, whose address it
//! writes to `DATA_DIR/up.control` so the commands can find it.

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

use super::supervisor::{RegionAction, RegionControl, SpawnSpec, Supervisor};
use crate::config::Topology;
use crate::replication::tls::ClusterCa;

/// File in the data directory holding the control endpoint's address.
pub const CONTROL_FILE: &str = "up.control";

/// Arguments of `meridian up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Topology file listing the regions.
    #[arg(long, default_value_os_t = super::common::default_topology())]
    pub topology: PathBuf,
    /// Root data directory; each region keeps its files in DIR/REGION.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Node settings file passed to every region.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs `meridian up` until Ctrl-C or SIGTERM.
pub fn run(args: UpArgs) -> anyhow::Result<()> {
    crate::telemetry::init("info");
    let topology = Topology::load(&args.topology)?;
    if let Some(config) = &args.config {
        crate::config::NodeConfig::load(config)?;
    }
    ClusterCa::load_or_create(&args.data_dir, &topology.cluster, true).context("create the cluster CA")?;
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    runtime.block_on(supervise(args, topology))
}

/// The spawn specs of every region of `topology`.
pub fn region_specs(
    topology: &Topology,
    topology_file: &Path,
    data_dir: &Path,
    config: Option<&PathBuf>,
) -> anyhow::Result<Vec<SpawnSpec>> {
    let exe = std::env::current_exe().context("find the meridian binary")?;
    Ok(topology
        .region
        .iter()
        .map(|region| SpawnSpec {
            exe: exe.clone(),
            topology: topology_file.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            config: config.cloned(),
            region: region.name.clone(),
            log: None,
            echo: true,
        })
        .collect())
}

async fn supervise(args: UpArgs, topology: Topology) -> anyhow::Result<()> {
    let specs = region_specs(&topology, &args.topology, &args.data_dir, args.config.as_ref())?;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(topology.region.len());
    let supervisor = Supervisor::start(specs, ready_tx);
    let (stop, stopping) = watch::channel(false);
    let control = serve_control(&args.data_dir, supervisor.control(), stopping).await?;
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
        let first = &topology.region[0];
        super::common::say(format_args!(
            "meridian: {} regions up (data in {}). Try: aws dynamodb list-tables --endpoint-url http://{}",
            ready,
            args.data_dir.display(),
            first.api
        ));
        super::common::say(format_args!("meridian: press Ctrl-C to stop every region"));
        crate::telemetry::wait_for_stop_signal().await;
    }
    let _ = stop.send(true);
    let _ = control.await;
    let _ = std::fs::remove_file(args.data_dir.join(CONTROL_FILE));
    supervisor.shutdown().await;
    super::common::say(format_args!("meridian: all regions stopped"));
    Ok(())
}

/// Serves `POST /regions/{name}/{action}` on a free loopback port until
/// `stopping`, and writes its address to the control file.
async fn serve_control(
    data_dir: &Path,
    control: RegionControl,
    mut stopping: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // Written aside and renamed into place, so a command that sees the file
    // never reads half an address.
    let partial = data_dir.join(format!("{CONTROL_FILE}.partial"));
    std::fs::write(&partial, addr.to_string()).context("write the control file")?;
    std::fs::rename(&partial, data_dir.join(CONTROL_FILE)).context("write the control file")?;
    let app = Router::new()
        .route("/regions/{name}/{action}", post(handle_region_command))
        .with_state(Arc::new(control));
    let shutdown = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    Ok(tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(shutdown).await
    }))
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
