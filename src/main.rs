//! The `meridian` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's malloc: a write's buffers are allocated on
/// one thread and freed on another, and under PutItem glibc's malloc and
/// free took about a quarter of a region's CPU samples (a tenth with
/// mimalloc). Reads gain most (README, Architecture: Allocator). It keeps
/// transparent huge pages: without them a GSI backfill ran about 10%
/// slower, which outweighs the CPU their page zeroing costs in-memory
/// PutItem (measured both ways, README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs the command; an error is printed as one line (its causes that add
/// something after a colon), never with a backtrace, whatever
/// `RUST_BACKTRACE` says.
fn main() -> ExitCode {
    match meridian::cli::run(meridian::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("meridian: error: {}", meridian::cli::error_line(&error));
            ExitCode::FAILURE
        }
    }
}
