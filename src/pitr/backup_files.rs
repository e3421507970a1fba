//! Where a region keeps the bytes of its on-demand backups: one file per
//! backup under `<data dir>/backups`, or, for a region whose store is in
//! memory (`--in-memory`, which creates no file anywhere), a map kept for
//! the life of the process, as the region's items are.
//!
//! Both hold the same bytes (`backup.rs` writes and reads the layout), so
//! a backup's size and its restore are the same either way.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::PitrError;

/// The backups' bytes, by backup id.
pub(super) enum BackupFiles {
    /// Files `<id>.mbk` in this directory (created with the first backup).
    Dir(PathBuf),
    /// In memory, for a region with no files.
    Memory(Mutex<HashMap<String, Arc<[u8]>>>),
}

impl BackupFiles {
    /// Files under `<data_dir>/backups`, or in memory when `in_memory`.
    pub(super) fn new(data_dir: &std::path::Path, in_memory: bool) -> BackupFiles {
        if in_memory {
            BackupFiles::Memory(Mutex::default())
        } else {
            BackupFiles::Dir(data_dir.join("backups"))
        }
    }

    fn file(dir: &std::path::Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.mbk"))
    }

    fn memory(map: &Mutex<HashMap<String, Arc<[u8]>>>) -> std::sync::MutexGuard<'_, HashMap<String, Arc<[u8]>>> {
        // The map is only read and replaced whole: a panic elsewhere while
        // the lock was held cannot have left it half-changed.
        map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores backup `id` from what `fill` writes, made durable (a file is
    /// written under a temporary name, synced and renamed) before it
    /// returns; returns the backup's size in bytes and what `fill` returned.
    /// Blocking: call on a blocking thread.
    pub(super) fn write<T>(
        &self,
        id: &str,
        fill: impl FnOnce(&mut dyn Write) -> Result<T, PitrError>,
    ) -> Result<(u64, T), PitrError> {
        match self {
            BackupFiles::Dir(dir) => {
                std::fs::create_dir_all(dir)?;
                let path = BackupFiles::file(dir, id);
                let tmp = path.with_extension("tmp");
                let mut out = BufWriter::new(std::fs::File::create(&tmp)?);
                let filled = fill(&mut out)?;
                let file = out.into_inner().map_err(|e| e.into_error())?;
                file.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                Ok((std::fs::metadata(&path)?.len(), filled))
            }
            BackupFiles::Memory(map) => {
                let mut bytes = Vec::new();
                let filled = fill(&mut bytes)?;
                let size = bytes.len() as u64;
                BackupFiles::memory(map).insert(id.to_string(), bytes.into());
                Ok((size, filled))
            }
        }
    }

    /// Reads backup `id` from its start. Blocking for files: call on a
    /// blocking thread.
    pub(super) fn open(&self, id: &str) -> Result<Box<dyn Read + Send>, PitrError> {
        match self {
            BackupFiles::Dir(dir) => Ok(Box::new(BufReader::new(std::fs::File::open(BackupFiles::file(
                dir, id,
            ))?))),
            BackupFiles::Memory(map) => {
                let bytes = BackupFiles::memory(map).get(id).cloned().ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, format!("backup {id} is not in memory"))
                })?;
                Ok(Box::new(std::io::Cursor::new(bytes)))
            }
        }
    }

    /// Removes backup `id`; a backup already gone is not an error.
    pub(super) fn remove(&self, id: &str) -> Result<(), PitrError> {
        match self {
            // Removing a file is one short system call: not worth a thread hop.
            BackupFiles::Dir(dir) => match std::fs::remove_file(BackupFiles::file(dir, id)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            },
            BackupFiles::Memory(map) => {
                BackupFiles::memory(map).remove(id);
                Ok(())
            }
        }
    }
}
