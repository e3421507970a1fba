//! One child process (`meridian serve`) per region, supervised: a region
//! that exits on its own is reported and restarted with backoff; a region
//! can be stopped (SIGTERM), killed (SIGKILL), paused (SIGSTOP, a hung
//! region) and started again (or resumed, SIGCONT) on command. Used by
//! `meridian up` (commands arrive through its control endpoint) and by
//! `meridian drill` (commands come from the drill's script).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// How long a region may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a region may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait before restarting a region that keeps exiting.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(10);
/// Commands waiting for one region's supervisor.
const COMMAND_QUEUE: usize = 8;

/// What can be done to a supervised region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RegionAction {
    /// SIGTERM: a clean stop; the region stays down until `start`.
    Stop,
    /// SIGKILL: a crash; the region stays down until `start`.
    Kill,
    /// Start a stopped or killed region, or resume a paused one.
    Start,
    /// SIGSTOP: the process freezes, as a hung region would.
    Pause,
    /// SIGKILL, then its data directory is deleted: the region lost its
    /// disk. It stays down until `start`, which brings it back empty, as a
    /// new incarnation its peers resynchronise.
    Wipe,
}

/// How to start one region's process.
#[derive(Clone, Debug)]
pub struct SpawnSpec {
    pub exe: PathBuf,
    /// Topology file; `None`: the built-in topology.
    pub topology: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub config: Option<PathBuf>,
    pub region: String,
    /// Where the region's log (stderr) goes; `None` inherits ours.
    pub log: Option<PathBuf>,
    /// Print the region's stdout lines (after the ready line).
    pub echo: bool,
    /// `Some`: the region keeps its store in memory and gets the cluster
    /// CA (certificate and key, PEM) in its environment rather than from
    /// files.
    pub in_memory_ca: Option<(String, String)>,
    /// `meridian up`'s control endpoint, handed to the region (see
    /// `api::up_control`).
    pub up_control: Option<std::net::SocketAddr>,
}

impl SpawnSpec {
    fn spawn(&self) -> anyhow::Result<Child> {
        let mut command = Command::new(&self.exe);
        command.arg("serve");
        match &self.topology {
            Some(topology) => command.arg("--topology").arg(topology),
            None => command.arg("--builtin-topology"),
        };
        if let Some((cert, key)) = &self.in_memory_ca {
            command
                .arg("--in-memory")
                .env(super::common::CA_CERT_ENV, cert)
                .env(super::common::CA_KEY_ENV, key);
        }
        if let Some(control) = self.up_control {
            command.env(super::common::UP_CONTROL_ENV, control.to_string());
        }
        command
            .arg("--region")
            .arg(&self.region)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        match &self.log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("open {}", path.display()))?;
                command.stderr(file);
            }
            None => {
                command.stderr(Stdio::inherit());
            }
        }
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        command.spawn().with_context(|| format!("start region {}", self.region))
    }
}

type Reply = oneshot::Sender<Result<String, String>>;

/// Sends commands to supervised regions; cheap to clone.
#[derive(Clone)]
pub struct RegionControl {
    commands: Arc<HashMap<String, mpsc::Sender<(RegionAction, Reply)>>>,
}

impl RegionControl {
    /// Applies `action` to `region`; returns what happened.
    pub async fn command(&self, region: &str, action: RegionAction) -> anyhow::Result<String> {
        let sender = self
            .commands
            .get(region)
            .ok_or_else(|| anyhow::anyhow!("no region {region} in this cluster"))?;
        let (reply, answer) = oneshot::channel();
        sender
            .send((action, reply))
            .await
            .map_err(|_| anyhow::anyhow!("region {region} is no longer supervised"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("region {region}'s supervisor stopped"))?
            .map_err(|e| anyhow::anyhow!(e))
    }
}

/// Every region's supervisor task and its command channel.
pub struct Supervisor {
    control: RegionControl,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Supervisor {
    /// Starts every region; each first ready line goes to `ready`.
    pub fn start(specs: Vec<SpawnSpec>, ready: mpsc::Sender<String>) -> Supervisor {
        let (stop, stopping) = watch::channel(false);
        let mut commands = HashMap::new();
        let mut tasks = Vec::new();
        for spec in specs {
            let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
            commands.insert(spec.region.clone(), tx);
            tasks.push(tokio::spawn(supervise_region(
                spec,
                stopping.clone(),
                ready.clone(),
                rx,
            )));
        }
        let control = RegionControl {
            commands: Arc::new(commands),
        };
        Supervisor { control, tasks, stop }
    }

    /// A handle for sending commands to the regions.
    pub fn control(&self) -> RegionControl {
        self.control.clone()
    }

    /// Stops every region cleanly and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Keeps one region running until `stopping`, obeying commands.
async fn supervise_region(
    spec: SpawnSpec,
    mut stopping: watch::Receiver<bool>,
    ready: mpsc::Sender<String>,
    mut commands: mpsc::Receiver<(RegionAction, Reply)>,
) {
    let mut delay = Duration::from_millis(500);
    let mut announced = false;
    let mut open = true;
    loop {
        let mut child = match spec.spawn() {
            Ok(child) => child,
            Err(error) => {
                tracing::error!(region = %spec.region, error = %error, "cannot start region");
                return;
            }
        };
        if let Some(stdout) = child.stdout.take() {
            let first = (!announced).then(|| ready.clone());
            tokio::spawn(forward_output(stdout, spec.region.clone(), first, spec.echo));
            announced = true;
        }
        // Runs the child until it exits, is taken down on command, or
        // everything stops.
        let held_down = loop {
            tokio::select! {
                status = child.wait() => {
                    let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                    tracing::warn!(region = %spec.region, %status, "region exited unexpectedly; restarting in {delay:?}");
                    break false;
                }
                command = commands.recv(), if open => {
                    let Some((action, reply)) = command else {
                        open = false;
                        continue;
                    };
                    match act_on_running(&mut child, &spec, action).await {
                        Ok((message, down)) => {
                            let _ = reply.send(Ok(message));
                            if down {
                                break true;
                            }
                        }
                        Err(message) => {
                            let _ = reply.send(Err(message));
                        }
                    }
                }
                _ = stopped(&mut stopping) => {
                    stop_child(&mut child, &spec.region).await;
                    return;
                }
            }
        };
        if held_down {
            // Down on command: wait for `start`.
            loop {
                tokio::select! {
                    command = commands.recv() => match command {
                        Some((RegionAction::Start, reply)) => {
                            let _ = reply.send(Ok(format!("region {} starting", spec.region)));
                            delay = Duration::from_millis(500);
                            break;
                        }
                        Some((RegionAction::Wipe, reply)) => {
                            let wiped = wipe_data(&spec).await;
                            let _ = reply.send(wiped.map(|m| format!("region {} is down; {m}", spec.region)));
                        }
                        Some((action, reply)) => {
                            let _ = reply.send(Err(format!("region {} is down; cannot {} it", spec.region, format!("{action:?}").to_lowercase())));
                        }
                        // Nobody can start it again.
                        None => return,
                    },
                    _ = stopped(&mut stopping) => return,
                }
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stopped(&mut stopping) => return,
        }
        delay = (delay * 2).min(MAX_RESTART_DELAY);
    }
}

/// Deletes a stopped region's data directory (see `RegionAction::Wipe`).
async fn wipe_data(spec: &SpawnSpec) -> Result<String, String> {
    let dir = spec.data_dir.join(&spec.region);
    let target = dir.clone();
    let removed = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(target))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    match removed {
        Ok(()) => Ok(format!(
            "its data directory {} is deleted; `start` brings it back empty, and its peers resynchronise it",
            dir.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(format!("{} holds no data", dir.display())),
        Err(e) => Err(format!("cannot delete {}: {e}", dir.display())),
    }
}

/// Applies a command to a running child; returns a message and whether the
/// region is now down.
async fn act_on_running(child: &mut Child, spec: &SpawnSpec, action: RegionAction) -> Result<(String, bool), String> {
    let region = spec.region.as_str();
    let pid = child
        .id()
        .ok_or_else(|| format!("region {region} has already exited"))?;
    match action {
        RegionAction::Stop => {
            stop_child(child, region).await;
            Ok((format!("region {region} stopped"), true))
        }
        RegionAction::Kill => {
            send_signal(pid, libc::SIGKILL);
            let _ = child.wait().await;
            Ok((format!("region {region} killed (SIGKILL)"), true))
        }
        RegionAction::Wipe => {
            send_signal(pid, libc::SIGKILL);
            let _ = child.wait().await;
            // Killed either way: a failed delete leaves it down on its data.
            let message = wipe_data(spec).await.unwrap_or_else(|e| e);
            Ok((format!("region {region} killed (SIGKILL); {message}"), true))
        }
        RegionAction::Pause => {
            send_signal(pid, libc::SIGSTOP);
            Ok((format!("region {region} paused (SIGSTOP); `start` resumes it"), false))
        }
        RegionAction::Start => {
            // Harmless on a running process; resumes a paused one.
            send_signal(pid, libc::SIGCONT);
            Ok((format!("region {region} running"), false))
        }
    }
}

/// Forwards a region's stdout; the first ready line goes to `ready`.
async fn forward_output(
    stdout: tokio::process::ChildStdout,
    region: String,
    mut ready: Option<mpsc::Sender<String>>,
    echo: bool,
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
                if echo {
                    super::common::say(format_args!("{line}"));
                }
            }
        }
    }
}

/// SIGTERM (and SIGCONT, in case it is paused), then SIGKILL if the region
/// does not stop in time.
async fn stop_child(child: &mut Child, region: &str) {
    if let Some(pid) = child.id() {
        send_signal(pid, libc::SIGTERM);
        send_signal(pid, libc::SIGCONT);
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

/// Completes once `stopping` turns true (or its sender is gone); holds no
/// borrow of the channel, so it can sit in a `select!` across awaits.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}
