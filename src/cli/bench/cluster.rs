//! Several regions on this machine, serving and replicating one `bench`
//! table: what the replication, latency and resync scenarios drive.

use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use serde_json::json;

use super::load::one_request;
use super::region::{TABLE, create_bench_table, tempfile_dir};
use crate::config::{LinkConfig, RegionConfig, Topology};
use crate::model::table::ReplicaStatus;
use crate::node::{Node, NodeOptions};
use crate::replication::tls::ClusterCa;

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
/// Longest wait for replicas to turn ACTIVE or for regions to converge.
const SETTLE: Duration = Duration::from_secs(120);

/// Regions on this machine, each serving and replicating.
pub struct BenchCluster {
    pub nodes: Vec<Node>,
    dir: std::path::PathBuf,
    topology: Topology,
    ca: ClusterCa,
}

impl BenchCluster {
    /// Starts the first `count` of three regions, with no link delays.
    pub async fn start(count: usize) -> anyhow::Result<BenchCluster> {
        let names: Vec<String> = REGIONS.iter().take(count).map(|r| r.to_string()).collect();
        BenchCluster::start_with(&names, Vec::new()).await
    }

    /// Starts regions `names` (the first creates the table, the others get
    /// replicas) with the simulated link conditions `links`.
    pub async fn start_with(names: &[String], links: Vec<LinkConfig>) -> anyhow::Result<BenchCluster> {
        let count = names.len();
        let dir = tempfile_dir()?.join(format!("cluster-{count}-{}", Instant::now().elapsed().as_nanos()));
        let mut listeners = Vec::new();
        let mut sockets = Vec::new();
        let mut regions = Vec::new();
        for name in names {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let socket = UdpSocket::bind("127.0.0.1:0")?;
            regions.push(RegionConfig {
                name: name.to_string(),
                api: listener.local_addr()?,
                peer: socket.local_addr()?,
                clock_offset_ms: 0,
            });
            listeners.push(listener);
            sockets.push(socket);
        }
        let topology = Topology {
            cluster: "bench".into(),
            region: regions,
            link: links,
            table: Vec::new(),
        };
        let ca = ClusterCa::generate("bench")?;
        let mut cluster = BenchCluster {
            nodes: Vec::new(),
            dir,
            topology,
            ca,
        };
        for (i, (listener, socket)) in listeners.into_iter().zip(sockets).enumerate() {
            let node = cluster.start_node(i, Some((listener, socket))).await?;
            cluster.nodes.push(node);
        }
        cluster.create_table().await?;
        Ok(cluster)
    }

    /// Starts region `i` of the topology on its data directory, on the given
    /// sockets or else on the topology's addresses (a region started again).
    pub async fn start_node(&self, i: usize, sockets: Option<(TcpListener, UdpSocket)>) -> anyhow::Result<Node> {
        let name = &self.topology.region[i].name;
        let mut options = NodeOptions::new(self.topology.clone(), name, self.dir.clone());
        options.tls = (self.topology.region.len() > 1)
            .then(|| self.ca.region_identity(name))
            .transpose()?;
        if let Some((listener, socket)) = sockets {
            options.api_listener = Some(listener);
            options.peer_socket = Some(socket);
        }
        Ok(Node::start(options).await?)
    }

    /// The data directory of region `i`.
    pub fn region_dir(&self, i: usize) -> std::path::PathBuf {
        self.dir.join(&self.topology.region[i].name)
    }

    /// The API address of region `i`.
    pub fn addr(&self, i: usize) -> String {
        self.nodes[i].api_addr.to_string()
    }

    /// Creates the table in the first region and adds a replica in the others.
    async fn create_table(&self) -> anyhow::Result<()> {
        create_bench_table(&self.addr(0)).await?;
        if self.nodes.len() == 1 {
            return Ok(());
        }
        let updates: Vec<_> = self.nodes[1..]
            .iter()
            .map(|n| json!({"Create": {"RegionName": n.engine().region()}}))
            .collect();
        let update = json!({"TableName": TABLE, "ReplicaUpdates": updates});
        one_request(&self.addr(0), "UpdateTable", update.to_string()).await?;
        let deadline = Instant::now() + SETTLE;
        for node in &self.nodes {
            loop {
                let meta = node.engine().describe_table(TABLE.into()).await;
                if meta.is_ok_and(|m| m.replicas.iter().all(|r| r.status == ReplicaStatus::Active)) {
                    break;
                }
                anyhow::ensure!(Instant::now() < deadline, "replicas did not turn ACTIVE");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    /// Waits until region `i` holds `items` items; returns when.
    pub async fn wait_for_items_in(&self, i: usize, items: u64) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + SETTLE;
        let engine = self.nodes[i].engine();
        while engine.describe_table(TABLE.into()).await.map_or(0, |m| m.item_count) < items {
            anyhow::ensure!(Instant::now() < deadline, "region {i} did not converge");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(Instant::now())
    }

    /// Waits until every region holds `items` items; returns when.
    pub async fn wait_for_items(&self, items: u64) -> anyhow::Result<Instant> {
        for i in 0..self.nodes.len() {
            self.wait_for_items_in(i, items).await?;
        }
        Ok(Instant::now())
    }

    /// Stops every region and removes the data.
    pub async fn shutdown(self) {
        for node in self.nodes {
            node.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
