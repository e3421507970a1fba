//! Multi-region test clusters: N regions in this process, every socket bound
//! to port 0 first so the topology can name the real addresses, one cluster
//! CA, and an AWS SDK client per region.

#![allow(dead_code)]

// The same file as `common::settle`: a test including both harnesses
// compiles it twice, which is harmless.
#[allow(clippy::duplicate_mod)]
#[path = "../common/kill.rs"]
pub mod kill;
#[allow(clippy::duplicate_mod)]
#[path = "../common/settle.rs"]
pub mod settle;

use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use meridian::config::{DeclaredTable, NodeConfig, RegionConfig, Topology};
use meridian::node::{Node, NodeOptions};
use meridian::replication::tls::ClusterCa;

/// Region names used by test clusters, in topology order.
pub const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// A running test cluster.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub topology: Topology,
    pub nodes: Vec<Option<Node>>,
    pub ca: ClusterCa,
    /// Node settings every region starts with.
    pub config: NodeConfig,
    /// The clock every region's capacity buckets refill on (else the
    /// system's).
    pub capacity_clock: Option<std::sync::Arc<dyn meridian::capacity::CapacityClock>>,
}

/// An SDK client for the API at `addr`.
pub fn client(addr: std::net::SocketAddr, region: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(format!("http://{addr}"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

impl Cluster {
    /// Starts `n` regions with the given clock offsets (ms), all linked.
    pub async fn start(n: usize, offsets_ms: &[i64]) -> Cluster {
        Cluster::start_some(n, offsets_ms, n).await
    }

    /// Like `start`, but runs only the first `running` regions in this
    /// process; the others are in the topology (and the CA is written to the
    /// data directory) so a test can run them as processes.
    pub async fn start_some(n: usize, offsets_ms: &[i64], running: usize) -> Cluster {
        Cluster::start_configured(n, offsets_ms, running, NodeConfig::default()).await
    }

    /// Like `start_some`, every region running with node settings `config`.
    pub async fn start_configured(n: usize, offsets_ms: &[i64], running: usize, config: NodeConfig) -> Cluster {
        Cluster::start_declaring(n, offsets_ms, running, config, Vec::new()).await
    }

    /// Like `start_configured`, with `tables` declared global in the
    /// topology (`[[table]]`).
    pub async fn start_declaring(
        n: usize,
        offsets_ms: &[i64],
        running: usize,
        config: NodeConfig,
        tables: Vec<DeclaredTable>,
    ) -> Cluster {
        Cluster::start_clocked(n, offsets_ms, running, config, tables, None).await
    }

    /// Like `start_declaring`, every region's capacity buckets refilling
    /// on `capacity_clock` (a test's manual clock) when given.
    pub async fn start_clocked(
        n: usize,
        offsets_ms: &[i64],
        running: usize,
        config: NodeConfig,
        tables: Vec<DeclaredTable>,
        capacity_clock: Option<std::sync::Arc<dyn meridian::capacity::CapacityClock>>,
    ) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut listeners = Vec::new();
        let mut sockets = Vec::new();
        let mut regions = Vec::new();
        for (i, name) in REGIONS.iter().take(n).enumerate() {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            regions.push(RegionConfig {
                name: name.to_string(),
                api: listener.local_addr().unwrap(),
                peer: socket.local_addr().unwrap(),
                clock_offset_ms: offsets_ms.get(i).copied().unwrap_or(0),
            });
            listeners.push(Some(listener));
            sockets.push(Some(socket));
        }
        let topology = Topology {
            cluster: "test".into(),
            region: regions,
            link: Vec::new(),
            table: tables,
        };
        let ca = ClusterCa::load_or_create(dir.path(), "test", true).unwrap();
        let mut cluster = Cluster {
            dir,
            topology,
            nodes: Vec::new(),
            ca,
            config,
            capacity_clock,
        };
        for i in 0..n {
            if i < running {
                let node = cluster.start_node(i, listeners[i].take(), sockets[i].take()).await;
                cluster.nodes.push(Some(node));
            } else {
                cluster.nodes.push(None);
            }
        }
        cluster
    }

    async fn start_node(&self, i: usize, listener: Option<TcpListener>, socket: Option<UdpSocket>) -> Node {
        let name = &self.topology.region[i].name;
        let mut options = NodeOptions::new(self.topology.clone(), name, self.dir.path().to_path_buf());
        options.tls = Some(self.ca.region_identity(name).unwrap());
        options.api_listener = listener;
        options.peer_socket = socket;
        options.config = self.config.clone();
        options.capacity_clock = self.capacity_clock.clone();
        Node::start(options).await.unwrap()
    }

    /// The SDK client of region `i`.
    pub fn client(&self, i: usize) -> Client {
        client(self.topology.region[i].api, &self.topology.region[i].name)
    }

    /// The running node of region `i`.
    pub fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("region is running")
    }

    /// Stops region `i` cleanly.
    pub async fn stop(&mut self, i: usize) {
        if let Some(node) = self.nodes[i].take() {
            node.shutdown().await;
        }
    }

    /// Starts region `i` again on its data directory and addresses.
    pub async fn restart(&mut self, i: usize) {
        let node = self.start_node(i, None, None).await;
        self.nodes[i] = Some(node);
    }

    /// Stops region `i`, deletes its data directory (a lost disk) and
    /// starts it again, empty.
    pub async fn wipe_and_restart(&mut self, i: usize) {
        self.stop(i).await;
        let name = &self.topology.region[i].name;
        std::fs::remove_dir_all(self.dir.path().join(name)).unwrap();
        self.restart(i).await;
    }

    /// Stops every region.
    pub async fn shutdown(mut self) {
        for i in 0..self.nodes.len() {
            self.stop(i).await;
        }
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every running region's full scan of `table` is identical,
/// and every region's DescribeTable counts exactly those items and the
/// same table size (the counts are kept in each item's own commit).
pub async fn converged(cluster: &Cluster, table: &str) -> Vec<String> {
    let clients: Vec<_> = (0..cluster.nodes.len())
        .filter(|&i| cluster.nodes[i].is_some())
        .map(|i| cluster.client(i))
        .collect();
    eventually(
        "all regions to hold and count the same items",
        Duration::from_secs(60),
        || {
            let clients = clients.clone();
            async move {
                let mut scans = Vec::new();
                let mut counts = Vec::new();
                for client in &clients {
                    scans.push(scan_all(client, table).await?);
                    let described = client.describe_table().table_name(table).send().await.ok()?;
                    let described = described.table()?;
                    counts.push((described.item_count(), described.table_size_bytes()));
                }
                let counted = counts
                    .iter()
                    .all(|c| *c == counts[0] && c.0 == Some(scans[0].len() as i64));
                (counted && scans.windows(2).all(|w| w[0] == w[1])).then(|| scans.remove(0))
            }
        },
    )
    .await
}

/// Every item of `table` in a region, via paginated Scan, sorted by key text.
pub async fn scan_all(client: &Client, table: &str) -> Option<Vec<String>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .ok()?;
        for item in page.items() {
            let mut fields: Vec<String> = item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            fields.sort();
            items.push(fields.join(","));
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    items.sort();
    Some(items)
}

/// Creates a hash-key table `pk` (S) in region `i` only.
pub async fn create_local_table(cluster: &Cluster, i: usize, table: &str) {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    cluster
        .client(i)
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Creates a hash-key table `pk` (S) in region `i`, adds a replica in every
/// other running region (UpdateTable ReplicaUpdates), and waits until every
/// replica is ACTIVE.
pub async fn create_table(cluster: &Cluster, i: usize, table: &str) {
    use aws_sdk_dynamodb::types::{CreateReplicationGroupMemberAction, ReplicationGroupUpdate};
    let client = cluster.client(i);
    create_local_table(cluster, i, table).await;
    let others: Vec<String> = cluster
        .topology
        .region
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, r)| r.name.clone())
        .collect();
    let mut update = client.update_table().table_name(table);
    for region in &others {
        let create = CreateReplicationGroupMemberAction::builder()
            .region_name(region)
            .build()
            .unwrap();
        update = update.replica_updates(ReplicationGroupUpdate::builder().create(create).build());
    }
    update.send().await.unwrap();
    wait_replicas_active(cluster, table).await;
}

/// Waits until every running region has `table` with every replica ACTIVE.
pub async fn wait_replicas_active(cluster: &Cluster, table: &str) {
    for j in 0..cluster.nodes.len() {
        if cluster.nodes[j].is_none() {
            continue;
        }
        let client = cluster.client(j);
        let expected = cluster.topology.region.len() - 1;
        eventually(
            &format!("table {table} ACTIVE everywhere, seen from region {j}"),
            Duration::from_secs(60),
            || {
                let client = client.clone();
                async move {
                    let table = client.describe_table().table_name(table).send().await.ok()?.table?;
                    let replicas = table.replicas();
                    let active = replicas
                        .iter()
                        .filter(|r| r.replica_status() == Some(&aws_sdk_dynamodb::types::ReplicaStatus::Active))
                        .count();
                    (active == expected).then_some(())
                }
            },
        )
        .await;
    }
}

/// Waits until every region reports a stream (LatestStreamArn) for
/// `table`; returns each region's stream ARN, in region order.
pub async fn stream_everywhere(cluster: &Cluster, table: &str) -> Vec<String> {
    let mut arns = Vec::new();
    for i in 0..cluster.nodes.len() {
        let client = cluster.client(i);
        let arn = eventually(
            &format!("the stream of {table} in region {i}"),
            Duration::from_secs(60),
            || {
                let client = client.clone();
                async move {
                    let table = client.describe_table().table_name(table).send().await.ok()?.table?;
                    table.latest_stream_arn().map(str::to_string)
                }
            },
        )
        .await;
        arns.push(arn);
    }
    arns
}

/// GETs `path` from a region's API port and returns the body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// POSTs a JSON body to a region's API port; returns status and body.
pub async fn http_post(addr: std::net::SocketAddr, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    http_post_raw(addr, path, &body.to_string()).await
}

/// POSTs `body` as it is (valid JSON or not) to `path` at `addr`, and
/// returns the status and JSON body (`Null` when it is not JSON).
pub async fn http_post_raw(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

/// Sets the link from region `from` to region `to` of `cluster`.
pub async fn set_link(cluster: &Cluster, from: usize, to: usize, patch: serde_json::Value) {
    let mut patch = patch;
    patch["to"] = serde_json::json!(cluster.topology.region[to].name);
    let (status, body) = http_post(cluster.topology.region[from].api, "/admin/links", &patch).await;
    assert_eq!(status, 200, "{body}");
}

/// Partitions or heals region `i` from every other region, both directions.
pub async fn isolate(cluster: &Cluster, i: usize, partitioned: bool) {
    for j in (0..cluster.nodes.len()).filter(|&j| j != i) {
        set_link(cluster, i, j, serde_json::json!({ "partitioned": partitioned })).await;
        set_link(cluster, j, i, serde_json::json!({ "partitioned": partitioned })).await;
    }
}
