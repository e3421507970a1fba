//! What the API's handlers share, in a leaf so that the handler modules
//! import it rather than the router that dispatches to them.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::capacity::{Capacity, SystemClock};
use crate::chaos::LinkControl;
use crate::config::NodeConfig;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::replication::status::PeerStatus;

/// What the HTTP handlers share.
pub struct ApiState {
    /// The region's engine, which every operation goes through.
    pub engine: Engine,
    /// The node's settings (limits, streams).
    pub config: NodeConfig,
    /// The address clients reach this region at (DescribeEndpoints).
    pub endpoint: String,
    /// Replication state, when the region has peers.
    pub peers: Option<Arc<PeerStatus>>,
    /// Every region of the topology (where replicas can be created).
    pub regions: Vec<String>,
    /// Throttling buckets and consumed-capacity counters, per table.
    pub capacity: Arc<Capacity>,
    /// The region's metrics.
    pub metrics: Arc<Metrics>,
    /// Simulated conditions of the links leaving this region, when it has peers.
    pub links: Option<Arc<LinkControl>>,
    /// Point-in-time recovery, backups and exports (set by `Node`).
    pub pitr: Option<crate::pitr::Pitr>,
    /// What each background worker has done, in start order (for `/status`).
    pub workers: Vec<Arc<dyn crate::workers::Report>>,
    /// Per-region settings (resource policies, Contributor Insights); `Node`
    /// replaces the in-memory default with the region's file.
    pub settings: Arc<super::settings::Settings>,
    /// The reports of past drills posted here (`/admin/drills`); `Node`
    /// replaces the in-memory default with the region's directory.
    pub drills: Arc<super::drill_store::DrillReports>,
    /// Request authentication and policies (`auth = "sigv4"`), if on.
    pub auth: Option<Arc<crate::auth::Auth>>,
    /// Who may use the admin surface.
    pub admin: Arc<crate::auth::admin::AdminGate>,
    /// TLS for the API (`api_tls`), when it serves HTTPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `meridian up`'s control endpoint, when `up` runs this region.
    pub up_control: Option<std::net::SocketAddr>,
    /// Requests received, for request ids.
    pub(super) requests: AtomicU64,
}

impl ApiState {
    /// State for serving `engine` with `config`.
    pub fn new(engine: Engine, config: NodeConfig, endpoint: String) -> ApiState {
        let regions = vec![engine.region().to_string()];
        let capacity = Arc::new(Capacity::new(
            config.capacity.clone(),
            SystemClock::shared(),
            engine.region(),
        ));
        let metrics = Arc::new(Metrics::new(engine.clone(), None, capacity.clone()));
        ApiState {
            engine,
            config,
            endpoint,
            peers: None,
            regions,
            capacity,
            metrics,
            links: None,
            pitr: None,
            workers: Vec::new(),
            settings: Arc::new(super::settings::Settings::in_memory()),
            drills: Arc::new(super::drill_store::DrillReports::in_memory()),
            auth: None,
            admin: Arc::new(crate::auth::admin::AdminGate::loopback()),
            tls: None,
            up_control: None,
            requests: AtomicU64::new(0),
        }
    }
}
