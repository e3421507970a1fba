//! The `meridian` command line: parses arguments and runs a subcommand.

mod api_client;
mod bench;
mod common;
mod control;
mod drill;
mod http;
mod index_wait;
mod locate;
mod open_files;
mod progress;
mod region_backup;
mod restore;
mod serve;
mod signer;
mod supervisor;
mod up;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Meridian: a self-hosted, DynamoDB-compatible database with active-active
/// global tables.
#[derive(Debug, Parser)]
#[command(name = "meridian", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_line_says_each_cause_once() {
        let io = std::io::Error::other("disk full");
        let error = anyhow::Error::from(io)
            .context("cannot open the region's store: disk full")
            .context("start us-east-1");
        assert_eq!(
            super::error_line(&error),
            "start us-east-1: cannot open the region's store: disk full"
        );
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the cluster CA in the data directory (`up` does this on first start).
    Init(InitArgs),
    /// Start every region of a topology on this machine, supervised.
    Up(up::UpArgs),
    /// Serve one region of a topology.
    Serve(serve::ServeArgs),
    /// Benchmark the API against its baselines (raw store, no-op HTTP).
    Bench(bench::BenchArgs),
    /// Show or change simulated link conditions of a running cluster.
    Link(control::LinkArgs),
    /// Stop, kill, start or pause a region under `meridian up`.
    Region(control::RegionArgs),
    /// Skew a running region's wall clock.
    Clock(control::ClockArgs),
    /// Summarise a running cluster: every region's log, peers and lag.
    Status(control::StatusArgs),
    /// Run a scripted disaster-recovery drill on a cluster of its own.
    Drill(drill::DrillArgs),
    /// Restore a table to a point in time (through a running region), or a
    /// stopped region's data directory from `meridian backup`.
    Restore(restore::RestoreArgs),
    /// Save a stopped region's whole data directory.
    Backup(region_backup::BackupArgs),
    /// Follow a secondary index's backfill until it is ACTIVE.
    Index(index_wait::IndexArgs),
}

/// Arguments of `meridian init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Topology file (its `cluster` names the CA; default: regions/local.toml
    /// if present, else the built-in topology).
    #[arg(long)]
    pub topology: Option<PathBuf>,
    /// Root data directory where the CA files are written.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Also issue a certificate and key for each region of the topology
    /// (or for the regions named, comma-separated) into DIR/certs/REGION/, with
    /// the CA certificate but not its key: what a region on a machine of
    /// its own needs. An API certificate and key for HTTPS (`api_tls`) are
    /// issued beside them.
    #[arg(long, value_name = "REGIONS", num_args = 0..=1, default_missing_value = "", value_delimiter = ',')]
    pub region_certs: Option<Vec<String>>,
}

/// Creates the cluster CA unless it exists, and with `--region-certs`
/// issues region certificates (see `InitArgs::region_certs`).
fn init(args: InitArgs) -> anyhow::Result<()> {
    use crate::replication::tls::{CA_CERT_FILE, CA_KEY_FILE, ClusterCa, region_cert_file, region_key_file};
    let (topology, _) = locate::load_topology(args.topology.as_deref())?;
    let ca = ClusterCa::load_or_create(&args.data_dir, &topology.cluster, true)?;
    println!(
        "meridian: cluster CA for {:?} in {} ({CA_CERT_FILE}, {CA_KEY_FILE})",
        topology.cluster,
        args.data_dir.display(),
    );
    let Some(named) = args.region_certs else {
        return Ok(());
    };
    let named: Vec<String> = named.into_iter().filter(|n| !n.is_empty()).collect();
    let regions: Vec<String> = if named.is_empty() {
        topology.region.iter().map(|r| r.name.clone()).collect()
    } else {
        named
    };
    for region in regions {
        let api_host = topology.region(&region)?.api.ip().to_string();
        let dir = args.data_dir.join("certs").join(&region);
        ca.write_region_files(&dir, &region)?;
        ca.write_api_files(&dir, &region, &api_host)?;
        println!(
            "meridian: certificate for {region} in {} ({}, {}, {CA_CERT_FILE}); copy them into the \
             region's root data directory. For HTTPS on its API, api-{region}.crt and .key \
             (api_tls.cert_file and key_file; clients trust {CA_CERT_FILE})",
            dir.display(),
            region_cert_file(&region),
            region_key_file(&region),
        );
    }
    Ok(())
}

/// `error` and its causes on one line, each cause after a colon, leaving
/// out a cause whose text an outer message already holds (errors that
/// print their source would otherwise say it twice).
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Err(e) = open_files::raise_to_system_limit() {
        eprintln!("meridian: could not raise the limit on open files: {e}");
    }
    match cli.command {
        Command::Init(args) => init(args),
        Command::Up(args) => up::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Link(args) => control::run_link(args),
        Command::Region(args) => control::run_region(args),
        Command::Clock(args) => control::run_clock(args),
        Command::Status(args) => control::run_status(args),
        Command::Drill(args) => drill::run(args),
        Command::Restore(args) => restore::run(args),
        Command::Backup(args) => region_backup::backup(args),
        Command::Index(args) => index_wait::run(args),
    }
}
