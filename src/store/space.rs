//! Free disk space, and whether writes are refused for lack of it.
//!
//! redb fails for good once one of its file operations fails (every later
//! call, reads included, answers `PreviousIo` until the database is
//! reopened), so the disk must never fill under it. The writer measures the
//! free space of the data directory's file system after every group; below
//! the reserve (`storage.disk_reserve_bytes`) the region is read-only: new
//! writes are refused before they are queued (`StoreError::DiskFull`),
//! while reads go on. Writes that free space (DeleteTable, DeleteBackup, the
//! change-log trimmer) still run, on the reserve, and the store checkpoints
//! after them so that redb releases the pages they freed.
//!
//! redb keeps freed pages in its file for reuse rather than giving them
//! back, so free space counts them too: while the file system is under the
//! reserve, the writer also measures the database file's unused pages after
//! every group (`Store::allocated_bytes`, which walks the trees: paid only
//! while space is short), and writes go on while the two together stay
//! above the reserve. While read-only, every refused write measures the
//! file system again, so the region is writable as soon as space is freed,
//! whoever freed it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Free space of a region's file system against its reserve.
#[derive(Debug)]
pub struct DiskSpace {
    /// The directory measured (`None`: a store in memory, never full).
    dir: Option<PathBuf>,
    /// The database file, whose unused pages count as free.
    db_file: Option<PathBuf>,
    /// Below this many free bytes, writes are refused.
    reserve: u64,
    /// Free bytes at the last measure (for unprivileged users).
    available: AtomicU64,
    /// Unused bytes inside the database file at the last measure of it
    /// (measured only while `available` is under the reserve).
    in_file: AtomicU64,
    /// Whether the last measure was under the reserve.
    full: AtomicBool,
}

impl DiskSpace {
    /// Watches the file system holding `dir`, refusing writes below
    /// `reserve` free bytes. Measures the file system once now; call
    /// [`DiskSpace::measure_file`] for the database file's free pages.
    pub fn new(dir: &Path, reserve: u64) -> DiskSpace {
        let space = DiskSpace {
            dir: Some(dir.to_path_buf()),
            db_file: None,
            reserve,
            available: AtomicU64::new(u64::MAX),
            in_file: AtomicU64::new(0),
            full: AtomicBool::new(false),
        };
        space.measure();
        space
    }

    /// `new`, counting the unused pages of the database at `db_file` as
    /// free (see the module's notes).
    pub fn with_db_file(dir: &Path, db_file: &Path, reserve: u64) -> DiskSpace {
        let mut space = DiskSpace::new(dir, reserve);
        space.db_file = Some(db_file.to_path_buf());
        space
    }

    /// A store in memory: never full.
    pub fn unlimited() -> DiskSpace {
        DiskSpace {
            dir: None,
            db_file: None,
            reserve: 0,
            available: AtomicU64::new(u64::MAX),
            in_file: AtomicU64::new(0),
            full: AtomicBool::new(false),
        }
    }

    /// Whether the file system alone is under the reserve, so that the
    /// database file's free pages must be measured too.
    pub fn is_short(&self) -> bool {
        self.dir.is_some() && self.available() < self.reserve
    }

    /// Records that the database uses `allocated` bytes of its file (the
    /// rest is free for its writes), then measures again.
    pub fn measure_file(&self, allocated: u64) -> bool {
        let file_len = self
            .db_file
            .as_ref()
            .and_then(|path| std::fs::metadata(path).ok())
            .map_or(0, |m| m.len());
        self.in_file
            .store(file_len.saturating_sub(allocated), Ordering::Release);
        self.measure()
    }

    /// Measures the free space again; returns whether writes are refused.
    /// Logs when the region turns read-only or writable.
    pub fn measure(&self) -> bool {
        let Some(dir) = &self.dir else {
            return false;
        };
        let available = match available_bytes(dir) {
            Ok(bytes) => bytes,
            Err(error) => {
                // Unknown: keep the last state rather than guess.
                tracing::warn!(dir = %dir.display(), %error, "cannot measure free disk space");
                return self.full.load(Ordering::Acquire);
            }
        };
        self.available.store(available, Ordering::Release);
        // The file's free pages are counted only while they were measured
        // under a short file system; with room again they are forgotten.
        if available >= self.reserve {
            self.in_file.store(0, Ordering::Release);
        }
        let free = available.saturating_add(self.in_file.load(Ordering::Acquire));
        let full = free < self.reserve;
        let was = self.full.swap(full, Ordering::AcqRel);
        if full && !was {
            tracing::error!(
                available,
                reserve = self.reserve,
                "disk full: writes refused (read-only) until space is freed"
            );
        } else if was && !full {
            tracing::info!(
                available,
                reserve = self.reserve,
                "disk space freed: writes accepted again"
            );
        }
        full
    }

    /// Whether a new write must be refused now. While the region is
    /// read-only this measures again, so that freed space is seen at once.
    pub fn refuses_writes(&self) -> bool {
        self.full.load(Ordering::Acquire) && self.measure()
    }

    /// Whether the last measure found the disk full (read-only region).
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// Free bytes at the last measure (`u64::MAX` in memory).
    pub fn available(&self) -> u64 {
        self.available.load(Ordering::Acquire)
    }

    /// Unused bytes inside the database file at its last measure (0 while
    /// the file system has room: they are not measured then).
    pub fn in_file(&self) -> u64 {
        self.in_file.load(Ordering::Acquire)
    }

    /// Free bytes under which writes are refused.
    pub fn reserve(&self) -> u64 {
        self.reserve
    }
}

/// Bytes an unprivileged user may still write on the file system of `dir`.
fn available_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path holds a NUL byte"))?;
    // SAFETY: `path` is a valid NUL-terminated string and `stat` a plain
    // C struct that statvfs fills in; both outlive the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

impl DiskSpace {
    /// The error a write refused for lack of space gets.
    pub fn full_error(&self) -> super::StoreError {
        super::StoreError::DiskFull {
            available: self.available().saturating_add(self.in_file()),
            reserve: self.reserve,
        }
    }

    /// `error`, or `DiskFull` when it is an I/O error saying the disk is
    /// full (measuring again, so the region turns read-only at once).
    pub fn explain(&self, error: super::StoreError) -> super::StoreError {
        use super::StoreError;
        let io = match &error {
            StoreError::Wal(io) | StoreError::WalAppend(super::wal::AppendError::NotWritten(io)) => Some(io),
            StoreError::Redb(redb::Error::Io(io)) => Some(io),
            _ => None,
        };
        if io.is_some_and(is_disk_full) {
            self.measure();
            return self.full_error();
        }
        error
    }
}

/// Whether `error` says the disk (or the user's quota) is full.
pub fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_above_the_free_space_refuses_writes_and_one_below_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let roomy = DiskSpace::new(dir.path(), 0);
        assert!(!roomy.is_full() && !roomy.refuses_writes());
        assert!(roomy.available() > 0 && roomy.available() < u64::MAX);
        let full = DiskSpace::new(dir.path(), u64::MAX);
        assert!(full.is_full() && full.refuses_writes());
        assert!(!DiskSpace::unlimited().refuses_writes());
        assert!(is_disk_full(&std::io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(!is_disk_full(&std::io::Error::from_raw_os_error(libc::EIO)));
    }
}
