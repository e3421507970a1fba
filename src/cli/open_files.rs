//! The process's limit on open files, raised to what the system allows.
//!
//! Every client connection is an open file. The soft limit many systems
//! start processes with is 1024, while the hard limit is far higher: at the
//! soft limit a region stops accepting at about a thousand connections, and
//! the core bench (which holds both ends of its 512 connections in one
//! process) cannot open them all. Raising the soft limit up to the hard one is
//! allowed to any process; Go's runtime does it at start for the same reason.

use std::io;

/// Raises the soft limit on open files as far as the system allows (the
/// hard limit, or Linux's `fs.nr_open` when that is lower, as it is when
/// the hard limit is unlimited) and returns the soft limit now in force.
pub fn raise_to_system_limit() -> io::Result<u64> {
    let (soft, hard) = limits()?;
    let ceiling = hard.min(nr_open().unwrap_or(hard));
    if soft >= ceiling {
        return Ok(soft);
    }
    set_limits(ceiling, hard)?;
    Ok(ceiling)
}

/// The soft and hard limits on open files.
fn limits() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

fn set_limits(soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Linux's cap on any process's open files, above which setrlimit fails.
fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_as_far_as_the_system_allows() {
        let (_, hard) = limits().unwrap();
        let ceiling = hard.min(nr_open().unwrap_or(hard));
        // One below the ceiling: enough to need raising, and never so low
        // that tests running beside this one run out of files.
        set_limits(ceiling - 1, hard).unwrap();
        assert_eq!(raise_to_system_limit().unwrap(), ceiling);
        assert_eq!(limits().unwrap(), (ceiling, hard));
        // Already there: nothing to do.
        assert_eq!(raise_to_system_limit().unwrap(), ceiling);
    }
}
