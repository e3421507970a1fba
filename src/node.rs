//! One region as a running unit: opens its engine, serves the API, runs
//! replication, and shuts down in a fixed order (API, replication, then the
//! writer) on one signal. Tests start nodes in-process on port 0 by binding
//! the sockets first and passing them in.

use std::net::{SocketAddr, TcpListener as StdTcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, ApiState};
use crate::chaos::LinkControl;
use crate::clock::Hlc;
use crate::config::{NodeConfig, Topology};
use crate::engine::{Engine, EngineError};
use crate::pitr::Pitr;
use crate::replication::tls::RegionTls;
use crate::replication::{Replication, ReplicationOptions};
use crate::workers::Workers;
use crate::workers::history::Collector;
use crate::workers::index_backfill::{self, Backfill, BackfillStatus};
use crate::workers::trimmer::{Trimmer, TrimmerSetup, TrimmerStatus};
use crate::workers::ttl::{Sweeper, SweeperStatus};

/// Connections the API socket queues until the server accepts them. std
/// listens with 128: in a burst of connects beyond that (clients
/// reconnecting together after a drill restarts a region, or opening their
/// pools at once), the kernel drops the handshakes that do not fit and the
/// clients retry them a second or more later. 1024 is what tokio's own
/// `bind` asks for; the kernel caps it at `net.core.somaxconn`.
const API_BACKLOG: i32 = 1024;

/// Largest clock offset tolerated from peers before it is reported.
const MAX_CLOCK_OFFSET: Duration = Duration::from_millis(500);

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot open the region's store: {0}")]
    Engine(#[from] EngineError),
    #[error("cannot start replication: {0}")]
    Replication(String),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
}

/// The API's TLS configuration `config` asks for, if any; a certificate or
/// key that cannot be used stops the region with the reason.
fn api_tls(config: &crate::config::ApiTlsConfig) -> Result<Option<Arc<rustls::ServerConfig>>, NodeError> {
    if !config.enabled() {
        return Ok(None);
    }
    let (cert, key) = (PathBuf::from(&config.cert_file), PathBuf::from(&config.key_file));
    crate::replication::tls::api_server_config(&cert, &key)
        .map(Some)
        .map_err(|e| NodeError::Config(crate::config::ConfigError::Invalid(format!("api_tls: {e}"))))
}

/// What a node needs to start.
pub struct NodeOptions {
    pub topology: Topology,
    /// The region of `topology` to run.
    pub region: String,
    /// Root data directory; the region keeps its files in `<root>/<region>`.
    pub data_root: PathBuf,
    pub config: NodeConfig,
    /// TLS identity for replication; `None` runs without peers.
    pub tls: Option<RegionTls>,
    /// Already-bound API listener (else the topology's `api` is bound).
    pub api_listener: Option<StdTcpListener>,
    /// Already-bound QUIC socket (else the topology's `peer` is bound).
    pub peer_socket: Option<UdpSocket>,
    /// The clock capacity buckets refill on (else the system's): tests
    /// inject a manual one so that refills never wait on the wall clock.
    pub capacity_clock: Option<Arc<dyn crate::capacity::CapacityClock>>,
    /// `meridian up`'s control endpoint, when `up` runs this region (the
    /// console passes region commands to it).
    pub up_control: Option<SocketAddr>,
}

impl NodeOptions {
    /// Options for `region` of `topology` with default settings, binding the
    /// topology's addresses.
    pub fn new(topology: Topology, region: &str, data_root: PathBuf) -> NodeOptions {
        NodeOptions {
            topology,
            region: region.to_string(),
            data_root,
            config: NodeConfig::default(),
            tls: None,
            api_listener: None,
            peer_socket: None,
            capacity_clock: None,
            up_control: None,
        }
    }
}

/// A running region.
pub struct Node {
    /// Where the DynamoDB API listens.
    pub api_addr: SocketAddr,
    /// Where the QUIC endpoint listens, when replicating.
    pub peer_addr: Option<SocketAddr>,
    engine: Engine,
    stop: Arc<watch::Sender<bool>>,
    /// Why the region stopped by itself (its writer died), once it has.
    failure: watch::Receiver<Option<String>>,
    api_task: JoinHandle<()>,
    replication: Option<Replication>,
    pitr: Pitr,
    workers: Workers,
    ttl_status: Arc<SweeperStatus>,
    trim_status: Arc<TrimmerStatus>,
}

impl Node {
    /// Opens the region's store and starts serving and replicating.
    pub async fn start(options: NodeOptions) -> Result<Node, NodeError> {
        let region = options.topology.region(&options.region)?.clone();
        let refuse = |e: crate::auth::AuthError| NodeError::Config(crate::config::ConfigError::Invalid(e.to_string()));
        let auth = crate::auth::Auth::from_config(&options.config, &region.name).map_err(refuse)?;
        let admin = crate::auth::admin::AdminGate::from_config(&options.config.admin).map_err(refuse)?;
        let api_tls = api_tls(&options.config.api_tls)?;
        let bind_err = |addr| move |source| NodeError::Bind { addr, source };
        let listener = api_listener(options.api_listener, region.api).map_err(bind_err(region.api))?;
        let listener = TcpListener::from_std(listener).map_err(bind_err(region.api))?;
        let api_addr = listener.local_addr().map_err(bind_err(region.api))?;

        let hlc = Hlc::new(region.clock_offset_ms, MAX_CLOCK_OFFSET);
        let dir = options.data_root.join(&region.name);
        let storage = options.config.storage.clone();
        let name = region.name.clone();
        let pitr_dir = dir.clone();
        let engine = tokio::task::spawn_blocking(move || Engine::open(&dir, &name, hlc, &storage))
            .await
            .map_err(|_| EngineError::Stopped)??;
        engine.set_item_collection_limit(options.config.limits.item_collection_bytes);
        declare_tables(&engine, &options.topology).await?;

        let peers: Vec<_> = options
            .topology
            .region
            .iter()
            .filter(|r| r.name != region.name)
            .cloned()
            .collect();
        let peer_names: Vec<String> = peers.iter().map(|p| p.name.clone()).collect();
        let links = Arc::new(LinkControl::new(
            &region.name,
            &peer_names,
            options.topology.links_from(&region.name),
        ));
        let clock = options
            .capacity_clock
            .unwrap_or_else(crate::capacity::SystemClock::shared);
        let capacity = Arc::new(crate::capacity::Capacity::new(
            options.config.capacity.clone(),
            clock,
            &region.name,
        ));
        let replication = match options.tls {
            Some(tls) if !peers.is_empty() => {
                let socket = match options.peer_socket {
                    Some(socket) => socket,
                    None => UdpSocket::bind(region.peer).map_err(bind_err(region.peer))?,
                };
                let replication_options = ReplicationOptions {
                    cluster: options.topology.cluster.clone(),
                    region: region.name.clone(),
                    peers,
                    tls,
                    socket,
                    links: links.clone(),
                    capacity: capacity.clone(),
                };
                Some(
                    Replication::start(engine.clone(), replication_options)
                        .map_err(|e| NodeError::Replication(e.to_string()))?,
                )
            }
            _ => None,
        };
        let peer_addr = replication.as_ref().and_then(|r| r.local_addr().ok());

        install_panic_hook();
        let (stop, mut stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let (failed, failure) = watch::channel(None);
        let supervisor = Supervisor {
            region: region.name.clone(),
            stop: stop.clone(),
            failed: Arc::new(failed),
        };
        tokio::spawn(watch_writer(engine.subscribe_commits(), supervisor.clone()));
        let mut state = ApiState::new(engine.clone(), options.config.clone(), format!("{api_addr}"));
        state.peers = replication.as_ref().map(|r| r.status());
        state.auth = auth;
        state.admin = Arc::new(admin);
        state.tls = api_tls;
        state.links = replication.as_ref().map(|_| links.clone());
        state.capacity = capacity;
        state.up_control = options.up_control;
        state.metrics = Arc::new(crate::metrics::Metrics::new(
            engine.clone(),
            state.peers.clone(),
            state.capacity.clone(),
        ));
        if !options.config.storage.in_memory {
            state.settings = Arc::new(crate::api::settings::Settings::open(pitr_dir.join("api-settings.json")));
            state.drills = Arc::new(crate::api::drill_store::DrillReports::open(
                pitr_dir.join("drill-reports"),
            ));
        }
        if let Some(auth) = &state.auth {
            crate::api::load_resource_policies(auth, &state.settings).await;
        }
        let pitr = Pitr::new(engine.clone(), options.config.pitr.clone(), pitr_dir);
        pitr.start().await;
        state.pitr = Some(pitr.clone());
        if replication.is_some() {
            state.regions = options.topology.region.iter().map(|r| r.name.clone()).collect();
        }
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let mut workers = Workers::default();
        let watch = |name, task| supervisor.watch(name, task);
        let ttl_status = Arc::new(SweeperStatus::default());
        let sweeper = Sweeper {
            engine: engine.clone(),
            config: options.config.ttl.clone(),
            status: ttl_status.clone(),
        };
        workers.start(
            &region.name,
            sweeper.interval(),
            sweeper,
            ttl_status.clone(),
            stop.subscribe(),
            watch,
        );
        let backfill_status = Arc::new(BackfillStatus::default());
        let backfill = Backfill {
            engine: engine.clone(),
            status: backfill_status.clone(),
        };
        workers.start(
            &region.name,
            index_backfill::INTERVAL,
            backfill,
            backfill_status,
            stop.subscribe(),
            watch,
        );
        let trim_status = Arc::new(TrimmerStatus::default());
        let trimmer = Trimmer {
            setup: TrimmerSetup {
                engine: engine.clone(),
                interval: Duration::from_millis(options.config.storage.log_trim_interval_ms),
                retention: Duration::from_secs(options.config.streams.retention_secs),
                hold_max: Duration::from_secs(options.config.storage.log_hold_max_secs),
                conflict_retention: Duration::from_secs(options.config.storage.conflict_retention_secs),
                peers: state.peers.clone(),
                peer_names,
            },
            status: trim_status.clone(),
        };
        let interval = trimmer.setup.interval;
        workers.start(
            &region.name,
            interval,
            trimmer,
            trim_status.clone(),
            stop.subscribe(),
            watch,
        );
        let collector = Collector {
            engine: engine.clone(),
            config: options.config.pitr.clone(),
            status: Arc::default(),
        };
        let status = collector.status.clone();
        workers.start(
            &region.name,
            collector.interval(),
            collector,
            status,
            stop.subscribe(),
            watch,
        );
        state.workers = workers.statuses();
        let api_task = supervisor.watch(
            "API server",
            tokio::spawn(api::serve(listener, Arc::new(state), shutdown)),
        );
        tracing::info!(region = %region.name, api = %api_addr, peer = ?peer_addr, "region started");
        Ok(Node {
            api_addr,
            peer_addr,
            engine,
            stop,
            failure,
            api_task,
            replication,
            pitr,
            workers,
            ttl_status,
            trim_status,
        })
    }

    /// The region's engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Replication state of every peer, when the region replicates.
    pub fn peer_status(&self) -> Option<Arc<crate::replication::status::PeerStatus>> {
        self.replication.as_ref().map(|r| r.status())
    }

    /// What the Time to Live sweeper has done.
    pub fn ttl_status(&self) -> Arc<SweeperStatus> {
        self.ttl_status.clone()
    }

    /// What the change-log trimmer has done.
    pub fn trim_status(&self) -> Arc<TrimmerStatus> {
        self.trim_status.clone()
    }

    /// Completes when the region has stopped serving by itself because its
    /// writer thread died (a panic, logged with its cause by the panic
    /// hook), with the reason; never completes otherwise. The caller should
    /// then call [`Node::shutdown`] and exit non-zero, so that `meridian
    /// up`'s supervisor restarts the region.
    pub async fn failed(&self) -> String {
        let mut failure = self.failure.clone();
        match failure.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            // The watcher ended without a failure (a clean shutdown).
            Err(_) => std::future::pending().await,
        }
    }

    /// Stops serving, waits for requests in flight, closes replication
    /// links, stops the background workers (PITR, TTL, log trimming), then stops the
    /// writer after it has committed what was queued.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.api_task.await;
        if let Some(replication) = self.replication {
            replication.shutdown().await;
        }
        self.pitr.shutdown().await;
        self.workers.join().await;
        let engine = self.engine.clone();
        let _ = tokio::task::spawn_blocking(move || engine.shutdown()).await;
        tracing::info!(region = %self.engine.region(), "region stopped");
    }
}

/// The API's listening socket: `bound` (tests bind port 0 first) or a new
/// one on `addr`, listening with `API_BACKLOG` either way (listening again
/// on a listening socket sets its backlog), non-blocking for tokio.
fn api_listener(bound: Option<StdTcpListener>, addr: SocketAddr) -> std::io::Result<StdTcpListener> {
    let listener = match bound {
        Some(listener) => listener,
        None => StdTcpListener::bind(addr)?,
    };
    socket2::SockRef::from(&listener).listen(API_BACKLOG)?;
    listener.set_nonblocking(true)?;
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn").ok();
    if let Some(cap) = backlog_cap(somaxconn.as_deref()) {
        tracing::warn!(
            backlog = cap,
            asked = API_BACKLOG,
            "the kernel caps the API's listen backlog (net.core.somaxconn): connections opened together beyond it \
             wait a second or more for a retry; raise net.core.somaxconn to {API_BACKLOG}"
        );
    }
    Ok(listener)
}

/// The backlog the kernel grants when `net.core.somaxconn` (the contents of
/// its /proc file, if readable) is below `API_BACKLOG`.
fn backlog_cap(somaxconn: Option<&str>) -> Option<i32> {
    let cap: i32 = somaxconn?.trim().parse().ok()?;
    (cap < API_BACKLOG).then_some(cap)
}

/// Logs every panic, on any thread or task, with its cause, its location
/// and the thread it happened on, through `tracing` (so it reaches the
/// region's log with the rest), then runs the previous hook. Installed once
/// per process.
fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let cause = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string panic payload".to_string());
            let location = info.location().map(|l| l.to_string()).unwrap_or_default();
            let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
            tracing::error!(%thread, %location, %cause, "panic");
            previous(info);
        }));
    });
}

/// Turns the death of something the region cannot run without (its writer
/// thread, the API server, a background worker) into a clean stop: the
/// reason is logged and reported to [`Node::failed`], and the region stops
/// as at a shutdown (the API drains and closes), rather than answering with
/// a part missing (every write failing with a 500 without the writer).
#[derive(Clone)]
struct Supervisor {
    region: String,
    stop: Arc<watch::Sender<bool>>,
    failed: Arc<watch::Sender<Option<String>>>,
}

impl Supervisor {
    /// Stops the region for `reason`, unless it is already stopping (then
    /// whatever ended was told to). The first reason is the one reported.
    fn fail(&self, reason: String) {
        if *self.stop.borrow() {
            return;
        }
        tracing::error!(region = %self.region, "{reason}: shutting the region down");
        self.failed
            .send_if_modified(|failed| failed.is_none() && failed.replace(reason).is_none());
        let _ = self.stop.send(true);
    }

    /// Wraps `task` so that a panic in it (logged with its cause by the panic
    /// hook) stops the region; awaiting the returned handle awaits the task.
    fn watch<T: Send + 'static>(&self, name: &'static str, task: JoinHandle<T>) -> JoinHandle<()> {
        let supervisor = self.clone();
        tokio::spawn(async move {
            if let Err(error) = task.await
                && error.is_panic()
            {
                supervisor.fail(format!("the {name} task panicked (its panic is logged above)"));
            }
        })
    }
}

/// How often `watch_writer` looks whether the writer is gone.
const WRITER_CHECK: std::time::Duration = std::time::Duration::from_millis(200);

/// Watches the writer: the sender of the engine's commit watch lives with
/// the writer (on its syncer thread, for a store on disk), which ends only
/// after the writer has, so the watch closing while the region is not
/// stopping means the writer died. Looks every `WRITER_CHECK` rather than
/// at each commit, which would wake this task once per write group.
async fn watch_writer(commits: watch::Receiver<crate::ids::Seq>, supervisor: Supervisor) {
    let mut stopping = supervisor.stop.subscribe();
    while commits.has_changed().is_ok() {
        tokio::select! {
            _ = tokio::time::sleep(WRITER_CHECK) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
    supervisor.fail("the writer thread stopped unexpectedly (its panic is logged above)".to_string());
}

/// Creates the topology's `[[table]]`s this region does not have yet (see
/// `engine::declared`), before the region serves anything.
async fn declare_tables(engine: &Engine, topology: &Topology) -> Result<(), NodeError> {
    let regions: Vec<String> = topology.region.iter().map(|r| r.name.clone()).collect();
    for table in &topology.table {
        let declared = engine
            .declare_global_table(&topology.cluster, table.into(), regions.clone())
            .await;
        let created = match declared {
            // A region starts on a full disk, read-only: the table is
            // declared at the next start with space (or replicated in).
            Err(EngineError::Store(error @ crate::store::StoreError::DiskFull { .. })) => {
                tracing::warn!(table = %table.name, %error, "cannot create a table the topology declares");
                false
            }
            other => other?,
        };
        if created {
            tracing::info!(table = %table.name, regions = regions.len(), "created a table the topology declares global");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections beyond the backlog would have their handshakes dropped
    /// while nothing accepts: with std's 128 the 130th connect times out.
    #[test]
    fn the_api_socket_queues_a_burst_of_connections() {
        let bound = StdTcpListener::bind("127.0.0.1:0").unwrap();
        let listener = api_listener(Some(bound), "127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let burst: Vec<std::net::TcpStream> = (0..300)
            .map(|i| {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                    .unwrap_or_else(|e| panic!("connection {i} not queued: {e}"))
            })
            .collect();
        assert_eq!(burst.len(), 300);
    }

    #[test]
    fn a_kernel_cap_below_the_backlog_is_reported() {
        assert_eq!(backlog_cap(Some("128\n")), Some(128));
        assert_eq!(backlog_cap(Some("4096\n")), None);
        assert_eq!(backlog_cap(Some(&format!("{API_BACKLOG}"))), None);
        assert_eq!(backlog_cap(Some("not a number")), None);
        assert_eq!(backlog_cap(None), None);
    }
}
