//! The `meridian` binary: parse the command line and hand over to the library.

use clap::Parser;

/// mimalloc rather than glibc's malloc: a write's buffers are allocated on
/// one thread and freed on another, and under PutItem glibc's malloc and
/// free took about a quarter of a region's CPU samples (a tenth with
/// mimalloc). Reads gain most (README, Architecture: Allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    meridian::cli::run(meridian::cli::Cli::parse())
}
