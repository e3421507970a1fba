//! The redb store: one database file per region holding table descriptions,
//! items (with LWW versions and tombstones), the change log and small
//! metadata. Only the engine opens it.
//!
//! Layout (redb tables):
//! - `tables`: table name -> `TableMeta`
//! - `items`: storage id (8 bytes, big-endian) + encoded primary key -> `ItemRecord`
//! - `index_entries`: a secondary index's storage id + encoded entry key
//!   (index key, then table key; see `model::index`) -> `ItemRecord` of the
//!   projected item, so an index query is one range scan of its own table
//! - `log`: sequence number -> `Change`, in commit order
//! - `meta`: small named values (next storage id, replication positions)
//! - `conflicts`: writes that lost last-writer-wins, in the order seen
//! - `history`, `pitr`: versions kept for point-in-time recovery and PITR
//!   settings, backup and export records (see `history.rs`)
//! - `cursors`: where background workers resume (worker/table name -> bytes)
//!
//! `meta` holds the layout's format number; `migrate.rs` brings an older
//! layout up to date at open.
//!
//! Commits are made durable by the write-ahead log next to the database
//! (`wal.rs`), not by redb's fsync, except at checkpoints. A commit is
//! visible before it is durable; readers wait for durability before they
//! answer (`durability.rs`).
//!
//! A store opened in memory (`Store::open_in_memory`) keeps its tables in
//! persistent ordered maps instead of redb (`memory.rs`: no copy-on-write
//! pages to write at each commit) and has no log: a group is durable (for
//! the life of the process) once it returns, so nothing is synced and no
//! file is created. Checkpoints have nothing to do there; they are counted
//! at the same interval all the same.

mod durability;
pub mod history;
mod journal;
mod memory;
#[cfg(test)]
mod memory_tests;
mod migrate;
mod read;
pub mod records;
#[cfg(test)]
mod recovery_tests;
mod replay;
mod shared_read;
pub mod space;
mod wal;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::ids::{GroupNo, Incarnation, StorageId};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

pub use journal::Keyspace;
pub use read::{ReadTables, Walk};
pub use records::{
    Change, ChangeCause, CodecError, ConflictRecord, DroppedTable, ItemChange, ItemRecord, TableChange, Version,
};
pub use wal::LogFile;
pub use write::WriteTables;

const TABLES: TableDefinition<&str, &[u8]> = TableDefinition::new("tables");
const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
/// Secondary index entries, keyed as `items` is, by the index's storage id.
const INDEX_ENTRIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("index_entries");
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CONFLICTS: TableDefinition<u64, &[u8]> = TableDefinition::new("conflicts");
const CURSORS: TableDefinition<&str, &[u8]> = TableDefinition::new("cursors");
/// `DroppedTable`s by "table id/region".
const DROPPED: TableDefinition<&str, &[u8]> = TableDefinition::new("dropped_tables");
/// Versions kept for point-in-time recovery (see `history.rs`).
const HISTORY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("history");
/// PITR settings, backup, export and job records (see `history.rs`).
const PITR: TableDefinition<&str, &[u8]> = TableDefinition::new("pitr");

const NEXT_STORAGE_ID: &str = "next_storage_id";
/// META key of the last group whose writes the database holds durably:
/// written by checkpoints (and the redo at open) only, since after a crash
/// redb opens at its last durable commit and the groups after it are redone
/// from the log. Writing it in every group would dirty one more table each.
const WAL_GROUP: &str = "wal_group";
/// META key of this database's incarnation (see `Store::incarnation`).
const INCARNATION: &str = "incarnation";

/// Longest a group's journal may grow before the group is committed durably
/// by redb instead of through the log (bulk work: PITR seeding, restores).
const JOURNAL_LIMIT: usize = 32 << 20;
/// A checkpoint (durable redb commit, log started over) is made once the log
/// holds this many bytes, or when the configured interval has passed.
const CHECKPOINT_BYTES: u64 = 64 << 20;

/// Storage failures: I/O, redb, or a record that does not decode.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Redb(#[from] redb::Error),
    #[error("undecodable record: {0}")]
    Codec(#[from] CodecError),
    #[error("commit failed: {0}")]
    CommitFailed(String),
    #[error("write-ahead log: {0}")]
    Wal(#[from] std::io::Error),
    #[error(transparent)]
    WalAppend(#[from] wal::AppendError),
    #[error("write-ahead log is damaged; restart the region")]
    WalBroken,
    /// The database was laid out by a newer Meridian (see `migrate.rs`).
    #[error("the database has format {found}; this binary reads formats up to {supported}")]
    NewerFormat { found: u64, supported: u64 },
    /// Free space is under the reserve: writes are refused (see `space.rs`).
    #[error(
        "the disk is full ({available} bytes free, {reserve} reserved): writes are refused until space is \
         freed (DeleteTable and DeleteBackup still run)"
    )]
    DiskFull { available: u64, reserve: u64 },
}

macro_rules! redb_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> StoreError {
                StoreError::Redb(e.into())
            }
        }
    )*};
}
redb_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The region's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// Declared first so that it drops first: it may hold a read
    /// transaction of `db`.
    shared_read: Arc<shared_read::SharedRead>,
    db: Backend,
    log: Arc<Mutex<LogState>>,
    /// The log file, synced by `sync` without the writer's lock; `None`
    /// in memory.
    sync_file: Option<Arc<dyn LogFile>>,
    durability: Arc<durability::Durability>,
    incarnation: u64,
    checkpoints: Arc<CheckpointCounters>,
}

/// Where the store's tables are.
#[derive(Clone)]
enum Backend {
    /// A redb database (in a file, or on the backend `open_on` was given).
    Redb(Arc<Database>),
    /// Maps in memory (`open_in_memory`).
    Memory(Arc<memory::MemoryDb>),
}

/// Checkpoints made since the store opened and the time their commits took:
/// the writer waits for each, so every write queued meanwhile waits too.
#[derive(Debug, Default)]
struct CheckpointCounters {
    count: AtomicU64,
    total_ns: AtomicU64,
    longest_ns: AtomicU64,
}

/// `CheckpointCounters` at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct CheckpointStats {
    pub count: u64,
    pub total_ms: f64,
    pub longest_ms: f64,
}

/// The write-ahead log and where the writer is in it.
struct LogState {
    /// `None` in memory: every group is a checkpoint.
    wal: Option<wal::Wal>,
    /// Number of the next group committed.
    next_group: u64,
    last_checkpoint: Instant,
    checkpoint_interval: Duration,
    /// Set when the log could not be repaired after a failed append: no
    /// further write is acknowledged.
    broken: bool,
    /// The last group's journal buffer, emptied, for the next group to fill
    /// (see `Wal::frame` for why buffers are kept).
    spare_journal: Vec<u8>,
}

impl LogState {
    fn checkpoint_due(&self) -> bool {
        let log_full = self.wal.as_ref().is_some_and(|wal| wal.len() >= CHECKPOINT_BYTES);
        self.last_checkpoint.elapsed() >= self.checkpoint_interval || log_full
    }
}

/// A fresh incarnation number: the creation time in nanoseconds (never 0,
/// which stands for "unknown" in tests).
fn new_incarnation() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// The write-ahead log of the database at `db_path`.
fn wal_path(db_path: &Path) -> PathBuf {
    db_path.with_extension("wal")
}

/// Creates every table `db` lacks, and its incarnation and format number
/// if it has none (a new database); returns the incarnation. Refuses a
/// database of a newer format (see `migrate.rs`).
fn create_tables(db: &Database) -> Result<u64, StoreError> {
    let txn = db.begin_write()?;
    {
        txn.open_table(TABLES)?;
        txn.open_table(ITEMS)?;
        txn.open_table(INDEX_ENTRIES)?;
        txn.open_table(LOG)?;
        txn.open_table(META)?;
        txn.open_table(CONFLICTS)?;
        txn.open_table(HISTORY)?;
        txn.open_table(PITR)?;
        txn.open_table(CURSORS)?;
        txn.open_table(DROPPED)?;
    }
    let incarnation = {
        let mut meta = txn.open_table(META)?;
        let stored = meta.get(INCARNATION)?.map(|v| v.value());
        let format = migrate::format(&meta, stored.is_none())?;
        match stored {
            Some(incarnation) => incarnation,
            None => {
                let incarnation = new_incarnation();
                meta.insert(INCARNATION, incarnation)?;
                meta.insert(migrate::FORMAT, format)?;
                incarnation
            }
        }
    };
    txn.commit()?;
    Ok(incarnation)
}

/// The META key of the last change applied from `origin`.
fn applied_key(origin: &str) -> String {
    format!("applied/{origin}")
}

/// The META key of the incarnation `peer` had when we last shipped to it.
fn peer_incarnation_key(peer: &str) -> String {
    format!("peer_incarnation/{peer}")
}

/// The key of an item in the `items` table.
pub fn item_key(storage_id: StorageId, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len());
    out.extend_from_slice(&storage_id.to_be_bytes());
    out.extend_from_slice(key);
    out
}

/// Bounds of the keys of table `storage_id` after encoded key `after`
/// (from its first with `None`) to its end, with the storage prefix.
fn bounds_after(storage_id: StorageId, after: Option<&[u8]>) -> (std::ops::Bound<Vec<u8>>, std::ops::Bound<Vec<u8>>) {
    let lower = match after {
        Some(key) => std::ops::Bound::Excluded(item_key(storage_id, key)),
        None => std::ops::Bound::Included(storage_id.to_be_bytes().to_vec()),
    };
    (
        lower,
        std::ops::Bound::Excluded(storage_id.next().to_be_bytes().to_vec()),
    )
}

impl Store {
    /// Opens (or creates) the database at `path`, redoes the groups its
    /// write-ahead log holds beyond the last checkpoint, and checkpoints.
    /// A checkpoint is made at least every `checkpoint_interval` while
    /// writes arrive.
    pub fn open(path: &Path, cache_bytes: usize, checkpoint_interval: Duration) -> Result<Store, StoreError> {
        let db = Database::builder().set_cache_size(cache_bytes).create(path)?;
        let incarnation = create_tables(&db)?;
        let (wal, frames) = wal::Wal::open(&wal_path(path))?;
        Store::redo(db, incarnation, wal, &frames, checkpoint_interval)
    }

    /// `open` on a database in `backend` with its write-ahead log in `log`
    /// (how `tests/power_loss.rs` runs the store on files that keep only
    /// what was synced).
    pub fn open_on(
        backend: impl redb::StorageBackend,
        log: Arc<dyn LogFile>,
        cache_bytes: usize,
        checkpoint_interval: Duration,
    ) -> Result<Store, StoreError> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create_with_backend(backend)?;
        let incarnation = create_tables(&db)?;
        let (wal, frames) = wal::Wal::open_on(log)?;
        Store::redo(db, incarnation, wal, &frames, checkpoint_interval)
    }

    /// A new, empty database in memory, without a write-ahead log: nothing
    /// is written to disk, and everything is lost when the last handle goes.
    /// The tables are maps (`memory.rs`), not redb's: there is no page
    /// cache to size.
    pub fn open_in_memory(_cache_bytes: usize, checkpoint_interval: Duration) -> Result<Store, StoreError> {
        let db = memory::MemoryDb::default();
        let incarnation = new_incarnation();
        {
            let mut live = db.lock();
            let mut tables = WriteTables::in_memory(memory::MemWrite::new(&mut live), journal::Journal::off());
            tables.set_meta(INCARNATION, incarnation)?;
            tables.set_meta(migrate::FORMAT, migrate::CURRENT)?;
        }
        let db = Backend::Memory(Arc::new(db));
        Ok(Store::with_log(db, incarnation, None, 0, checkpoint_interval))
    }

    /// Redoes the groups of `frames` that `db` does not hold yet, brings
    /// the layout up to date, and starts the log over.
    fn redo(
        db: Database,
        incarnation: u64,
        mut wal: wal::Wal,
        frames: &[wal::Frame],
        checkpoint_interval: Duration,
    ) -> Result<Store, StoreError> {
        let txn = db.begin_write()?;
        let (durable, last_group) = {
            let mut tables = WriteTables::open(&txn, journal::Journal::reusing(JOURNAL_LIMIT, Vec::new()))?;
            let durable = tables.meta(WAL_GROUP)?.unwrap_or(0);
            let mut last = durable;
            // Frames of groups the database holds are skipped: older ones
            // may follow the current ones in the file (see `Wal::reset`).
            // Numbers ascend, with gaps where a group failed to commit.
            for frame in frames.iter().filter(|f| f.group > durable) {
                if frame.group <= last {
                    return Err(StoreError::CommitFailed(format!(
                        "write-ahead log goes back from group {last} to {}",
                        frame.group
                    )));
                }
                tables.replay(&frame.journal)?;
                last = frame.group;
            }
            if last > durable {
                tables.set_meta(WAL_GROUP, last)?;
            }
            (durable, last)
        };
        // Nothing to redo after a clean stop: the transaction is dropped.
        if last_group > durable {
            txn.commit()?;
            tracing::info!(
                groups = last_group - durable,
                "redid write-ahead log after an unclean stop"
            );
        } else {
            txn.abort()?;
        }
        // The log may hold groups an older layout wrote: migrate after it.
        migrate::to_current(&db)?;
        wal.reset();
        let sync_file = wal.sync_handle();
        Ok(Store::with_log(
            Backend::Redb(Arc::new(db)),
            incarnation,
            Some((wal, sync_file)),
            last_group,
            checkpoint_interval,
        ))
    }

    /// A store on `db`, whose groups up to `last_group` are durable, with
    /// its write-ahead log and the handle that syncs it (`None`: in memory).
    fn with_log(
        db: Backend,
        incarnation: u64,
        log: Option<(wal::Wal, Arc<dyn LogFile>)>,
        last_group: u64,
        checkpoint_interval: Duration,
    ) -> Store {
        let (wal, sync_file) = log.unzip();
        Store {
            shared_read: Arc::default(),
            db,
            sync_file,
            durability: Arc::new(durability::Durability::new(last_group)),
            log: Arc::new(Mutex::new(LogState {
                wal,
                next_group: last_group + 1,
                last_checkpoint: Instant::now(),
                checkpoint_interval,
                spare_journal: Vec::new(),
                broken: false,
            })),
            incarnation,
            checkpoints: Arc::default(),
        }
    }

    /// Whether the database is in memory (`open_in_memory`): no file, no log.
    pub fn in_memory(&self) -> bool {
        self.sync_file.is_none()
    }

    /// Which life of this region's data this database is: set once, when
    /// the database is created. A region started over on an empty data
    /// directory numbers its change log from 1 again, and peers must not
    /// take its new entries for the old ones they already applied.
    pub fn incarnation(&self) -> Incarnation {
        Incarnation(self.incarnation)
    }

    /// Runs `f` in one write transaction and commits it: its journal is
    /// appended to the write-ahead log before the redb commit makes it
    /// visible, or, at a checkpoint, redb commits durably itself. Returns
    /// the group's number: the group is durable once `sync` has covered it,
    /// and must not be acknowledged before. Nothing `f` wrote is kept if it
    /// returns an error or the commit fails.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut WriteTables<'_>) -> Result<R, StoreError>,
    ) -> Result<(R, GroupNo), StoreError> {
        self.write_group(false, f, |_| ())
    }

    /// `write`, calling `logged` with the group's number once its frame is
    /// in the log and before redb commits it, so that a `sync` can run
    /// meanwhile. Not called when the group fails before, or when redb
    /// commits it durably (a checkpoint: it is durable when `write` returns).
    pub fn write_logged<R>(
        &self,
        f: impl FnOnce(&mut WriteTables<'_>) -> Result<R, StoreError>,
        logged: impl FnOnce(GroupNo),
    ) -> Result<(R, GroupNo), StoreError> {
        self.write_group(false, f, logged)
    }

    /// Makes every group up to `group` durable: one `fdatasync` of the log
    /// covers every group appended before it, so one call for the last of
    /// several groups serves them all. Runs beside `write`, which goes on
    /// with the next group meanwhile. A failed sync leaves the log's state
    /// unknown: from then on no write is accepted and no snapshot read
    /// past what was durable (`StoreError::WalBroken`) until a restart.
    /// Returns whether it synced (`false`: a checkpoint had made the groups
    /// durable already).
    pub fn sync(&self, group: GroupNo) -> Result<bool, StoreError> {
        let group = group.get();
        if self.durability.durable() >= group {
            return Ok(false); // a checkpoint holds it
        }
        // After a failed fsync the kernel may have dropped the pages it could
        // not write: a later fsync that succeeds proves nothing about them.
        if self.durability.is_broken() {
            return Err(StoreError::WalBroken);
        }
        // In memory every group is a checkpoint: `durable` covered it above.
        let Some(sync_file) = &self.sync_file else {
            return Ok(false);
        };
        if let Err(e) = sync_file.sync_data() {
            tracing::error!(error = %e, "write-ahead log sync failed; writes refused until restart");
            self.durability.break_log();
            return Err(e.into());
        }
        self.durability.durable_through(group);
        Ok(true)
    }

    /// The checkpoints made since the store opened.
    pub fn checkpoint_stats(&self) -> CheckpointStats {
        let ms = |ns: &AtomicU64| ns.load(Ordering::Relaxed) as f64 / 1e6;
        CheckpointStats {
            count: self.checkpoints.count.load(Ordering::Relaxed),
            total_ms: ms(&self.checkpoints.total_ns),
            longest_ms: ms(&self.checkpoints.longest_ns),
        }
    }

    /// The last group known to be durable (every one before it is too).
    pub fn durable(&self) -> GroupNo {
        GroupNo(self.durability.durable())
    }

    /// Makes every commit durable in the database itself and starts the
    /// write-ahead log over (a clean stop does this last).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.write_group(true, |_| Ok(()), |_| ()).map(|_| ())
    }

    /// Waits until group `group` (see `ReadTables::group`) is durable.
    pub async fn until_durable(&self, group: GroupNo) -> Result<(), StoreError> {
        self.durability.until_durable(group.get()).await
    }

    /// `until_durable` for a thread of the runtime's blocking pool.
    pub fn until_durable_blocking(&self, group: GroupNo) -> Result<(), StoreError> {
        self.durability.until_durable_blocking(group.get())
    }

    fn write_group<R>(
        &self,
        checkpoint: bool,
        f: impl FnOnce(&mut WriteTables<'_>) -> Result<R, StoreError>,
        logged: impl FnOnce(GroupNo),
    ) -> Result<(R, GroupNo), StoreError> {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.broken || self.durability.is_broken() {
            return Err(StoreError::WalBroken);
        }
        let db = match &self.db {
            Backend::Redb(db) => db,
            Backend::Memory(memory) => return self.write_in_memory(memory, &mut log, checkpoint, f),
        };
        let group = log.next_group;
        let mut txn = db.begin_write()?;
        let (result, journal, durable) = {
            // In memory there is no log to write the journal to.
            let journal = match log.wal {
                Some(_) => journal::Journal::reusing(JOURNAL_LIMIT, std::mem::take(&mut log.spare_journal)),
                None => journal::Journal::off(),
            };
            let mut tables = WriteTables::open(&txn, journal)?;
            let result = f(&mut tables)?;
            let durable = checkpoint || tables.journal.overflowed() || log.checkpoint_due();
            if durable {
                tables.set_meta(WAL_GROUP, group)?;
            }
            (result, tables.journal, durable)
        };
        if durable {
            self.durability.committing(group);
            let started = Instant::now();
            if let Err(e) = txn.commit() {
                self.durability.commit_failed(group);
                return Err(e.into());
            }
            let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.checkpoints.count.fetch_add(1, Ordering::Relaxed);
            self.checkpoints.total_ns.fetch_add(took, Ordering::Relaxed);
            self.checkpoints.longest_ns.fetch_max(took, Ordering::Relaxed);
            self.shared_read.committed();
            log.last_checkpoint = Instant::now();
            if let Some(wal) = &mut log.wal {
                wal.reset();
            }
            self.durability.durable_through(group);
        } else {
            txn.set_durability(redb::Durability::None)
                .map_err(|e| StoreError::CommitFailed(e.to_string()))?;
            let Some(wal) = &mut log.wal else {
                return Err(StoreError::CommitFailed("a redb store without its log".into()));
            };
            if let Err(e) = wal.append(group, journal.bytes()) {
                log.broken = matches!(e, wal::AppendError::Broken(_));
                return Err(e.into());
            }
            logged(GroupNo(group));
            self.durability.committing(group);
            if let Err(e) = txn.commit() {
                self.durability.commit_failed(group);
                // The group is in the log but not in the database: take it
                // out, or a restart would redo a write reported as failed.
                let undone = log.wal.as_mut().map(|wal| wal.undo_last(journal.bytes().len()));
                if !matches!(undone, Some(Ok(()))) {
                    log.broken = true;
                }
                // Its number is not used again: a `sync` running meanwhile
                // may count it durable, which must not pass for a later
                // group whose frame that sync did not cover.
                log.next_group += 1;
                return Err(e.into());
            }
            self.shared_read.committed();
        }
        log.spare_journal = wal::keep_for_next_group(journal.into_buffer());
        log.next_group += 1;
        Ok((result, GroupNo(group)))
    }

    /// `write_group` on a store in memory: `f` changes the live tables in
    /// place, under their lock (readers wait for it to take a snapshot, so
    /// none sees half a group), and what it changed is rolled back if it
    /// fails. The group is durable once it returns: there is no log. A
    /// checkpoint has nothing to write; it is counted when due or asked for,
    /// as on disk.
    fn write_in_memory<R>(
        &self,
        memory: &memory::MemoryDb,
        log: &mut LogState,
        checkpoint: bool,
        f: impl FnOnce(&mut WriteTables<'_>) -> Result<R, StoreError>,
    ) -> Result<(R, GroupNo), StoreError> {
        let group = log.next_group;
        let mut live = memory.lock();
        let mut tables = WriteTables::in_memory(memory::MemWrite::new(&mut live), journal::Journal::off());
        let result = match f(&mut tables) {
            Ok(result) => result,
            Err(e) => {
                if let write::GroupTables::Memory(changes) = tables.on {
                    changes.roll_back();
                }
                return Err(e);
            }
        };
        drop(tables);
        self.durability.committing(group);
        drop(live);
        if checkpoint || log.checkpoint_due() {
            self.checkpoints.count.fetch_add(1, Ordering::Relaxed);
            log.last_checkpoint = Instant::now();
        }
        self.shared_read.committed();
        self.durability.durable_through(group);
        log.next_group += 1;
        Ok((result, GroupNo(group)))
    }

    /// Bytes of the database file in pages that hold data (the rest of the
    /// file is free for redb to reuse; see `space.rs`). Walks every tree:
    /// for a short disk, not for every group. Call between groups, on the
    /// writer's thread: it takes redb's write transaction.
    /// In memory: 0 (there is no file).
    pub fn allocated_bytes(&self) -> Result<u64, StoreError> {
        let Backend::Redb(db) = &self.db else {
            return Ok(0);
        };
        let txn = db.begin_write()?;
        let stats = txn.stats()?;
        let bytes = stats.allocated_pages().saturating_mul(stats.page_size() as u64);
        txn.abort()?;
        Ok(bytes)
    }

    /// The redb database (tests that reach under the store's interface).
    #[cfg(test)]
    fn redb(&self) -> &Database {
        match &self.db {
            Backend::Redb(db) => db,
            Backend::Memory(_) => panic!("a store in memory has no redb database"),
        }
    }

    /// How many handles share the open database (this one included); the
    /// file stays locked until the last is dropped.
    pub fn handles(&self) -> usize {
        match &self.db {
            Backend::Redb(db) => Arc::strong_count(db),
            Backend::Memory(memory) => Arc::strong_count(memory),
        }
    }

    /// A consistent snapshot for reading. It may hold groups not yet
    /// durable: wait for `until_durable(snapshot.group())` before answering
    /// from it.
    pub fn read(&self) -> Result<ReadTables, StoreError> {
        let on = match &self.db {
            Backend::Redb(db) => read::Snapshot::Redb {
                txn: db.begin_read()?,
                items: OnceLock::new(),
            },
            Backend::Memory(memory) => read::Snapshot::Memory(memory.snapshot()),
        };
        // Read after the snapshot began: `committing` precedes every commit.
        let group = self.durability.visible();
        Ok(ReadTables { on, group })
    }

    /// A snapshot for point reads, shared with other point reads until the
    /// next commit (see `shared_read.rs`); it holds every write acknowledged
    /// before the call. Wait for `until_durable(snapshot.group())` before
    /// answering from it, as with `read`.
    pub fn read_shared(&self) -> Result<Arc<ReadTables>, StoreError> {
        self.shared_read.get(|| self.read())
    }
}
