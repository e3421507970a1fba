//! `meridian serve`: one region in this process, either a region of a
//! topology, or (`--port`, or `--in-memory` without `--topology`) a
//! standalone region, as `DynamoDBLocal.jar -port N [-inMemory]` is.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::locate::{TopologySource, load_source, resolve_topology};
use crate::config::{NodeConfig, RegionConfig, Topology};
use crate::node::{Node, NodeOptions};
use crate::replication::tls::{ClusterCa, RegionTls};

/// Region a standalone `serve` runs when `--region` does not say.
const STANDALONE_REGION: &str = "us-east-1";
/// API port of a standalone `serve` without `--port` (DynamoDB Local's).
const STANDALONE_PORT: u16 = 8000;

/// Arguments of `meridian serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Topology file listing the regions (default: regions/local.toml if
    /// present, else the built-in three-region topology).
    #[arg(long)]
    pub topology: Option<PathBuf>,
    /// Use the built-in topology even if regions/local.toml is here (how
    /// `meridian up` starts the regions of the built-in topology).
    #[arg(long, hide = true, conflicts_with = "topology")]
    pub builtin_topology: bool,
    /// Name of the region to serve (standalone: default us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Root data directory; the region's files go in DIR/REGION.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Node settings file (defaults: config/default.toml's values).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Keep the store in memory: no files, no log syncs, everything gone
    /// when the process ends. Without --topology: one standalone region.
    #[arg(long)]
    pub in_memory: bool,
    /// Serve one standalone region (no topology, no peers) with its API on
    /// 127.0.0.1:PORT (0: any free port).
    #[arg(long, conflicts_with_all = ["topology", "builtin_topology"])]
    pub port: Option<u16>,
}

impl ServeArgs {
    /// Whether this serves one region without a topology.
    fn standalone(&self) -> bool {
        self.port.is_some() || (self.in_memory && self.topology.is_none() && !self.builtin_topology)
    }
}

/// Reads the node config, or the built-in defaults.
pub fn load_config(path: Option<&PathBuf>) -> anyhow::Result<NodeConfig> {
    match path {
        Some(path) => Ok(NodeConfig::load(path)?),
        None => Ok(NodeConfig::default()),
    }
}

/// A topology of one region, `name`, with its API on 127.0.0.1:`port`.
fn standalone_topology(name: &str, port: u16) -> Topology {
    Topology {
        cluster: "standalone".into(),
        region: vec![RegionConfig {
            name: name.into(),
            api: SocketAddr::from(([127, 0, 0, 1], port)),
            peer: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock_offset_ms: 0,
        }],
        link: Vec::new(),
        table: Vec::new(),
    }
}

/// The topology to serve and the region of it.
fn topology_and_region(args: &ServeArgs) -> anyhow::Result<(Topology, String)> {
    if args.standalone() {
        let name = args.region.clone().unwrap_or_else(|| STANDALONE_REGION.into());
        return Ok((standalone_topology(&name, args.port.unwrap_or(STANDALONE_PORT)), name));
    }
    let source = if args.builtin_topology {
        TopologySource::Builtin
    } else {
        resolve_topology(args.topology.as_deref())
    };
    let topology = load_source(&source)?;
    let Some(name) = args.region.clone() else {
        let names: Vec<&str> = topology.region.iter().map(|r| r.name.as_str()).collect();
        anyhow::bail!(
            "give --region, one of {} (or --in-memory --port N for one standalone region)",
            names.join(", ")
        );
    };
    topology.region(&name)?;
    Ok((topology, name))
}

/// The region's identity on its links. Every region of a cluster trusts
/// one CA: handed over by `up --in-memory`; or a certificate `meridian init
/// --region-certs` issued, in the root data directory with the CA
/// certificate (a region on a machine of its own, without the CA key); or
/// issued now by the CA kept in the root data directory, where the first
/// region (or `meridian up`) to start creates it.
fn region_tls(args: &ServeArgs, topology: &Topology, region: &str) -> anyhow::Result<RegionTls> {
    if let Some(ca) = super::common::handed_over_ca(&topology.cluster)? {
        return Ok(ca.region_identity(region)?);
    }
    if let Some(tls) = RegionTls::load(&args.data_dir, region)? {
        return Ok(tls);
    }
    let ca = ClusterCa::load_or_create(&args.data_dir, &topology.cluster, true)?;
    Ok(ca.region_identity(region)?)
}

/// Runs `meridian serve` until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let (topology, region) = topology_and_region(&args)?;
    let mut config = load_config(args.config.as_ref())?;
    config.storage.in_memory |= args.in_memory;
    crate::telemetry::init(&config.log_level);
    let tls = if topology.region.len() > 1 {
        Some(region_tls(&args, &topology, &region)?)
    } else {
        None
    };
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    runtime.block_on(async move {
        let mut options = NodeOptions::new(topology, &region, args.data_dir);
        options.config = config;
        options.tls = tls;
        options.up_control = std::env::var(super::common::UP_CONTROL_ENV)
            .ok()
            .and_then(|addr| addr.parse().ok());
        let node = Node::start(options).await?;
        // The ready line: `meridian up` and the tests read the bound address from it.
        println!(
            "meridian: region {region} serving DynamoDB API on http://{}",
            node.api_addr
        );
        // A region whose writer died stops serving, then exits non-zero so
        // that `meridian up`'s supervisor (or systemd) restarts it.
        let failure = tokio::select! {
            _ = crate::telemetry::wait_for_stop_signal() => None,
            reason = node.failed() => Some(reason),
        };
        node.shutdown().await;
        match failure {
            Some(reason) => Err(anyhow::anyhow!("region {region} stopped: {reason}")),
            None => anyhow::Ok(()),
        }
    })
}
