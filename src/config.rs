//! Serde structs for `regions/` (topologies) and `config/` (node settings),
//! with their defaults and `validate()`. Tests build these in code.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::ScalarType;

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

/// A cluster: its regions and the simulated conditions of the links
/// between them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Cluster identifier checked in the replication handshake. Default "local".
    #[serde(default = "default_cluster")]
    pub cluster: String,
    /// The regions, as `[[region]]` array tables.
    pub region: Vec<RegionConfig>,
    /// Simulated link conditions per directed pair, as `[[link]]` array
    /// tables. Default none: every link is as fast as the machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<LinkConfig>,
    /// Tables global from the start, as `[[table]]` array tables. Default
    /// none: tables are created through the API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub table: Vec<DeclaredTable>,
}

/// One `[[table]]` of a topology: a pay-per-request table that every region
/// creates at start unless it has a table of that name, with a replica in
/// every region (see `engine::declared`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredTable {
    /// Table name, as in CreateTable.
    pub name: String,
    /// Partition key attribute name.
    pub hash_key: String,
    /// Partition key type: "S", "N" or "B". Default "S".
    #[serde(default = "default_key_type")]
    pub hash_key_type: ScalarType,
    /// Sort key attribute name, if the table has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_key: Option<String>,
    /// Sort key type: "S", "N" or "B". Default "S".
    #[serde(default = "default_key_type")]
    pub range_key_type: ScalarType,
}

fn default_key_type() -> ScalarType {
    ScalarType::S
}

impl DeclaredTable {
    /// Checks the names as CreateTable would.
    fn validate(&self) -> Result<(), ConfigError> {
        let valid_name = (3..=255).contains(&self.name.len())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid_name {
            return Err(ConfigError::Invalid(format!(
                "table name {:?} must be 3 to 255 letters, digits, '_', '-' or '.'",
                self.name
            )));
        }
        let mut keys = std::iter::once(&self.hash_key).chain(&self.range_key);
        if keys.any(|key| key.is_empty() || key.len() > 255) {
            return Err(ConfigError::Invalid(format!(
                "table {}: key attribute names must be 1 to 255 bytes",
                self.name
            )));
        }
        if self.range_key.as_ref() == Some(&self.hash_key) {
            return Err(ConfigError::Invalid(format!(
                "table {}: the sort key must differ from the partition key",
                self.name
            )));
        }
        Ok(())
    }
}

/// Simulated conditions of one direction of a replication link, applied
/// where messages leave the sending region (no root needed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkFaults {
    /// One-way delay added to every batch, milliseconds, at most 600,000
    /// (ten minutes). Default 0.
    pub delay_ms: u64,
    /// Uniform random variation of the delay, +/- milliseconds, at most
    /// 600,000. Default 0.
    pub jitter_ms: u64,
    /// Probability that a batch is lost and sent again after a
    /// retransmission timeout, 0 to 0.95. Default 0.
    pub loss: f64,
    /// Bandwidth cap, kilobits per second; 0 means no cap. Default 0.
    pub bandwidth_kbps: u64,
    /// Nothing is sent while true. Default false.
    pub partitioned: bool,
}

impl LinkFaults {
    /// Largest loss probability accepted: at 1.0 nothing would ever arrive.
    pub const MAX_LOSS: f64 = 0.95;
    /// Largest delay or jitter accepted, milliseconds: ten minutes is far
    /// beyond any real round trip, and keeps the shaper's time arithmetic
    /// (delay times three, instants plus the delay) far from overflow.
    pub const MAX_DELAY_MS: u64 = 600_000;

    /// Checks the values are usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=LinkFaults::MAX_LOSS).contains(&self.loss) {
            return Err(ConfigError::Invalid(format!(
                "link loss {} is not between 0 and {}",
                self.loss,
                LinkFaults::MAX_LOSS
            )));
        }
        for (name, value) in [("delay_ms", self.delay_ms), ("jitter_ms", self.jitter_ms)] {
            if value > LinkFaults::MAX_DELAY_MS {
                return Err(ConfigError::Invalid(format!(
                    "link {name} {value} is not between 0 and {}",
                    LinkFaults::MAX_DELAY_MS
                )));
            }
        }
        Ok(())
    }
}

/// One `[[link]]` of a topology: conditions from one region to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// Sending region.
    pub from: String,
    /// Receiving region.
    pub to: String,
    /// See [`LinkFaults::delay_ms`]. Default 0.
    #[serde(default)]
    pub delay_ms: u64,
    /// See [`LinkFaults::jitter_ms`]. Default 0.
    #[serde(default)]
    pub jitter_ms: u64,
    /// See [`LinkFaults::loss`]. Default 0.
    #[serde(default)]
    pub loss: f64,
    /// See [`LinkFaults::bandwidth_kbps`]. Default 0 (no cap).
    #[serde(default)]
    pub bandwidth_kbps: u64,
    /// See [`LinkFaults::partitioned`]. Default false.
    #[serde(default)]
    pub partitioned: bool,
}

impl LinkConfig {
    /// The conditions this entry sets.
    pub fn faults(&self) -> LinkFaults {
        LinkFaults {
            delay_ms: self.delay_ms,
            jitter_ms: self.jitter_ms,
            loss: self.loss,
            bandwidth_kbps: self.bandwidth_kbps,
            partitioned: self.partitioned,
        }
    }
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
    /// Simulated wall-clock offset in milliseconds, for drills, within
    /// ±86,400,000 (one day). Default 0.
    #[serde(default)]
    pub clock_offset_ms: i64,
}

/// The default topology, `regions/local.toml`, built into the binary so
/// that `meridian up` works from any directory.
pub const BUILTIN_TOPOLOGY: &str = include_str!("../regions/local.toml");

impl Topology {
    /// The built-in default topology (`BUILTIN_TOPOLOGY`): three regions on
    /// this machine.
    pub fn builtin() -> Result<Topology, ConfigError> {
        let topology: Topology = toml::from_str(BUILTIN_TOPOLOGY).map_err(|source| ConfigError::Parse {
            path: "the built-in topology".into(),
            source,
        })?;
        topology.validate()?;
        Ok(topology)
    }

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
            crate::clock::check_offset_ms(region.clock_offset_ms)
                .map_err(|e| ConfigError::Invalid(format!("region {}: {e}", region.name)))?;
            for addr in [region.api, region.peer] {
                if addr.port() != 0 && !addrs.insert(addr) {
                    return Err(ConfigError::Invalid(format!("address {addr} is used twice")));
                }
            }
        }
        for link in &self.link {
            if !names.contains(link.from.as_str()) || !names.contains(link.to.as_str()) || link.from == link.to {
                return Err(ConfigError::Invalid(format!(
                    "link {} -> {} must join two different regions of the topology",
                    link.from, link.to
                )));
            }
            link.faults().validate()?;
        }
        let mut tables = HashSet::new();
        for table in &self.table {
            table.validate()?;
            if !tables.insert(table.name.as_str()) {
                return Err(ConfigError::Invalid(format!("table {} is declared twice", table.name)));
            }
        }
        Ok(())
    }

    /// The configured conditions of the links leaving `region`, by peer.
    pub fn links_from(&self, region: &str) -> Vec<(String, LinkFaults)> {
        self.link
            .iter()
            .filter(|l| l.from == region)
            .map(|l| (l.to.clone(), l.faults()))
            .collect()
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
    /// Local does; "sigv4" requires every request to carry a valid AWS
    /// Signature Version 4 from a user of `auth_credentials`, and checks
    /// that user's policy. Default "none".
    pub auth: String,
    /// The credentials file `auth = "sigv4"` checks requests against (TOML,
    /// one `[[user]]` per user; readable by its owner only). Relative paths
    /// are from the working directory. Default "" (none).
    pub auth_credentials: String,
    /// Who may use `/admin/*`, `/status` and `/metrics`.
    pub admin: AdminConfig,
    /// Request limits.
    pub limits: LimitsConfig,
    /// Client connection limits and timeouts of the API.
    pub connections: ConnectionsConfig,
    /// Storage engine settings.
    pub storage: StorageConfig,
    /// Point-in-time recovery, backups and exports.
    pub pitr: PitrConfig,
    /// DynamoDB Streams settings.
    pub streams: StreamsConfig,
    /// Time to Live sweeper settings.
    pub ttl: TtlConfig,
    /// Capacity enforcement (throttling) and hot-partition simulation.
    pub capacity: CapacityConfig,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig {
            log_level: "info".into(),
            auth: "none".into(),
            auth_credentials: String::new(),
            admin: AdminConfig::default(),
            limits: LimitsConfig::default(),
            connections: ConnectionsConfig::default(),
            storage: StorageConfig::default(),
            pitr: PitrConfig::default(),
            streams: StreamsConfig::default(),
            ttl: TtlConfig::default(),
            capacity: CapacityConfig::default(),
        }
    }
}

/// Capacity enforcement: provisioned tables throttle at their read and
/// write units with DynamoDB's burst, on-demand tables at the per-table
/// quota, and, when `partition_limits` is on, each partition key at
/// DynamoDB's per-partition ceiling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapacityConfig {
    /// Whether capacity is metered and enforced at all; off, nothing is
    /// throttled and the capacity metrics stay at zero. Default true.
    pub enabled: bool,
    /// Unused capacity a table keeps for bursts, seconds (DynamoDB keeps
    /// 300). Default 300.
    pub burst_seconds: u64,
    /// Read request units per second an on-demand table may use
    /// (DescribeLimits' TableMaxReadCapacityUnits). Default 40000.
    pub table_max_read_units: u64,
    /// Write request units per second an on-demand table may use
    /// (DescribeLimits' TableMaxWriteCapacityUnits). Default 40000.
    pub table_max_write_units: u64,
    /// Simulate DynamoDB's per-partition ceilings, one partition per
    /// partition key value. Default false.
    pub partition_limits: bool,
    /// Read units per second one partition key may use. Default 3000.
    pub partition_read_units: u64,
    /// Write units per second one partition key may use. Default 1000.
    pub partition_write_units: u64,
    /// Most throttled keys `/status` lists. Default 10.
    pub hot_keys: usize,
}

impl Default for CapacityConfig {
    fn default() -> CapacityConfig {
        CapacityConfig {
            enabled: true,
            burst_seconds: 300,
            table_max_read_units: 40_000,
            table_max_write_units: 40_000,
            partition_limits: false,
            partition_read_units: 3000,
            partition_write_units: 1000,
            hot_keys: 10,
        }
    }
}

impl CapacityConfig {
    /// Checks every rate, the burst and the hot-key count are above zero.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let zero = [
            ("burst_seconds", self.burst_seconds),
            ("table_max_read_units", self.table_max_read_units),
            ("table_max_write_units", self.table_max_write_units),
            ("partition_read_units", self.partition_read_units),
            ("partition_write_units", self.partition_write_units),
            ("hot_keys", self.hot_keys as u64),
        ]
        .into_iter()
        .find(|(_, value)| *value == 0);
        match zero {
            Some((name, _)) => Err(ConfigError::Invalid(format!("capacity.{name} must be > 0"))),
            None => Ok(()),
        }
    }
}

/// Who may use the admin surface (`/admin/*`, `/status`, `/metrics`).
/// A request is admitted with the admin token, or from a trusted network
/// with a `Host` (and `Origin`, when sent) naming a loopback address, so
/// that a web page cannot drive the admin surface through the user's
/// browser (DNS rebinding, cross-site requests).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// File holding the admin token (readable by its owner only), sent as
    /// `Authorization: Bearer TOKEN`. Default "" (no token: admin only from
    /// trusted networks).
    pub token_file: String,
    /// Networks whose clients need no token, as CIDR blocks. Default
    /// loopback: ["127.0.0.0/8", "::1/128"].
    pub trusted_networks: Vec<String>,
}

impl Default for AdminConfig {
    fn default() -> AdminConfig {
        AdminConfig {
            token_file: String::new(),
            trusted_networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
        }
    }
}

impl AdminConfig {
    /// The trusted networks, parsed.
    pub fn networks(&self) -> Result<Vec<IpNetwork>, ConfigError> {
        self.trusted_networks.iter().map(|n| IpNetwork::parse(n)).collect()
    }

    /// Checks every trusted network is a CIDR block.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.networks().map(|_| ())
    }
}

/// An IP network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare
/// address is a network of one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNetwork {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Parses `text`, refusing a prefix longer than the address.
    pub fn parse(text: &str) -> Result<IpNetwork, ConfigError> {
        let invalid = || ConfigError::Invalid(format!("admin.trusted_networks: {text:?} is not a CIDR block"));
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: std::net::IpAddr = addr.parse().map_err(|_| invalid())?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.parse::<u8>().map_err(|_| invalid())?,
            None => bits,
        };
        if prefix > bits {
            return Err(invalid());
        }
        Ok(IpNetwork { addr, prefix })
    }

    /// Whether `ip` is in the network (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let mask = |bits: u32, width: u32| if bits == 0 { 0 } else { u128::MAX << (width - bits) };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let m = mask(self.prefix.into(), 32) as u32;
                u32::from(net) & m == u32::from(ip) & m
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let m = mask(self.prefix.into(), 128);
                u128::from(net) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }
}

/// Request limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body accepted, bytes. Default 16 MiB, as DynamoDB.
    pub max_request_bytes: usize,
    /// Largest item collection (a partition's items and their local
    /// secondary index entries) of a table with local secondary indexes,
    /// bytes. Default 10 GiB, as DynamoDB; smaller to rehearse hitting it.
    pub item_collection_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            max_request_bytes: 16 * 1024 * 1024,
            item_collection_bytes: 10 * 1024 * 1024 * 1024,
        }
    }
}

/// Client connection limits and timeouts of the API. At a cap, the
/// connection idle longest is closed to admit the new one (only when every
/// connection is busy is the new one refused), so idle connections cannot
/// starve real clients. Each limit hit is logged as a warning, rate-limited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsConfig {
    /// Most client connections open at once, all addresses together; keep
    /// it below the open-files limit. Default 8192.
    pub max_connections: usize,
    /// Most connections open at once from one client IP address. Default
    /// 4096.
    pub max_connections_per_address: usize,
    /// Time a client has to send a request's headers, milliseconds.
    /// Default 10000.
    pub header_read_timeout_ms: u64,
    /// Time a request's whole body has to arrive in once its headers have,
    /// milliseconds. Default 30000.
    pub body_read_timeout_ms: u64,
    /// Time a connection may stay open without a request in flight and
    /// without traffic, milliseconds. Default 60000.
    pub idle_timeout_ms: u64,
    /// Shortest time between two warnings of the same limit, seconds (the
    /// hits in between are counted in the next). Default 10.
    pub warn_interval_secs: u64,
}

impl Default for ConnectionsConfig {
    fn default() -> ConnectionsConfig {
        ConnectionsConfig {
            max_connections: 8192,
            max_connections_per_address: 4096,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            warn_interval_secs: 10,
        }
    }
}

impl ConnectionsConfig {
    /// Checks every cap and timeout is above zero and the per-address cap
    /// is within the total.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let zero = [
            ("max_connections", self.max_connections as u64),
            ("max_connections_per_address", self.max_connections_per_address as u64),
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("body_read_timeout_ms", self.body_read_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
        ]
        .into_iter()
        .find(|(_, value)| *value == 0);
        if let Some((name, _)) = zero {
            return Err(ConfigError::Invalid(format!("connections.{name} must be > 0")));
        }
        if self.max_connections_per_address > self.max_connections {
            return Err(ConfigError::Invalid(
                "connections.max_connections_per_address must not exceed connections.max_connections".into(),
            ));
        }
        Ok(())
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
    /// Longest time between checkpoints (durable redb commits that empty the
    /// write-ahead log), ms. Longer: fewer stalls of the writer; shorter: less
    /// log to redo after a crash; 0 makes every commit a checkpoint (no log).
    /// Default 5000.
    pub checkpoint_interval_ms: u64,
    /// Time between passes of the change-log trimmer, ms. It removes the
    /// entries older than `streams.retention_secs` that every peer has
    /// acknowledged. Default 60000.
    pub log_trim_interval_ms: u64,
    /// Longest a peer that does not acknowledge (down, or cut off) holds
    /// change-log entries back, seconds; past it they are trimmed all the
    /// same, and the peer is resynchronised from a snapshot when it comes
    /// back. 0 holds them for as long as the peer is away. Default 86400.
    pub log_hold_max_secs: u64,
    /// How long conflict records (`/admin/conflicts`) are kept, seconds;
    /// the change-log trimmer removes older ones. 0 keeps them for ever.
    /// Default 604800 (a week).
    pub conflict_retention_secs: u64,
    /// Keep the region's store in memory: no files, no log syncs, nothing
    /// kept after the process ends (`--in-memory` sets it). Default false.
    pub in_memory: bool,
    /// Free space kept on the data directory's file system, bytes: below
    /// it the region is read-only (writes get InternalServerError saying
    /// the disk is full; reads, DeleteTable and DeleteBackup still run).
    /// Default 268435456 (256 MiB).
    pub disk_reserve_bytes: u64,
}

impl Default for StorageConfig {
    fn default() -> StorageConfig {
        StorageConfig {
            group_commit_max: 512,
            write_queue: 4096,
            cache_bytes: 256 * 1024 * 1024,
            checkpoint_interval_ms: 5000,
            log_trim_interval_ms: 60_000,
            log_hold_max_secs: 86_400,
            conflict_retention_secs: 604_800,
            in_memory: false,
            disk_reserve_bytes: 256 * 1024 * 1024,
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
        self.connections.validate()?;
        self.capacity.validate()?;
        match self.auth.as_str() {
            "none" => {}
            "sigv4" if self.auth_credentials.is_empty() => {
                return Err(ConfigError::Invalid(
                    "auth = \"sigv4\" needs auth_credentials, the file of users and their keys".into(),
                ));
            }
            "sigv4" => {}
            other => {
                return Err(ConfigError::Invalid(format!(
                    "auth mode {other:?} is not supported (use \"none\" or \"sigv4\")"
                )));
            }
        }
        self.admin.validate()?;
        if self.storage.group_commit_max == 0 || self.storage.write_queue == 0 || self.storage.log_trim_interval_ms == 0
        {
            return Err(ConfigError::Invalid(
                "storage.group_commit_max, storage.write_queue and storage.log_trim_interval_ms must be > 0".into(),
            ));
        }
        if self.pitr.gc_interval_secs == 0 || self.pitr.chunk_items == 0 {
            return Err(ConfigError::Invalid(
                "pitr.gc_interval_secs and pitr.chunk_items must be > 0".into(),
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
        assert_eq!(Topology::builtin().unwrap(), topology);
    }

    #[test]
    fn trusted_networks_are_cidr_blocks() {
        let loopback = IpNetwork::parse("127.0.0.0/8").unwrap();
        assert!(loopback.contains("127.1.2.3".parse().unwrap()));
        assert!(loopback.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!loopback.contains("128.0.0.1".parse().unwrap()));
        assert!(!loopback.contains("::1".parse().unwrap()));
        let one = IpNetwork::parse("::1").unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(
            IpNetwork::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["", "10.0.0.0/33", "::/129", "host/8", "10.0.0.0/x"] {
            assert!(IpNetwork::parse(bad).is_err(), "{bad}");
        }
        let mut config = NodeConfig::default();
        config.admin.trusted_networks = vec!["nonsense".into()];
        assert!(config.validate().is_err());
        config.admin = AdminConfig::default();
        config.auth = "sigv4".into();
        assert!(config.validate().is_err(), "sigv4 without a credentials file");
        config.auth_credentials = "users.toml".into();
        assert!(config.validate().is_ok());
        config.auth = "basic".into();
        assert!(config.validate().is_err());
    }

    #[test]
    fn shipped_presets_parse_with_links_both_ways() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (file, regions) in [("regions/three-continents.toml", 3), ("regions/world.toml", 5)] {
            let topology = Topology::load(&root.join(file)).unwrap();
            assert_eq!(topology.region.len(), regions, "{file}");
            assert_eq!(topology.link.len(), regions * (regions - 1), "{file}");
            assert!(topology.link.iter().all(|l| l.delay_ms > 0), "{file}");
        }
    }

    #[test]
    fn the_commented_table_example_in_local_toml_is_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("regions/local.toml")).unwrap();
        let start = text.find("# [[table]]").expect("local.toml shows a [[table]]");
        let example: Vec<&str> = text[start..]
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .collect();
        let topology: Topology = toml::from_str(&format!("{}{}", &text[..start], example.join("\n"))).unwrap();
        topology.validate().unwrap();
        assert_eq!(topology.table[0].range_key.as_deref(), Some("sk"));
    }

    #[test]
    fn declared_tables_parse_with_defaults_and_are_checked() {
        let region = "[[region]]\nname='a'\napi='127.0.0.1:1'\npeer='127.0.0.1:2'\n";
        let parse = |tables: &str| toml::from_str::<Topology>(&format!("{region}{tables}"));
        let ok = parse("[[table]]\nname='orders'\nhash_key='pk'\n[[table]]\nname='events'\nhash_key='id'\nhash_key_type='N'\nrange_key='at'\n").unwrap();
        ok.validate().unwrap();
        assert_eq!(ok.table[0].hash_key_type, ScalarType::S);
        assert_eq!(ok.table[1].range_key.as_deref(), Some("at"));
        assert_eq!(ok.table[1].hash_key_type, ScalarType::N);
        for bad in [
            "[[table]]\nname='ab'\nhash_key='pk'\n",
            "[[table]]\nname='a b c'\nhash_key='pk'\n",
            "[[table]]\nname='orders'\nhash_key=''\n",
            "[[table]]\nname='orders'\nhash_key='pk'\nrange_key='pk'\n",
            "[[table]]\nname='orders'\nhash_key='pk'\n[[table]]\nname='orders'\nhash_key='pk'\n",
        ] {
            assert!(parse(bad).unwrap().validate().is_err(), "{bad}");
        }
        assert!(parse("[[table]]\nname='orders'\nhash_key='pk'\nhash_key_type='BOOL'\n").is_err());
    }

    #[test]
    fn rejects_duplicate_regions() {
        let text = "[[region]]\nname='a'\napi='127.0.0.1:1'\npeer='127.0.0.1:2'\n[[region]]\nname='a'\napi='127.0.0.1:3'\npeer='127.0.0.1:4'\n";
        let topology: Topology = toml::from_str(text).unwrap();
        assert!(topology.validate().is_err());
    }

    #[test]
    fn links_parse_with_defaults_and_are_checked() {
        let regions = "[[region]]\nname='a'\napi='127.0.0.1:1'\npeer='127.0.0.1:2'\n[[region]]\nname='b'\napi='127.0.0.1:3'\npeer='127.0.0.1:4'\n";
        let ok: Topology = toml::from_str(&format!("{regions}[[link]]\nfrom='a'\nto='b'\ndelay_ms=40\n")).unwrap();
        ok.validate().unwrap();
        let faults = &ok.links_from("a")[0];
        assert_eq!(faults.0, "b");
        assert_eq!(
            faults.1,
            LinkFaults {
                delay_ms: 40,
                ..LinkFaults::default()
            }
        );
        assert!(ok.links_from("b").is_empty());
        let unknown: Topology = toml::from_str(&format!("{regions}[[link]]\nfrom='a'\nto='c'\n")).unwrap();
        assert!(unknown.validate().is_err());
        let lossy: Topology = toml::from_str(&format!("{regions}[[link]]\nfrom='a'\nto='b'\nloss=1.0\n")).unwrap();
        assert!(lossy.validate().is_err());
        assert!(toml::from_str::<Topology>(&format!("{regions}[[link]]\nfrom='a'\nto='b'\ndelay=1\n")).is_err());
        for (key, value, valid) in [
            ("delay_ms", 600_000u64, true),
            ("delay_ms", 600_001, false),
            ("jitter_ms", 600_001, false),
            ("delay_ms", u64::MAX / 2, false),
        ] {
            let link: Topology =
                toml::from_str(&format!("{regions}[[link]]\nfrom='a'\nto='b'\n{key}={value}\n")).unwrap();
            assert_eq!(link.validate().is_ok(), valid, "{key}={value}");
        }
    }

    #[test]
    fn clock_offsets_are_limited_to_a_day() {
        let region = |offset: i64| {
            format!("[[region]]\nname='a'\napi='127.0.0.1:1'\npeer='127.0.0.1:2'\nclock_offset_ms={offset}\n")
        };
        for (offset, valid) in [
            (86_400_000, true),
            (-86_400_000, true),
            (86_400_001, false),
            (i64::MIN, false),
        ] {
            let topology: Topology = toml::from_str(&region(offset)).unwrap();
            assert_eq!(topology.validate().is_ok(), valid, "{offset}");
        }
    }

    #[test]
    fn connection_limits_are_checked() {
        assert!(ConnectionsConfig::default().validate().is_ok());
        assert!(CapacityConfig::default().validate().is_ok());
        for field in [
            "burst_seconds",
            "table_max_write_units",
            "partition_read_units",
            "hot_keys",
        ] {
            let config: NodeConfig = toml::from_str(&format!("[capacity]\n{field} = 0\n")).unwrap();
            assert!(config.validate().is_err(), "{field} = 0");
        }
        let zero_timeout = ConnectionsConfig {
            idle_timeout_ms: 0,
            ..ConnectionsConfig::default()
        };
        assert!(zero_timeout.validate().is_err());
        let wider_per_address = ConnectionsConfig {
            max_connections: 10,
            max_connections_per_address: 11,
            ..ConnectionsConfig::default()
        };
        assert!(wider_per_address.validate().is_err());
        let config: NodeConfig = toml::from_str("[connections]\nmax_connections = 0\n").unwrap();
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("connections.max_connections")
        );
    }
}
