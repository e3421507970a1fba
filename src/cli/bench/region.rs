//! The single region most scenarios measure, its `bench` table, and the
//! scratch folder every scenario keeps its data under.

use std::path::Path;

use serde_json::json;

use super::load::one_request;
use crate::config::{NodeConfig, RegionConfig, Topology};
use crate::node::{Node, NodeOptions};

/// The table the scenarios write to.
pub const TABLE: &str = "bench";

/// Starts the single region `bench-1` on port 0 with its data in `dir` and
/// its clock `clock_offset_ms` off.
pub async fn start_bench_node(dir: &Path, clock_offset_ms: i64) -> anyhow::Result<Node> {
    start_bench_node_with(dir, clock_offset_ms, |_| ()).await
}

/// `start_bench_node` with node settings changed by `configure`.
pub async fn start_bench_node_with(
    dir: &Path,
    clock_offset_ms: i64,
    configure: impl FnOnce(&mut NodeConfig),
) -> anyhow::Result<Node> {
    let region = RegionConfig {
        name: "bench-1".into(),
        api: "127.0.0.1:0".parse()?,
        peer: "127.0.0.1:0".parse()?,
        clock_offset_ms,
    };
    let topology = Topology {
        cluster: "bench".into(),
        region: vec![region],
        link: Vec::new(),
        table: Vec::new(),
    };
    let mut options = NodeOptions::new(topology, "bench-1", dir.to_path_buf());
    configure(&mut options.config);
    Ok(Node::start(options).await?)
}

/// Creates the table `bench` (string hash key `pk`) through the API.
pub async fn create_bench_table(addr: &str) -> anyhow::Result<()> {
    let create = json!({
        "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    });
    one_request(addr, "CreateTable", create.to_string()).await
}

/// A fresh scratch directory for a benchmark's regions.
pub fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = bench_root();
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The folder this benchmark process keeps its data under.
pub fn bench_root() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("meridian-bench-{}", std::process::id()))
}
