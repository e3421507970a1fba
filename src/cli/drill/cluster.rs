//! The drill's own cluster: one supervised `meridian serve` process per
//! region on free loopback ports, in a scratch data directory, with the
//! drill table replicated to every region. With a node config (`--config`)
//! the regions run with it, and the drill reaches them as it says (HTTPS
//! for `api_tls`, requests signed with the environment's credentials for
//! `auth = "sigv4"`: see `api_client.rs`).

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::script::Script;
use super::workload::TABLE;
use crate::cli::api_client::ApiClient;
use crate::cli::http::{self, Access};
use crate::cli::supervisor::{RegionControl, SpawnSpec, Supervisor};
use crate::config::{RegionConfig, Topology};
use crate::replication::tls::ClusterCa;

/// How long regions may take to start and the table to become ACTIVE.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running drill cluster.
pub struct DrillCluster {
    pub topology: Topology,
    pub dir: PathBuf,
    /// How the regions' admin surface is reached.
    pub access: Access,
    /// Each region's DynamoDB API, in region order.
    pub apis: Vec<Arc<ApiClient>>,
    supervisor: Supervisor,
}

impl DrillCluster {
    /// Starts every region of `script` under `dir`, with the node config
    /// `config` when given, and creates the table.
    pub async fn start(script: &Script, dir: PathBuf, config: Option<&Path>) -> anyhow::Result<DrillCluster> {
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let mut regions = Vec::new();
        for name in &script.regions {
            // Free ports now; another process could take one before the
            // region binds it, which only fails the drill's start.
            let api = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
            let peer = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
            regions.push(RegionConfig {
                name: name.clone(),
                api,
                peer,
                clock_offset_ms: 0,
            });
        }
        let topology = Topology {
            cluster: format!("drill-{}", script.name),
            region: regions,
            link: script.link.clone(),
            table: Vec::new(),
        };
        topology.validate()?;
        let topology_file = dir.join("topology.toml");
        std::fs::write(&topology_file, toml::to_string(&topology)?)?;
        ClusterCa::load_or_create(&dir, &topology.cluster, true)?;
        let exe = std::env::current_exe().context("find the meridian binary")?;
        let specs = topology
            .region
            .iter()
            .map(|r| SpawnSpec {
                up_control: None,
                exe: exe.clone(),
                topology: Some(topology_file.clone()),
                data_dir: dir.clone(),
                config: config.map(Path::to_path_buf),
                region: r.name.clone(),
                log: Some(dir.join(format!("{}.log", r.name))),
                echo: false,
                in_memory_ca: None,
            })
            .collect();
        let access = match config {
            Some(path) => crate::cli::locate::access(Some(path))?,
            None => Access::default(),
        };
        let apis = topology
            .region
            .iter()
            .map(|r| Ok(Arc::new(ApiClient::new(&r.name, r.api, access.clone())?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(topology.region.len());
        let supervisor = Supervisor::start(specs, ready_tx);
        let cluster = DrillCluster {
            topology,
            dir,
            access,
            apis,
            supervisor,
        };
        for _ in 0..cluster.topology.region.len() {
            tokio::time::timeout(START_TIMEOUT, ready_rx.recv())
                .await
                .context("regions did not start in time")?;
        }
        cluster.create_table().await?;
        Ok(cluster)
    }

    /// API addresses, in region order.
    pub fn addrs(&self) -> Vec<String> {
        self.topology.region.iter().map(|r| r.api.to_string()).collect()
    }

    /// Region names, in order.
    pub fn names(&self) -> Vec<String> {
        self.topology.region.iter().map(|r| r.name.clone()).collect()
    }

    /// The index of region `name`.
    pub fn index(&self, name: &str) -> anyhow::Result<usize> {
        self.topology
            .region
            .iter()
            .position(|r| r.name == name)
            .ok_or_else(|| anyhow::anyhow!("no region {name}"))
    }

    /// Sends region commands.
    pub fn control(&self) -> RegionControl {
        self.supervisor.control()
    }

    async fn create_table(&self) -> anyhow::Result<()> {
        let create = json!({
            "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        });
        let (status, body) = self.apis[0].request("CreateTable", &create).await?;
        anyhow::ensure!(status == 200, "CreateTable: {body}");
        let replicas: Vec<_> = self.names()[1..]
            .iter()
            .map(|r| json!({"Create": {"RegionName": r}}))
            .collect();
        let update = json!({"TableName": TABLE, "ReplicaUpdates": replicas});
        let (status, body) = self.apis[0].request("UpdateTable", &update).await?;
        anyhow::ensure!(status == 200, "UpdateTable: {body}");
        let deadline = Instant::now() + START_TIMEOUT;
        for api in &self.apis {
            loop {
                let describe = api.request("DescribeTable", &json!({"TableName": TABLE})).await;
                let active = describe.is_ok_and(|(status, body)| {
                    let replicas = body["Table"]["Replicas"].as_array().cloned().unwrap_or_default();
                    status == 200
                        && replicas.len() + 1 == self.apis.len()
                        && replicas.iter().all(|r| r["ReplicaStatus"] == "ACTIVE")
                });
                if active {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "the drill table did not become ACTIVE at {}",
                    api.url()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Waits until region `i` answers its status endpoint.
    pub async fn wait_up(&self, i: usize, limit: Duration) -> bool {
        let addr = self.topology.region[i].api.to_string();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let answered = tokio::time::timeout(
                Duration::from_millis(500),
                http::get_json(&addr, "/status", &self.access),
            )
            .await;
            if matches!(answered, Ok(Ok(_))) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Stops every region and removes the data unless `keep`.
    pub async fn shutdown(self, keep: bool) {
        self.supervisor.shutdown().await;
        if !keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
