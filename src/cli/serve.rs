//! `meridian serve`: one region of a topology in this process.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::config::{NodeConfig, Topology};
use crate::node::{Node, NodeOptions};
use crate::replication::tls::ClusterCa;

/// Arguments of `meridian serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Topology file listing the regions.
    #[arg(long, default_value_os_t = super::common::default_topology())]
    pub topology: PathBuf,
    /// Name of the region to serve.
    #[arg(long)]
    pub region: String,
    /// Root data directory; the region's files go in DIR/REGION.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Node settings file (defaults: config/default.toml's values).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Reads the node config, or the built-in defaults.
pub fn load_config(path: Option<&PathBuf>) -> anyhow::Result<NodeConfig> {
    match path {
        Some(path) => Ok(NodeConfig::load(path)?),
        None => Ok(NodeConfig::default()),
    }
}

/// Runs `meridian serve` until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let topology = Topology::load(&args.topology)?;
    let region = topology.region(&args.region)?.clone();
    let config = load_config(args.config.as_ref())?;
    crate::telemetry::init(&config.log_level);
    // Every region of a cluster trusts one CA, kept in the root data
    // directory; the first region (or `meridian up`) to start creates it.
    let tls = if topology.region.len() > 1 {
        let ca = ClusterCa::load_or_create(&args.data_dir, &topology.cluster, true)?;
        Some(ca.region_identity(&region.name)?)
    } else {
        None
    };
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    runtime.block_on(async move {
        let mut options = NodeOptions::new(topology, &region.name, args.data_dir);
        options.config = config;
        options.tls = tls;
        let node = Node::start(options).await?;
        // The ready line: `meridian up` and the tests read the bound address from it.
        println!(
            "meridian: region {} serving DynamoDB API on http://{}",
            region.name, node.api_addr
        );
        // A region whose writer died stops serving, then exits non-zero so
        // that `meridian up`'s supervisor (or systemd) restarts it.
        let failure = tokio::select! {
            _ = crate::telemetry::wait_for_stop_signal() => None,
            reason = node.failed() => Some(reason),
        };
        node.shutdown().await;
        match failure {
            Some(reason) => Err(anyhow::anyhow!("region {} stopped: {reason}", region.name)),
            None => anyhow::Ok(()),
        }
    })
}
