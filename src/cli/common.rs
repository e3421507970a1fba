//! What several commands share, kept in a leaf so that the commands import
//! it rather than the module that dispatches to them.

use std::path::PathBuf;

/// Prints one line to stdout, ignoring a closed pipe: a supervisor whose
/// reader went away (`meridian up | head -1`) keeps its regions running
/// rather than dying on `println!`'s panic.
pub fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Where `meridian` looks for files when no flag says otherwise.
pub fn default_topology() -> PathBuf {
    PathBuf::from("regions/local.toml")
}
