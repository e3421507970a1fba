//! The process's limit on open files, raised to what the system allows.
//!
//! Every client connection is an open file. The soft limit many systems
//! start processes with is 1024, while the hard limit is far higher: at the
//! soft limit a region stops accepting at about a thousand connections, and
//! the core bench (which holds both ends of its 512 connections in one
//! process) cannot open them all. Raising the soft limit to the hard one is
//! allowed to any process; Go's runtime does it at start for the same reason.

use std::io;

/// Raises the soft limit on open files to the hard limit and returns the
/// soft limit now in force.
pub fn raise_to_hard_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur >= limit.rlim_max {
        return Ok(limit.rlim_cur);
    }
    let raised = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(raised.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> (u64, u64) {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
        (limit.rlim_cur, limit.rlim_max)
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_limit() {
        // One below the hard limit: enough to need raising, and never so
        // low that tests running beside this one run out of files.
        let (_, hard) = limits();
        let set = libc::rlimit {
            rlim_cur: hard - 1,
            rlim_max: hard,
        };
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &set) }, 0);
        assert_eq!(raise_to_hard_limit().unwrap(), hard);
        assert_eq!(limits(), (hard, hard));
    }
}
