//! The `meridian` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    meridian::cli::run(meridian::cli::Cli::parse())
}
