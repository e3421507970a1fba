//! Serde structs for `regions/` (topologies) and `config/` (node settings),
//! with their defaults and `validate()`. Tests build these in code.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Why a topology or node config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid TOML in {path}: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A cluster: its regions (and, later, links between them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Cluster identifier checked in the replication handshake. Default "local".
    #[serde(default = "default_cluster")]
    pub cluster: String,
    /// The regions, as `[[region]]` array tables.
    pub region: Vec<RegionConfig>,
}

fn default_cluster() -> String {
    "local".to_string()
}

/// One region of a topology.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// Region name as clients and ARNs see it, e.g. "us-east-1".
    pub name: String,
    /// DynamoDB API address (HTTP), e.g. "127.0.0.1:8000".
    pub api: SocketAddr,
    /// QUIC replication endpoint (UDP), e.g. "127.0.0.1:7000".
    pub peer: SocketAddr,
    /// Simulated wall-clock offset in milliseconds, for drills. Default 0.
    #[serde(default)]
    pub clock_offset_ms: i64,
}

impl Topology {
    /// Reads and validates a topology file.
    pub fn load(path: &Path) -> Result<Topology, ConfigError> {
        let topology: Topology = read_toml(path)?;
        topology.validate()?;
        Ok(topology)
    }

    /// Checks names are unique and non-empty and addresses are not shared.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.region.is_empty() {
            return Err(ConfigError::Invalid("a topology needs at least one [[region]]".into()));
        }
        let mut names = HashSet::new();
        let mut addrs = HashSet::new();
        for region in &self.region {
            let valid_name = !region.name.is_empty()
                && region
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid_name {
                return Err(ConfigError::Invalid(format!("bad region name {:?}", region.name)));
            }
            if !names.insert(region.name.as_str()) {
                return Err(ConfigError::Invalid(format!("region {} is listed twice", region.name)));
            }
            for addr in [region.api, region.peer] {
                if addr.port() != 0 && !addrs.insert(addr) {
                    return Err(ConfigError::Invalid(format!("address {addr} is used twice")));
                }
            }
        }
        Ok(())
    }

    /// The region called `name`.
    pub fn region(&self, name: &str) -> Result<&RegionConfig, ConfigError> {
        self.region
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| ConfigError::Invalid(format!("region {name} is not in the topology")))
    }
}

/// Per-node settings (`config/default.toml` lists every default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Log filter (tracing `EnvFilter` syntax). Default "info".
    pub log_level: String,
    /// Request authentication: "none" accepts any credentials, as DynamoDB
    /// Local does. Default "none".
    pub auth: String,
    /// Request limits.
    pub limits: LimitsConfig,
    /// Storage engine settings.
    pub storage: StorageConfig,
    /// DynamoDB Streams settings.
    pub streams: StreamsConfig,
    /// Time to Live sweeper settings.
    pub ttl: TtlConfig,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig {
            log_level: "info".into(),
            auth: "none".into(),
            limits: LimitsConfig::default(),
            storage: StorageConfig::default(),
            streams: StreamsConfig::default(),
            ttl: TtlConfig::default(),
        }
    }
}

/// Request limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body accepted, bytes. Default 16 MiB, as DynamoDB.
    pub max_request_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            max_request_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Storage engine settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Most writes grouped into one durable commit. Default 512.
    pub group_commit_max: usize,
    /// Capacity of the queue of writes waiting for the writer. Default 4096.
    pub write_queue: usize,
    /// redb page cache size, bytes. Default 256 MiB.
    pub cache_bytes: usize,
}

impl Default for StorageConfig {
    fn default() -> StorageConfig {
        StorageConfig {
            group_commit_max: 512,
            write_queue: 4096,
            cache_bytes: 256 * 1024 * 1024,
        }
    }
}

/// DynamoDB Streams settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamsConfig {
    /// How long stream records stay readable, seconds. Default 86400 (24
    /// hours, as DynamoDB).
    pub retention_secs: u64,
    /// How long a shard iterator stays usable, seconds. Default 900 (15
    /// minutes, as DynamoDB).
    pub iterator_ttl_secs: u64,
    /// Change-log positions one shard covers before it closes and its child
    /// opens; fixed per stream when the stream is enabled. Default 100000.
    pub shard_log_span: u64,
}

impl Default for StreamsConfig {
    fn default() -> StreamsConfig {
        StreamsConfig {
            retention_secs: 86_400,
            iterator_ttl_secs: 900,
            shard_log_span: 100_000,
        }
    }
}

/// Time to Live sweeper settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TtlConfig {
    /// Pause between two sweeps of every TTL-enabled table, milliseconds.
    /// Default 60000.
    pub sweep_interval_ms: u64,
    /// Items examined per read while sweeping. Default 1000.
    pub scan_batch: usize,
    /// Most items deleted by one write (one writer job). Default 25.
    pub delete_batch: usize,
}

impl Default for TtlConfig {
    fn default() -> TtlConfig {
        TtlConfig {
            sweep_interval_ms: 60_000,
            scan_batch: 1000,
            delete_batch: 25,
        }
    }
}

impl NodeConfig {
    /// Reads and validates a node config file.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let config: NodeConfig = read_toml(path)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values are usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.auth != "none" {
            return Err(ConfigError::Invalid(format!(
                "auth mode {:?} is not supported (use \"none\")",
                self.auth
            )));
        }
        if self.storage.group_commit_max == 0 || self.storage.write_queue == 0 {
            return Err(ConfigError::Invalid(
                "storage.group_commit_max and storage.write_queue must be > 0".into(),
            ));
        }
        if self.streams.retention_secs == 0 || self.streams.iterator_ttl_secs == 0 || self.streams.shard_log_span == 0 {
            return Err(ConfigError::Invalid(
                "streams.retention_secs, streams.iterator_ttl_secs and streams.shard_log_span must be > 0".into(),
            ));
        }
        if self.ttl.sweep_interval_ms == 0 || self.ttl.scan_batch == 0 || self.ttl.delete_batch == 0 {
            return Err(ConfigError::Invalid(
                "ttl.sweep_interval_ms, ttl.scan_batch and ttl.delete_batch must be > 0".into(),
            ));
        }
        if self.limits.max_request_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "limits.max_request_bytes must be at least 1024".into(),
            ));
        }
        Ok(())
    }
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse_and_match_defaults() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let topology = Topology::load(&root.join("regions/local.toml")).unwrap();
        let names: Vec<&str> = topology.region.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["us-east-1", "eu-west-1", "ap-southeast-2"]);
        assert_eq!(topology.region[0].api.port(), 8000);
        let config = NodeConfig::load(&root.join("config/default.toml")).unwrap();
        assert_eq!(config, NodeConfig::default());
    }

    #[test]
    fn rejects_duplicate_regions() {
        let text = "[[region]]\nname='a'\napi='127.0.0.1:1'\npeer='127.0.0.1:2'\n[[region]]\nname='a'\napi='127.0.0.1:3'\npeer='127.0.0.1:4'\n";
        let topology: Topology = toml::from_str(text).unwrap();
        assert!(topology.validate().is_err());
    }
}
