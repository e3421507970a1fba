//! The `meridian` binary: parse the command line and hand over to the library.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    meridian::cli::run(meridian::cli::Cli::parse())
}
