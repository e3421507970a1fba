//! Replication between regions over QUIC (quinn) with mutual TLS.
//!
//! Every pair of regions shares one connection, dialled by the region whose
//! name sorts first and re-dialled with backoff when it drops. On it each
//! side ships the changes it originated (see `link.rs`); the receiver applies
//! them through the engine with last-writer-wins and acknowledges only what
//! it committed, so shipping resumes from the acknowledged position after a
//! disconnect or a restart of either side.

pub mod backfill;
pub mod context;
pub mod link;
pub mod resync;
pub mod status;
pub mod tls;
pub mod wire;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::chaos::LinkControl;
use crate::config::RegionConfig;
use crate::engine::Engine;
use context::LinkContext;
use status::PeerStatus;
use tls::RegionTls;

/// First and largest delay between dial attempts.
const DIAL_BACKOFF: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(2));

/// What replication needs to start.
pub struct ReplicationOptions {
    pub cluster: String,
    pub region: String,
    /// The other regions of the topology.
    pub peers: Vec<RegionConfig>,
    pub tls: RegionTls,
    /// The bound UDP socket for the QUIC endpoint.
    pub socket: UdpSocket,
    /// Simulated conditions of the links leaving this region.
    pub links: Arc<LinkControl>,
    /// The region's capacity, which replicated writes consume.
    pub capacity: Arc<crate::capacity::Capacity>,
}

/// A region's running replication.
pub struct Replication {
    endpoint: quinn::Endpoint,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    status: Arc<PeerStatus>,
    /// The thread that runs the links (see `LinksThread`).
    thread: LinksThread,
}

/// The links' own thread, running a single-threaded runtime for the QUIC
/// endpoint and every link task, apart from the runtime serving the API.
///
/// Why: on the API's runtime, a link task woken by a commit or a packet
/// waited in the workers' queues behind every HTTP connection ready at that
/// moment, which made replication lag a function of the API's load. On a
/// thread of their own, the links are woken by the OS scheduler, which
/// runs a thread that sleeps most of the time soon after it wakes.
struct LinksThread {
    handle: tokio::runtime::Handle,
    /// Dropping or sending on it ends the thread (and drops its tasks).
    end: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl LinksThread {
    fn start(region: &str) -> anyhow::Result<LinksThread> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (end, ended) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("links-{region}"))
            .spawn(move || {
                runtime.block_on(async {
                    let _ = ended.await;
                });
                // The runtime is dropped here, outside any async context,
                // with whatever tasks are left.
            })?;
        Ok(LinksThread { handle, end, thread })
    }

    /// Ends the thread once its runtime has run its last task.
    async fn stop(self) {
        let _ = self.end.send(());
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

fn transport() -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_millis(500)));
    // A peer silent for this long is considered gone and re-dialled.
    transport.max_idle_timeout(Some(
        Duration::from_secs(5)
            .try_into()
            .unwrap_or(quinn::IdleTimeout::from(quinn::VarInt::from_u32(5_000))),
    ));
    Arc::new(transport)
}

impl Replication {
    /// Starts accepting and dialling peers.
    pub fn start(engine: Engine, options: ReplicationOptions) -> anyhow::Result<Replication> {
        let thread = LinksThread::start(&options.region)?;
        // The endpoint, its connections and the link tasks are all spawned
        // on the links' runtime.
        let _links_runtime = thread.handle.enter();
        let server_crypto = quinn::crypto::rustls::QuicServerConfig::try_from(options.tls.server.clone())?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_crypto));
        server.transport_config(transport());
        let client_crypto = quinn::crypto::rustls::QuicClientConfig::try_from(options.tls.client.clone())?;
        let mut client = quinn::ClientConfig::new(Arc::new(client_crypto));
        client.transport_config(transport());
        let runtime = quinn::default_runtime().ok_or_else(|| anyhow::anyhow!("no async runtime for QUIC"))?;
        let mut endpoint =
            quinn::Endpoint::new(quinn::EndpointConfig::default(), Some(server), options.socket, runtime)?;
        endpoint.set_default_client_config(client);

        let (stop, stopped) = watch::channel(false);
        let status = Arc::new(PeerStatus::default());
        let ctx = Arc::new(LinkContext {
            engine,
            cluster: options.cluster,
            region: options.region.clone(),
            stop: stopped,
            peers: status.clone(),
            links: options.links,
            connections: Default::default(),
            peer_names: options.peers.iter().map(|p| p.name.clone()).collect(),
            refusals: Default::default(),
            capacity: options.capacity,
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(endpoint.clone(), ctx.clone()));
        let peer_names = options.peers.iter().map(|p| p.name.clone()).collect();
        tasks.spawn(backfill::run(ctx.clone(), peer_names));
        for peer in options.peers.into_iter().filter(|p| p.name > options.region) {
            tasks.spawn(dial_loop(endpoint.clone(), ctx.clone(), peer));
        }
        Ok(Replication {
            endpoint,
            stop,
            tasks,
            status,
            thread,
        })
    }

    /// Where the QUIC endpoint listens.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Per-peer state.
    pub fn status(&self) -> Arc<PeerStatus> {
        self.status.clone()
    }

    /// Closes every link and waits for the link tasks to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.endpoint.close(0u32.into(), b"region stopping");
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        self.endpoint.wait_idle().await;
        self.thread.stop().await;
    }
}

/// Runs both directions of a link on an established connection. The link
/// is one unit: once either direction ends (its stream failed, a batch was
/// refused, the region stops), the connection is closed, so that both
/// sides start over on a new one (the dialler dials again). Otherwise a
/// direction whose stream failed would stay dead on a live connection, and
/// that peer would get nothing more from this region until a restart.
async fn run_link(ctx: Arc<LinkContext>, conn: quinn::Connection, peer: String) {
    let span = tracing::info_span!("link", region = %ctx.region, peer = %peer);
    let first_to_end = async {
        tokio::select! {
            shipped = link::ship(ctx.clone(), conn.clone()) => ("shipping", shipped),
            received = link::serve_streams(ctx.clone(), conn.clone()) => ("receiving", received),
        }
    };
    let (direction, result) = first_to_end.instrument(span).await;
    if let Err(error) = result {
        tracing::info!(region = %ctx.region, peer = %peer, direction, error = %error, "link ended");
    }
    conn.close(0u32.into(), b"link ended");
}

async fn accept_loop(endpoint: quinn::Endpoint, ctx: Arc<LinkContext>) {
    while let Some(incoming) = endpoint.accept().await {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            match incoming.await {
                Ok(conn) => run_link(ctx, conn, "inbound".to_string()).await,
                Err(error) => ctx
                    .refusals
                    .refused(&ctx.region, "unknown", &format!("TLS or transport: {error}")),
            }
        });
    }
}

async fn dial_loop(endpoint: quinn::Endpoint, ctx: Arc<LinkContext>, peer: RegionConfig) {
    let mut delay = DIAL_BACKOFF.0;
    let mut stop = ctx.stop.clone();
    loop {
        if *stop.borrow() {
            return;
        }
        match endpoint.connect(peer.peer, &tls::region_dns_name(&peer.name)) {
            Ok(connecting) => match connecting.await {
                Ok(conn) => {
                    tracing::info!(region = %ctx.region, peer = %peer.name, "connected");
                    ctx.register(&peer.name, &conn);
                    delay = DIAL_BACKOFF.0;
                    run_link(ctx.clone(), conn, peer.name.clone()).await;
                }
                Err(error) => tracing::debug!(region = %ctx.region, peer = %peer.name, error = %error, "dial failed"),
            },
            Err(error) => tracing::warn!(region = %ctx.region, peer = %peer.name, error = %error, "cannot dial"),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        delay = (delay * 2).min(DIAL_BACKOFF.1);
    }
}
