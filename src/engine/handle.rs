//! The engine handle: one region's store, clock and writer behind a cheap
//! `Engine` clone, and the primitives every other engine file builds its
//! operations on: `writer()` (a job in the next group transaction) and
//! `read()` (a closure on a fresh snapshot, answered once durable). Also the
//! region-wide counters and small durable values (incarnation, conflicts,
//! background workers' cursors).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::commit_times::CommitTimes;
use super::error::EngineError;
use super::schema_cache::SchemaCache;
use super::writer::{WriteStats, Writer, WriterSetup};
use crate::clock::Hlc;
use crate::config::StorageConfig;
use crate::ids::{Incarnation, Seq};
use crate::model::Item;
use crate::store::space::DiskSpace;
use crate::store::{ConflictRecord, ReadTables, Store, Version};

/// The file inside a region's data directory holding its database.
pub const DB_FILE: &str = "meridian.redb";

/// DynamoDB's limit on an item collection (a partition's items and their
/// local secondary index entries): 10 GB.
pub const MAX_ITEM_COLLECTION_BYTES: u64 = 10 * 1024 * 1024 * 1024;

/// Longest `shutdown` waits for reads in flight to release the store.
const STORE_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) struct Inner {
    pub(super) store: Store,
    pub(super) region: String,
    pub(super) hlc: Hlc,
    writer: Mutex<Option<Writer>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    pub(super) committed: watch::Receiver<Seq>,
    pub(super) commit_times: Arc<CommitTimes>,
    pub(super) schemas: Arc<SchemaCache>,
    space: Arc<DiskSpace>,
    /// See `WriterSetup::collection_limit`.
    collection_limit: Arc<std::sync::atomic::AtomicU64>,
    /// Transactions' client request tokens (see `tokens.rs`).
    pub(super) tokens: super::tokens::Tokens,
}

/// A region's engine. Cheap to clone; all clones share one store and writer.
#[derive(Clone)]
pub struct Engine(pub(super) Arc<Inner>);

impl Engine {
    /// Opens the region's store in `data_dir` and starts its writer.
    /// With `config.in_memory`, the store is in memory and `data_dir` unused.
    pub fn open(data_dir: &Path, region: &str, hlc: Hlc, config: &StorageConfig) -> Result<Engine, EngineError> {
        let checkpoint_interval = std::time::Duration::from_millis(config.checkpoint_interval_ms);
        let (store, space) = if config.in_memory {
            let store = Store::open_in_memory(config.cache_bytes, checkpoint_interval)?;
            (store, DiskSpace::unlimited())
        } else {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| EngineError::Store(crate::store::StoreError::Redb(redb::Error::Io(e))))?;
            let db_file = data_dir.join(DB_FILE);
            let store = Store::open(&db_file, config.cache_bytes, checkpoint_interval)?;
            // A region starts on a full disk, read-only (see `store::space`).
            let space = DiskSpace::with_db_file(data_dir, &db_file, config.disk_reserve_bytes);
            if space.is_short() {
                space.measure_file(store.allocated_bytes()?);
            }
            (store, space)
        };
        let space = Arc::new(space);
        let last_seq = store.read()?.last_seq()?;
        let (committed_tx, committed) = watch::channel(last_seq);
        let commit_times = Arc::new(CommitTimes::new(last_seq));
        let schemas = Arc::new(SchemaCache::default());
        let collection_limit = Arc::new(std::sync::atomic::AtomicU64::new(MAX_ITEM_COLLECTION_BYTES));
        let setup = WriterSetup {
            store: store.clone(),
            hlc: hlc.clone(),
            region: region.to_string(),
            committed: committed_tx,
            commit_times: commit_times.clone(),
            schemas: schemas.clone(),
            space: space.clone(),
            collection_limit: collection_limit.clone(),
        };
        let (writer, thread) = Writer::spawn(setup, config.write_queue, config.group_commit_max);
        Ok(Engine(Arc::new(Inner {
            store,
            region: region.to_string(),
            hlc,
            writer: Mutex::new(Some(writer)),
            writer_thread: Mutex::new(Some(thread)),
            committed,
            commit_times,
            schemas,
            space,
            collection_limit,
            tokens: Default::default(),
        })))
    }

    /// Whether the region's store is in memory (`--in-memory`): it keeps
    /// no file anywhere.
    pub fn in_memory(&self) -> bool {
        self.0.store.in_memory()
    }

    /// The region's free disk space and whether it is read-only for lack
    /// of it (`/status`, metrics).
    pub fn disk_space(&self) -> &DiskSpace {
        &self.0.space
    }

    /// Sets the largest item collection a table with local secondary
    /// indexes may hold (DynamoDB's 10 GB; smaller to rehearse hitting it).
    pub fn set_item_collection_limit(&self, bytes: u64) {
        self.0
            .collection_limit
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The region this engine serves.
    pub fn region(&self) -> &str {
        &self.0.region
    }

    /// The region's clock.
    pub fn hlc(&self) -> &Hlc {
        &self.0.hlc
    }

    pub(super) fn writer(&self) -> Result<Writer, EngineError> {
        self.0
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(EngineError::Stopped)
    }

    /// Stops accepting writes, lets the writer finish what is queued, and
    /// waits for it, then for reads still running on blocking threads (a
    /// background job's last chunk) to let go of the store, for up to
    /// `STORE_RELEASE_WAIT`, so the region can be opened again at once.
    /// Later calls fail with `Stopped`.
    pub fn shutdown(&self) {
        self.0.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.0.writer_thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            // Wait on a plain thread: the writer holds no async resources.
            let _ = thread.join();
        }
        let deadline = std::time::Instant::now() + STORE_RELEASE_WAIT;
        while self.0.store.handles() > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Runs a read against a fresh snapshot on a blocking thread; answers
    /// once what the snapshot holds is durable.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ReadTables) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store = self.0.store.clone();
        let (value, group) = tokio::task::spawn_blocking(move || {
            let read = store.read()?;
            Ok::<_, EngineError>((f(&read)?, read.group()))
        })
        .await
        .map_err(|_| EngineError::Stopped)??;
        self.0.store.until_durable(group).await?;
        Ok(value)
    }

    /// Lets go of a snapshot read inline, then waits until the groups it
    /// may hold are durable: only then may what was read from it be answered.
    pub(super) async fn release(&self, read: impl std::borrow::Borrow<ReadTables>) -> Result<(), EngineError> {
        let group = read.borrow().group();
        drop(read);
        Ok(self.0.store.until_durable(group).await?)
    }

    /// The writer's counters so far: commits, writes, and where their time went.
    pub fn write_stats(&self) -> WriteStats {
        self.writer().map(|w| w.stats().snapshot()).unwrap_or_default()
    }

    /// The checkpoints (durable database commits) made since the region
    /// started: each holds up every write queued while it runs.
    pub fn checkpoint_stats(&self) -> crate::store::CheckpointStats {
        self.0.store.checkpoint_stats()
    }

    /// Watches the sequence number of the last committed change-log entry.
    pub fn subscribe_commits(&self) -> watch::Receiver<Seq> {
        self.0.committed.clone()
    }

    /// When each change-log entry of `seqs` was committed (became durable)
    /// here, by this region's wall clock in ns; 0 for entries too old to
    /// be known (see `commit_times`).
    pub fn committed_at(&self, seqs: impl Iterator<Item = Seq>) -> Vec<u64> {
        self.0.commit_times.lookup(seqs)
    }

    /// Which incarnation of this region's data the store is (see
    /// `Store::incarnation`): peers keep their positions in our log per
    /// incarnation.
    pub fn incarnation(&self) -> Incarnation {
        self.0.store.incarnation()
    }

    /// Makes the store a new incarnation as of its next open: a region put
    /// back from a copy has a log that ends where the copy was taken, and
    /// peers that applied entries past that must not take its next entries
    /// for those.
    pub async fn renew_incarnation(&self) -> Result<Incarnation, EngineError> {
        self.writer()?.submit(|txn| Ok(txn.tables.renew_incarnation()?)).await
    }

    /// The stored version and item (or tombstone) of one key, for
    /// convergence checks.
    pub async fn item_version(&self, table: String, key: Item) -> Result<Option<(Version, Option<Item>)>, EngineError> {
        self.read(move |read| {
            let meta = read.table(&table)?.ok_or(EngineError::ResourceNotFound)?;
            let key = meta
                .key_schema
                .key_from_request(&key)
                .map_err(|e| EngineError::Validation(e.to_string()))?;
            Ok(read.item(meta.storage_id, &key.encoded)?.map(|r| (r.version, r.item)))
        })
        .await
    }

    /// Writes that lost last-writer-wins here, for one table or all.
    pub async fn conflicts(&self, table: Option<String>) -> Result<Vec<ConflictRecord>, EngineError> {
        self.read(move |read| Ok(read.conflicts(table.as_deref())?)).await
    }

    /// Jobs waiting for the writer.
    pub fn write_queue_depth(&self) -> usize {
        self.writer().map(|w| w.queued()).unwrap_or(0)
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("region", &self.region()).finish()
    }
}

#[cfg(test)]
impl Engine {
    /// Region `region` on a new store in `dir`, with default settings and a
    /// clock without offset, for unit tests.
    pub(crate) fn open_for_test(dir: &std::path::Path, region: &str) -> Engine {
        let hlc = crate::clock::Hlc::new(0, std::time::Duration::from_secs(1));
        Engine::open(dir, region, hlc, &crate::config::StorageConfig::default()).expect("open a test engine")
    }
}
