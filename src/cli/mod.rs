//! The `meridian` command line: parses arguments and runs a subcommand.

mod bench;
mod bench_replication;
mod serve;
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

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start every region of a topology on this machine, supervised.
    Up(up::UpArgs),
    /// Serve one region of a topology.
    Serve(serve::ServeArgs),
    /// Benchmark the API against its baselines (raw store, no-op HTTP).
    Bench(bench::BenchArgs),
}

/// Where `meridian` looks for files when no flag says otherwise.
pub fn default_topology() -> PathBuf {
    PathBuf::from("regions/local.toml")
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(args) => up::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
    }
}
