//! What several commands share, kept in a leaf so that the commands import
//! it rather than the module that dispatches to them.

use std::path::PathBuf;

use anyhow::Context;

use crate::replication::tls::ClusterCa;

/// File in the data directory holding the control endpoint's address.
pub const CONTROL_FILE: &str = "up.control";
/// Environment of a region under `up --in-memory`: the cluster CA's
/// certificate (PEM).
pub const CA_CERT_ENV: &str = "MERIDIAN_CLUSTER_CA_CERT";
/// ... and its key (PEM).
pub const CA_KEY_ENV: &str = "MERIDIAN_CLUSTER_CA_KEY";

/// The environment variable holding the admin token commands send.
pub const ADMIN_TOKEN_ENV: &str = "MERIDIAN_ADMIN_TOKEN";

/// Environment of a region under `up`: the address of `up`'s control
/// endpoint, where the region passes on the console's region commands.
pub const UP_CONTROL_ENV: &str = "MERIDIAN_UP_CONTROL";

/// Prints one line to stdout, ignoring a closed pipe: a supervisor whose
/// reader went away (`meridian up | head -1`) keeps its regions running
/// rather than dying on `println!`'s panic.
pub fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// The single-threaded runtime of a command that talks to a cluster.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")
}

/// Where `meridian` looks for files when no flag says otherwise.
pub fn default_topology() -> PathBuf {
    PathBuf::from("regions/local.toml")
}

/// The cluster CA a region under `up --in-memory` was handed, if any.
pub fn handed_over_ca(cluster: &str) -> anyhow::Result<Option<ClusterCa>> {
    match (std::env::var(CA_CERT_ENV), std::env::var(CA_KEY_ENV)) {
        (Ok(cert), Ok(key)) => Ok(Some(
            ClusterCa::from_pem(cluster, &cert, &key).context("read the cluster CA `meridian up` handed over")?,
        )),
        _ => Ok(None),
    }
}
