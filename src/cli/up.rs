//! `meridian up`: every region of a topology on this machine, one child
//! process (`meridian serve`) per region, supervised: a region that exits
//! unexpectedly is reported and restarted with backoff; Ctrl-C (or SIGTERM)
//! stops them all cleanly.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::config::Topology;
use crate::replication::tls::ClusterCa;

/// How long a region may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a region may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait before restarting a region that keeps exiting.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(10);

/// Arguments of `meridian up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Topology file listing the regions.
    #[arg(long, default_value_os_t = super::default_topology())]
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

async fn supervise(args: UpArgs, topology: Topology) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("find the meridian binary")?;
    let (stop, stopping) = watch::channel(false);
    let mut supervisors = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(topology.region.len());
    for region in &topology.region {
        let spawn = SpawnSpec {
            exe: exe.clone(),
            topology: args.topology.clone(),
            data_dir: args.data_dir.clone(),
            config: args.config.clone(),
            region: region.name.clone(),
        };
        supervisors.push(tokio::spawn(supervise_region(
            spawn,
            stopping.clone(),
            ready_tx.clone(),
        )));
    }
    drop(ready_tx);
    let mut ready = 0;
    while ready < topology.region.len() {
        tokio::select! {
            line = ready_rx.recv() => match line {
                Some(line) => {
                    println!("{line}");
                    ready += 1;
                }
                None => break,
            },
            _ = crate::telemetry::wait_for_stop_signal() => {
                let _ = stop.send(true);
                break;
            }
        }
    }
    if ready == topology.region.len() {
        let first = &topology.region[0];
        println!(
            "meridian: {} regions up (data in {}). Try: aws dynamodb list-tables --endpoint-url http://{}",
            ready,
            args.data_dir.display(),
            first.api
        );
        println!("meridian: press Ctrl-C to stop every region");
        crate::telemetry::wait_for_stop_signal().await;
    }
    let _ = stop.send(true);
    for supervisor in supervisors {
        let _ = supervisor.await;
    }
    println!("meridian: all regions stopped");
    Ok(())
}

struct SpawnSpec {
    exe: PathBuf,
    topology: PathBuf,
    data_dir: PathBuf,
    config: Option<PathBuf>,
    region: String,
}

impl SpawnSpec {
    fn spawn(&self) -> anyhow::Result<Child> {
        let mut command = Command::new(&self.exe);
        command
            .arg("serve")
            .arg("--topology")
            .arg(&self.topology)
            .arg("--region")
            .arg(&self.region)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        command.spawn().with_context(|| format!("start region {}", self.region))
    }
}

/// Keeps one region running until `stopping`; forwards its ready line.
async fn supervise_region(
    spec: SpawnSpec,
    mut stopping: watch::Receiver<bool>,
    ready: tokio::sync::mpsc::Sender<String>,
) {
    let mut delay = Duration::from_millis(500);
    let mut announced = false;
    loop {
        let mut child = match spec.spawn() {
            Ok(child) => child,
            Err(error) => {
                tracing::error!(region = %spec.region, error = %error, "cannot start region");
                return;
            }
        };
        if let Some(stdout) = child.stdout.take() {
            let (region, ready) = (spec.region.clone(), ready.clone());
            let first = !announced;
            tokio::spawn(forward_output(stdout, region, first.then_some(ready)));
            announced = true;
        }
        let exited = tokio::select! {
            status = child.wait() => Some(status),
            _ = stopping.wait_for(|s| *s) => None,
        };
        let Some(status) = exited else {
            stop_child(&mut child, &spec.region).await;
            return;
        };
        let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
        tracing::warn!(region = %spec.region, %status, "region exited unexpectedly; restarting in {delay:?}");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        delay = (delay * 2).min(MAX_RESTART_DELAY);
    }
}

/// Forwards a region's stdout; the first ready line also goes to `ready`.
async fn forward_output(
    stdout: tokio::process::ChildStdout,
    region: String,
    mut ready: Option<tokio::sync::mpsc::Sender<String>>,
) {
    let mut lines = BufReader::new(stdout).lines();
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(_) => return,
            Err(_) if ready.is_some() => {
                tracing::warn!(region = %region, "region did not report ready in {READY_TIMEOUT:?}");
                ready = None;
                continue;
            }
            Err(_) => match lines.next_line().await {
                Ok(Some(line)) => line,
                _ => return,
            },
        };
        match ready.take() {
            Some(tx) if line.contains("serving DynamoDB API") => {
                let _ = tx.send(line).await;
            }
            other => {
                ready = other;
                println!("{line}");
            }
        }
    }
}

/// SIGTERM, then SIGKILL if the region does not stop in time.
async fn stop_child(child: &mut Child, region: &str) {
    if let Some(pid) = child.id() {
        send_signal(pid, libc::SIGTERM);
    }
    if tokio::time::timeout(STOP_TIMEOUT, child.wait()).await.is_err() {
        tracing::warn!(region = %region, "region did not stop in time; killing it");
        let _ = child.kill().await;
    }
}

/// Sends `signal` to process `pid`.
pub fn send_signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; a stale pid at worst
    // signals nothing (ESRCH), which is ignored.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}
