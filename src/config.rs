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
    /// Point-in-time recovery, backups and exports.
    pub pitr: PitrConfig,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig {
            log_level: "info".into(),
            auth: "none".into(),
            limits: LimitsConfig::default(),
            storage: StorageConfig::default(),
            pitr: PitrConfig::default(),
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

/// Point-in-time recovery, backups and exports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PitrConfig {
    /// How far LatestRestorableDateTime trails the wall clock, ms: writes
    /// stamped before it have committed. Default 1000.
    pub latest_lag_ms: u64,
    /// Seconds between passes of the history collector. Default 60.
    pub gc_interval_secs: u64,
    /// Where exports go: `<export_root>/<S3Bucket>/<S3Prefix>/AWSDynamoDB/..`.
    /// Empty means `<data dir>/exports`. Default "".
    pub export_root: String,
    /// Items per restore, backup and export chunk. Default 4096.
    pub chunk_items: usize,
}

impl Default for PitrConfig {
    fn default() -> PitrConfig {
        PitrConfig {
            latest_lag_ms: 1000,
            gc_interval_secs: 60,
            export_root: String::new(),
            chunk_items: 4096,
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
        if self.pitr.gc_interval_secs == 0 || self.pitr.chunk_items == 0 {
            return Err(ConfigError::Invalid(
                "pitr.gc_interval_secs and pitr.chunk_items must be > 0".into(),
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
