//! The write-ahead log: where a group commit becomes durable.
//!
//! A durable redb commit writes and fsyncs every page the group dirtied: for
//! writes spread over a table that is several pages per item, and the fsync
//! grows with them (measured here: ~0.4 ms for one page, ~6 ms for 100). So
//! the writer commits to redb without fsync and makes each group durable by
//! appending its journal (`journal.rs`) here, one sequential write, and one
//! `fdatasync` on a shared handle (`sync_handle`) that covers every group
//! appended before it (see `durability.rs`). Every so often a durable redb
//! commit (a checkpoint) persists everything, and the log starts over.
//!
//! After a crash, redb opens at its last durable commit, and the frames of
//! the groups after it are replayed (`Store::open`).
//!
//! A frame: magic (4) | payload length (4) | CRC32 of group and payload (4)
//! | group number (8) | payload, integers little-endian. A torn last frame (a
//! crash mid-append, never acknowledged) fails its check and ends the log.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// The log's I/O seam: what the log does to its file. A `File` in a region;
/// a test implements it to keep only what was synced, as a power cut would
/// (see `tests/power_loss.rs`). Shared by the writer, which appends, and the
/// syncing thread.
pub trait LogFile: Send + Sync + 'static {
    /// The whole file.
    fn read_all(&self) -> io::Result<Vec<u8>>;
    /// Writes all of `bytes` at `offset`, growing the file if needed.
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()>;
    /// Cuts (or zero-extends) the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes everything written before the call durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
}

impl LogFile for File {
    fn read_all(&self) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        (&*self).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, bytes, offset)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    fn sync_data(&self) -> io::Result<()> {
        File::sync_data(self)
    }
}

const MAGIC: u32 = 0x4C41_574D; // "MWAL" read little-endian
const HEADER: usize = 20;

/// One group as read back from the log.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub group: u64,
    pub journal: Vec<u8>,
}

/// Zeros written ahead of the frames at a time (see `Wal::prepared`).
const EXTEND_BYTES: u64 = 1 << 20;

/// The zeros of `EXTEND_BYTES` are written from this, a chunk per write, so
/// that they need no buffer allocated (and page-faulted in) every time.
static ZEROS: [u8; 256 * 1024] = [0; 256 * 1024];

/// Largest buffer kept from one group for the next (`Wal::frame`, the
/// store's spare journal): a bulk group's (up to 32 MB) is let go.
const KEPT_BUFFER_MAX: usize = 1 << 20;

/// `buffer`, to be reused by the next group, unless it outgrew
/// `KEPT_BUFFER_MAX`: then an empty one.
pub(super) fn keep_for_next_group(buffer: Vec<u8>) -> Vec<u8> {
    if buffer.capacity() > KEPT_BUFFER_MAX {
        Vec::new()
    } else {
        buffer
    }
}

/// The open log file.
pub struct Wal {
    file: Arc<dyn LogFile>,
    /// Bytes of whole frames; the next frame is written here.
    len: u64,
    /// The file's length: blocks already written, zeros beyond the frames.
    /// Frames are written into them rather than appended, because an
    /// `fdatasync` after an append also commits the file's new size and
    /// blocks to the file system's journal (measured here: 0.48 ms against
    /// 0.26 ms p50 for a 3 KB frame). Zeros end the log on reading, as a
    /// torn frame does.
    prepared: u64,
    /// The frame being written, kept from one append to the next. With a
    /// fresh one per group (and a fresh journal, see the store's
    /// `spare_journal`), faulting in new pages for them took about a tenth
    /// of the writer's time in a profile under PutItem.
    frame: Vec<u8>,
}

impl Wal {
    /// Opens (or creates) the log at `path` and reads its frames up to the
    /// first that is torn or damaged. Frames of groups older than the last
    /// checkpoint may follow the current ones (see `reset`).
    pub fn open(path: &Path) -> io::Result<(Wal, Vec<Frame>)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Wal::open_on(Arc::new(file))
    }

    /// `open` on any [`LogFile`].
    pub fn open_on(file: Arc<dyn LogFile>) -> io::Result<(Wal, Vec<Frame>)> {
        let bytes = file.read_all()?;
        let (frames, len) = parse(&bytes);
        let prepared = bytes.len() as u64;
        let wal = Wal {
            file,
            len,
            prepared,
            frame: Vec::new(),
        };
        Ok((wal, frames))
    }

    /// Appends one group's frame, not yet synced. On failure the log is cut
    /// back to where it was, so a later append never follows a frame whose
    /// group was not committed; `Err` from that cut too means the log can no
    /// longer be trusted.
    pub fn append(&mut self, group: u64, journal: &[u8]) -> Result<(), AppendError> {
        let frame = &mut self.frame;
        frame.clear();
        frame.extend_from_slice(&MAGIC.to_le_bytes());
        frame.extend_from_slice(&(journal.len() as u32).to_le_bytes());
        frame.extend_from_slice(&checksum(group, journal).to_le_bytes());
        frame.extend_from_slice(&group.to_le_bytes());
        frame.extend_from_slice(journal);
        let frame_len = frame.len() as u64;
        let end = self.len + frame_len;
        if end > self.prepared {
            let target = end + EXTEND_BYTES;
            while self.prepared < target {
                let chunk = (target - self.prepared).min(ZEROS.len() as u64) as usize;
                if let Err(e) = self.file.write_all_at(&ZEROS[..chunk], self.prepared) {
                    return Err(AppendError::NotWritten(e));
                }
                self.prepared += chunk as u64;
            }
        }
        let written = self.file.write_all_at(&self.frame, self.len);
        self.frame = keep_for_next_group(std::mem::take(&mut self.frame));
        match written {
            Ok(()) => {
                self.len += frame_len;
                Ok(())
            }
            Err(e) => match self.cut_back() {
                Ok(()) => Err(AppendError::NotWritten(e)),
                Err(cut) => Err(AppendError::Broken(cut)),
            },
        }
    }

    /// The log file, shared: its `sync_data` makes every frame appended
    /// before the call durable; a thread of its own syncs with it while the
    /// writer goes on appending (positioned writes and `fdatasync` on one
    /// descriptor may run at once).
    pub fn sync_handle(&self) -> Arc<dyn LogFile> {
        self.file.clone()
    }

    /// Removes the last frame appended (its group failed to commit).
    pub fn undo_last(&mut self, frame_journal_len: usize) -> io::Result<()> {
        self.len -= (HEADER + frame_journal_len) as u64;
        self.cut_back()
    }

    fn cut_back(&mut self) -> io::Result<()> {
        self.prepared = self.len;
        self.file.set_len(self.len)?;
        self.file.sync_data()
    }

    /// Starts the log over once a durable commit holds everything in it.
    /// The file is kept and overwritten from the start, which syncs faster
    /// than appending (no new blocks to allocate): here ~0.19 ms against
    /// ~0.30 ms for a 17 KB frame. Frames left beyond the new end belong to
    /// groups the database already holds, and replay skips them by number.
    pub fn reset(&mut self) {
        self.len = 0;
    }

    /// Bytes in the log.
    pub fn len(&self) -> u64 {
        self.len
    }
}

/// Why an append failed.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The frame is not in the log; the log is as it was.
    #[error("write-ahead log append failed: {0}")]
    NotWritten(io::Error),
    /// The frame may be partly in the log and could not be removed.
    #[error("write-ahead log is damaged: {0}")]
    Broken(io::Error),
}

fn checksum(group: u64, journal: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&group.to_le_bytes());
    hasher.update(journal);
    hasher.finalize()
}

/// The whole frames at the start of `bytes`, and how many bytes they span.
fn parse(bytes: &[u8]) -> (Vec<Frame>, u64) {
    let mut frames = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER) {
        let word = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
        let len = word(4) as usize;
        let group = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
        let Some(journal) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if word(0) != MAGIC || word(8) != checksum(group, journal) {
            break;
        }
        frames.push(Frame {
            group,
            journal: journal.to_vec(),
        });
        at += HEADER + len;
    }
    (frames, at as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new, empty log in a temporary folder: the folder, its path, the log.
    fn fresh_wal() -> (tempfile::TempDir, std::path::PathBuf, Wal) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal");
        let (wal, frames) = Wal::open(&path).unwrap();
        assert!(frames.is_empty() && wal.len() == 0);
        (dir, path, wal)
    }

    fn frame(group: u64, journal: &[u8]) -> Frame {
        Frame {
            group,
            journal: journal.to_vec(),
        }
    }

    #[test]
    fn frames_read_back_after_reopening() {
        let (_dir, path, mut wal) = fresh_wal();
        wal.append(1, b"first").unwrap();
        wal.append(2, b"").unwrap();
        wal.append(3, b"third").unwrap();
        wal.undo_last(5).unwrap();
        drop(wal);
        let (wal, frames) = Wal::open(&path).unwrap();
        assert_eq!(frames, vec![frame(1, b"first"), frame(2, b"")]);
        assert_eq!(wal.len(), (2 * HEADER + 5) as u64);
    }

    #[test]
    fn a_torn_or_damaged_tail_ends_the_log() {
        let (_dir, path, mut wal) = fresh_wal();
        wal.append(1, b"kept").unwrap();
        wal.append(2, b"torn frame").unwrap();
        let frames_end = wal.len() as usize;
        drop(wal);
        let full = std::fs::read(&path).unwrap()[..frames_end].to_vec();
        for cut in HEADER + 4..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let (wal, frames) = Wal::open(&path).unwrap();
            assert_eq!(frames, vec![frame(1, b"kept")], "cut at {cut}");
            assert_eq!(wal.len(), (HEADER + 4) as u64);
        }
        let mut flipped = full.clone();
        *flipped.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert_eq!(Wal::open(&path).unwrap().1, vec![frame(1, b"kept")]);
    }

    #[test]
    fn frames_go_into_zeros_written_ahead_of_them() {
        let (_dir, path, mut wal) = fresh_wal();
        wal.append(1, b"first").unwrap();
        let file_len = || std::fs::metadata(&path).unwrap().len();
        assert_eq!(file_len(), wal.len() + EXTEND_BYTES);
        drop(wal);
        // The zeros end the log; the next frame goes where they begin and
        // the file does not grow.
        let (mut wal, frames) = Wal::open(&path).unwrap();
        assert_eq!(frames, vec![frame(1, b"first")]);
        wal.append(2, b"second").unwrap();
        assert_eq!(file_len(), (HEADER + 5) as u64 + EXTEND_BYTES);
        // A frame past the zeros writes more of them first.
        let big = vec![7; EXTEND_BYTES as usize];
        wal.append(3, &big).unwrap();
        assert_eq!(file_len(), wal.len() + EXTEND_BYTES);
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes[wal.len() as usize..].iter().all(|&b| b == 0));
        // The frame buffer, reused (or let go after the big frame), holds
        // only the new frame.
        wal.append(4, b"after").unwrap();
        drop(wal);
        let frames = Wal::open(&path).unwrap().1;
        let groups: Vec<u64> = frames.iter().map(|f| f.group).collect();
        assert_eq!(groups, vec![1, 2, 3, 4]);
        assert_eq!(frames[3], frame(4, b"after"));
    }

    #[test]
    fn appends_after_a_reset_start_at_the_beginning() {
        let (_dir, path, mut wal) = fresh_wal();
        wal.append(1, b"a long first frame").unwrap();
        wal.append(2, b"second").unwrap();
        wal.reset();
        wal.append(3, b"b").unwrap();
        drop(wal);
        // What follows the new frame is the rest of an old one: not a frame.
        assert_eq!(Wal::open(&path).unwrap().1, vec![frame(3, b"b")]);
        let (mut wal, _) = Wal::open(&path).unwrap();
        wal.reset();
        wal.append(4, b"a long first frame").unwrap();
        drop(wal);
        // Overwritten exactly: the old second frame reads back after it.
        let groups: Vec<u64> = Wal::open(&path).unwrap().1.iter().map(|f| f.group).collect();
        assert_eq!(groups, vec![4, 2]);
    }
}
