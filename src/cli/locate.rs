//! Finding the cluster a command is about, from any directory: which
//! topology (`--topology`, else `regions/local.toml` in the current
//! directory, else the one built into the binary), and where a running
//! `meridian up` is (the record it keeps in a per-user directory, as well as
//! `DATA_DIR/up.control`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::http::Access;
use crate::config::Topology;

/// Adds this many to every (non-zero) port of the topology any command
/// loads, so a second cluster (a test's) runs beside one on the default
/// ports. Children of `up` inherit it, and so agree on the ports.
pub const PORT_OFFSET_ENV: &str = "MERIDIAN_PORT_OFFSET";

/// The per-user record of the running `meridian up`.
const UP_RECORD: &str = "up.json";

/// What a command suggests when no cluster runs.
pub const START_HINT: &str =
    "start one with `meridian up` (or `meridian serve --in-memory --port 8000` for one region)";

/// The region a command talks to through its API, and how to reach it.
#[derive(Debug, clap::Args)]
pub struct RegionEndpoint {
    /// Region (the topology gives its API address).
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Topology file (default: that of the running `meridian up`, else
    /// regions/local.toml here, else the built-in one).
    #[arg(long)]
    pub topology: Option<PathBuf>,
    /// API address to use instead of the topology's (host:port).
    #[arg(long)]
    pub endpoint: Option<SocketAddr>,
    /// Node config file of the cluster: with its `api_tls` set the command
    /// speaks HTTPS, trusting the cluster CA, as the admin commands do
    /// (default: the running `meridian up`'s). Requests are signed with
    /// SigV4 when AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
    /// AWS_SESSION_TOKEN) are set, as the AWS CLI takes them, for regions
    /// with `auth = "sigv4"`.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl RegionEndpoint {
    /// The region's API address: `--endpoint`, else the topology's.
    pub fn address(&self) -> anyhow::Result<SocketAddr> {
        match self.endpoint {
            Some(addr) => Ok(addr),
            None => Ok(cluster_topology(self.topology.as_deref())?.region(&self.region)?.api),
        }
    }
}

/// Where a topology came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopologySource {
    /// A file (`--topology`, or `regions/local.toml` in the current directory).
    File(PathBuf),
    /// The default topology built into the binary.
    Builtin,
}

/// `path`, else `regions/local.toml` if the current directory has one,
/// else the built-in default.
pub fn resolve_topology(path: Option<&Path>) -> TopologySource {
    let local = super::common::default_topology();
    match path {
        Some(path) => TopologySource::File(path.to_path_buf()),
        None if local.is_file() => TopologySource::File(local),
        None => TopologySource::Builtin,
    }
}

/// The topology `source` names, with the port offset of `PORT_OFFSET_ENV`
/// applied.
pub fn load_source(source: &TopologySource) -> anyhow::Result<Topology> {
    let mut topology = match source {
        TopologySource::File(path) => Topology::load(path)?,
        TopologySource::Builtin => Topology::builtin()?,
    };
    offset_ports(&mut topology, port_offset()?)?;
    Ok(topology)
}

/// `load_source(resolve_topology(path))`, and where it came from.
pub fn load_topology(path: Option<&Path>) -> anyhow::Result<(Topology, TopologySource)> {
    let source = resolve_topology(path);
    Ok((load_source(&source)?, source))
}

/// The offset `PORT_OFFSET_ENV` asks for (0 when unset).
fn port_offset() -> anyhow::Result<u16> {
    match std::env::var(PORT_OFFSET_ENV) {
        Ok(text) => text
            .trim()
            .parse()
            .with_context(|| format!("{PORT_OFFSET_ENV}={text:?} is not a port offset (0 to 65535)")),
        Err(_) => Ok(0),
    }
}

/// Adds `offset` to every non-zero port of `topology`.
fn offset_ports(topology: &mut Topology, offset: u16) -> anyhow::Result<()> {
    let shift = |addr: &mut SocketAddr| -> anyhow::Result<()> {
        if addr.port() != 0 {
            let port = addr
                .port()
                .checked_add(offset)
                .with_context(|| format!("{PORT_OFFSET_ENV}={offset} takes port {} past 65535", addr.port()))?;
            addr.set_port(port);
        }
        Ok(())
    };
    for region in &mut topology.region {
        shift(&mut region.api)?;
        shift(&mut region.peer)?;
    }
    Ok(())
}

/// What `meridian up` records about itself for commands run elsewhere.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UpRecord {
    /// The supervisor's process id.
    pub pid: u32,
    /// Its control endpoint (host:port).
    pub control: String,
    /// Its root data directory (absolute), or `None` in memory.
    pub data_dir: Option<PathBuf>,
    /// The topology its regions run, ports offset.
    pub topology: Topology,
    /// The node config file its regions run with (absolute), if any: where
    /// commands find the admin token.
    #[serde(default)]
    pub config: Option<PathBuf>,
}

/// The per-user directory for `up`'s record: `$XDG_RUNTIME_DIR/meridian`,
/// else `~/.local/state/meridian`.
pub fn state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("meridian"));
    }
    let home = std::env::var_os("HOME").filter(|d| !d.is_empty())?;
    Some(PathBuf::from(home).join(".local/state/meridian"))
}

/// Writes `record` to the per-user directory (aside, then renamed, so a
/// reader never sees half of it); returns where.
pub fn write_up_record(record: &UpRecord) -> anyhow::Result<PathBuf> {
    let dir = state_dir().context("neither XDG_RUNTIME_DIR nor HOME is set")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let path = dir.join(UP_RECORD);
    let partial = dir.join(format!("{UP_RECORD}.{}", record.pid));
    std::fs::write(&partial, serde_json::to_vec_pretty(record)?)
        .with_context(|| format!("write {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

/// Removes the per-user record if it is still this process's (a later
/// `up` may have replaced it).
pub fn remove_up_record() {
    let ours = read_up_record().is_some_and(|r| r.pid == std::process::id());
    if let (true, Some(dir)) = (ours, state_dir()) {
        let _ = std::fs::remove_file(dir.join(UP_RECORD));
    }
}

fn read_up_record() -> Option<UpRecord> {
    let text = std::fs::read(state_dir()?.join(UP_RECORD)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The running `meridian up` the per-user record names, if its process is
/// alive.
pub fn running_up() -> Option<UpRecord> {
    read_up_record().filter(|r| process_alive(r.pid))
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with signal 0 sends nothing; it only checks the pid.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// The topology of the cluster a command acts on: `--topology`, else that
/// of the running `meridian up`, else `load_topology`'s default.
pub fn cluster_topology(path: Option<&Path>) -> anyhow::Result<Topology> {
    if path.is_none()
        && let Some(up) = running_up()
    {
        return Ok(up.topology);
    }
    Ok(load_topology(path)?.0)
}

pub use super::common::ADMIN_TOKEN_ENV;

/// How commands reach the regions (see [`Access`]), from the node config
/// `config`, else the running `meridian up`'s:
/// - the admin token: the `MERIDIAN_ADMIN_TOKEN` variable, else the
///   config's `admin.token_file`, else none (the admin surface then answers
///   only trusted networks, loopback by default);
/// - HTTPS when the config serves the API over it (`api_tls`), trusting
///   the cluster CA, which issues the API certificates.
pub fn access(config: Option<&Path>) -> anyhow::Result<Access> {
    let env_token = std::env::var(ADMIN_TOKEN_ENV)
        .ok()
        .map(|token| token.trim().to_string())
        .filter(|token| !token.is_empty());
    let up = running_up();
    let config = match config {
        Some(path) => Some(path.to_path_buf()),
        None => up.as_ref().and_then(|up| up.config.clone()),
    };
    let Some(path) = config else {
        return Ok(Access {
            token: env_token,
            tls: None,
        });
    };
    let node = crate::config::NodeConfig::load(&path).with_context(|| format!("read {}", path.display()))?;
    let token = match env_token {
        Some(token) => Some(token),
        None if node.admin.token_file.is_empty() => None,
        None => Some(crate::auth::admin::read_token(Path::new(&node.admin.token_file))?),
    };
    let tls = if node.api_tls.enabled() {
        let data_dir = up.and_then(|up| up.data_dir);
        let ca = cluster_ca_file(Path::new(&node.api_tls.cert_file), data_dir.as_deref())?;
        Some(crate::replication::tls::api_client_config(&ca)?)
    } else {
        None
    };
    Ok(Access { token, tls })
}

/// The cluster CA's certificate a command trusts for HTTPS: the one beside
/// the API certificate (`meridian init --region-certs` puts it there), else
/// the one in `data_dir` (the running `up`'s), else in `./data`.
fn cluster_ca_file(api_cert: &Path, data_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    use crate::replication::tls::CA_CERT_FILE;
    let beside = api_cert.parent().map(|dir| dir.join(CA_CERT_FILE));
    let candidates: Vec<PathBuf> = beside
        .into_iter()
        .chain(data_dir.map(|dir| dir.join(CA_CERT_FILE)))
        .chain([Path::new("data").join(CA_CERT_FILE)])
        .collect();
    match candidates.iter().find(|path| path.is_file()) {
        Some(path) => Ok(path.clone()),
        None => anyhow::bail!(
            "the regions serve HTTPS (api_tls), but no cluster CA certificate to trust was found (looked for {})",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The control endpoint of the `meridian up` whose data directory is
/// `data_dir`, or, without one, of the running `up` (per-user record, then
/// `./data`).
pub fn control_address(data_dir: Option<&Path>) -> anyhow::Result<String> {
    if data_dir.is_none()
        && let Some(up) = running_up()
    {
        return Ok(up.control);
    }
    let dir = data_dir.unwrap_or(Path::new("data"));
    let file = dir.join(super::common::CONTROL_FILE);
    match std::fs::read_to_string(&file) {
        Ok(addr) => Ok(addr.trim().to_string()),
        Err(_) if data_dir.is_some() => anyhow::bail!(
            "no `meridian up --data-dir {}` is running ({} is missing); {START_HINT}",
            dir.display(),
            file.display()
        ),
        Err(_) => anyhow::bail!("no `meridian up` is running; {START_HINT}"),
    }
}

/// `error`, explained when it means nothing listens at `addr`.
/// `scheme` is how it was reached (`http`, `https`).
pub fn explain_unreachable_at(error: anyhow::Error, region: &str, scheme: &str, addr: &str) -> anyhow::Error {
    let refused = error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
    });
    if refused {
        anyhow::anyhow!("nothing answers at {scheme}://{addr} (region {region}): is the cluster running? {START_HINT}")
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_offset_except_zero() {
        let mut topology = Topology::builtin().unwrap();
        topology.region[1].peer.set_port(0);
        offset_ports(&mut topology, 100).unwrap();
        assert_eq!(topology.region[0].api.port(), 8100);
        assert_eq!(topology.region[0].peer.port(), 7100);
        assert_eq!(topology.region[1].peer.port(), 0);
        assert!(offset_ports(&mut topology, 65000).is_err());
    }

    #[test]
    fn connection_refused_is_explained() {
        let refused = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let text =
            explain_unreachable_at(refused.context("GET /status"), "us-east-1", "http", "127.0.0.1:1").to_string();
        assert!(
            text.contains("nothing answers at http://127.0.0.1:1") && text.contains("meridian up"),
            "{text}"
        );
        let other = explain_unreachable_at(anyhow::anyhow!("bad answer"), "us-east-1", "http", "127.0.0.1:1");
        assert_eq!(other.to_string(), "bad answer");
    }
}
