//! The engine: the only write path and the reader of the store.
//!
//! Every write goes through the single writer (`writer.rs`), which groups
//! concurrent writes into one durable redb transaction. Each write commits
//! the item (or a tombstone) together with a change-log entry stamped with
//! an HLC timestamp and the origin region, and is acknowledged only after the
//! commit: the change log is what replication, streams and PITR read.
//! Reads run on blocking threads against a consistent snapshot, and answer
//! only once every write the snapshot holds is durable (a commit becomes
//! visible a moment before its log fsync ends; see `store/durability.rs`).

mod change_log;
mod commit_times;
mod declared;
pub mod error;
pub mod lww;
pub mod pitr;
pub mod read;
pub mod remote;
pub mod resync;
mod schema_cache;
pub mod streams;
pub mod sync_latency;
pub mod write;
mod writer;
#[cfg(test)]
mod writer_tests;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub use error::EngineError;
pub use read::{Page, RangeRead, SortCondition};
pub use remote::{ApplyReport, Origin};
pub use write::{ItemOp, ItemWrite, Mutator, Precondition, WriteOutcome};

use crate::clock::Hlc;
use crate::config::StorageConfig;
use crate::model::table::{BillingMode, Replica, ReplicaStatus, TableStatus};
use crate::model::{Item, KeyAttribute, KeySchema, TableMeta};
use crate::store::{Change, ConflictRecord, ItemRecord, ReadTables, Store, TableChange, Version};
use tokio::sync::watch;
use writer::Writer;
pub use writer::{GroupTimes, Queued, WriteStats};

/// The file inside a region's data directory holding its database.
pub const DB_FILE: &str = "meridian.redb";

/// Change-log entries `own_changes` reads inline (see there).
const INLINE_CHANGES: u64 = 64;

/// Longest `shutdown` waits for reads in flight to release the store.
const STORE_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// One chunk of a table snapshot: `None` when the table does not exist here.
pub type SnapshotChunk = Option<Vec<(Vec<u8>, ItemRecord)>>;

/// What CreateTable asks for, validated by the API layer.
#[derive(Clone, Debug)]
pub struct NewTable {
    pub name: String,
    pub key_schema: KeySchema,
    pub attribute_definitions: Vec<KeyAttribute>,
    pub billing: BillingMode,
    pub tags: std::collections::BTreeMap<String, String>,
    /// StreamSpecification with StreamEnabled, if given.
    pub stream: Option<streams::NewStream>,
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

#[cfg(test)]
impl NewTable {
    /// A pay-per-request table keyed by the string `pk`, for unit tests.
    pub(crate) fn keyed_by_pk(name: &str) -> NewTable {
        let hash = KeyAttribute {
            name: "pk".into(),
            ty: crate::model::ScalarType::S,
        };
        NewTable {
            name: name.into(),
            key_schema: KeySchema {
                hash: hash.clone(),
                range: None,
            },
            attribute_definitions: vec![hash],
            billing: BillingMode::PayPerRequest,
            tags: Default::default(),
            stream: None,
        }
    }
}

struct Inner {
    store: Store,
    region: String,
    hlc: Hlc,
    writer: Mutex<Option<Writer>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    committed: watch::Receiver<u64>,
    commit_times: Arc<commit_times::CommitTimes>,
    schemas: Arc<schema_cache::SchemaCache>,
}

/// A region's engine. Cheap to clone; all clones share one store and writer.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

impl Engine {
    /// Opens the region's store in `data_dir` and starts its writer.
    /// With `config.in_memory`, the store is in memory and `data_dir` unused.
    pub fn open(data_dir: &Path, region: &str, hlc: Hlc, config: &StorageConfig) -> Result<Engine, EngineError> {
        let checkpoint_interval = std::time::Duration::from_millis(config.checkpoint_interval_ms);
        let store = if config.in_memory {
            Store::open_in_memory(config.cache_bytes, checkpoint_interval)?
        } else {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| EngineError::Store(crate::store::StoreError::Redb(redb::Error::Io(e))))?;
            Store::open(&data_dir.join(DB_FILE), config.cache_bytes, checkpoint_interval)?
        };
        let last_seq = store.read()?.last_seq()?;
        let (committed_tx, committed) = watch::channel(last_seq);
        let commit_times = Arc::new(commit_times::CommitTimes::new(last_seq));
        let schemas = Arc::new(schema_cache::SchemaCache::default());
        let setup = writer::WriterSetup {
            store: store.clone(),
            hlc: hlc.clone(),
            region: region.to_string(),
            committed: committed_tx,
            commit_times: commit_times.clone(),
            schemas: schemas.clone(),
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
        })))
    }

    /// The region this engine serves.
    pub fn region(&self) -> &str {
        &self.0.region
    }

    /// The region's clock.
    pub fn hlc(&self) -> &Hlc {
        &self.0.hlc
    }

    fn writer(&self) -> Result<Writer, EngineError> {
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
    async fn read<T: Send + 'static>(
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

    /// Writes one item (PutItem, DeleteItem, UpdateItem).
    pub async fn write_item(&self, table: String, write: ItemWrite) -> Result<WriteOutcome, EngineError> {
        self.writer()?
            .submit(move |batch| {
                batch.with_table(&table, |batch, meta| {
                    write::apply(batch, write::active_table(meta)?, write)
                })
            })
            .await
    }

    /// Writes several items of one BatchWriteItem request. Every write is
    /// validated first (keys, sizes, duplicates), so an invalid request
    /// writes nothing.
    pub async fn write_batch(&self, writes: Vec<(String, ItemWrite)>) -> Result<Vec<WriteOutcome>, EngineError> {
        self.writer()?
            .submit(move |batch| {
                let mut seen = std::collections::HashSet::new();
                for (table, write) in &writes {
                    let meta = write::active_table(batch.table_ref(table)?)?;
                    let key = write::validate(meta, &write.op)?;
                    if !seen.insert((table.clone(), key.encoded)) {
                        return Err(EngineError::Validation(
                            "Provided list of item keys contains duplicates".into(),
                        ));
                    }
                }
                let mut outcomes = Vec::with_capacity(writes.len());
                for (table, write) in writes {
                    outcomes.push(batch.with_table(&table, |batch, meta| {
                        write::apply(batch, write::active_table(meta)?, write)
                    })?);
                }
                Ok(outcomes)
            })
            .await
    }

    /// Creates a table (ACTIVE at once, as DynamoDB Local does).
    pub async fn create_table(&self, spec: NewTable) -> Result<TableMeta, EngineError> {
        self.writer()?.submit(move |batch| create_in(batch, spec)).await
    }

    /// Deletes a table and its items; returns its last description, DELETING.
    pub async fn delete_table(&self, name: String) -> Result<TableMeta, EngineError> {
        self.writer()?
            .submit(move |batch| {
                let mut meta = batch
                    .table(&name)?
                    .ok_or_else(|| EngineError::TableNotFound(name.clone()))?;
                batch.drop_table(&name, meta.storage_id)?;
                let version = Version {
                    ts: batch.hlc.now(),
                    region: batch.region.to_string(),
                };
                batch.record_deleted(&meta, &version);
                let change = TableChange::Deleted {
                    name: name.clone(),
                    table_id: meta.table_id.clone(),
                };
                batch.tables.append_change(&Change::Table { version, change })?;
                meta.status = TableStatus::Deleting;
                Ok(meta)
            })
            .await
    }

    /// Changes a table's description (billing mode, tags, replicas, ...)
    /// with `change`; the new description replicates to the other regions.
    pub async fn update_table(
        &self,
        name: String,
        change: impl FnOnce(&mut TableMeta) -> Result<(), EngineError> + Send + 'static,
    ) -> Result<TableMeta, EngineError> {
        self.update_table_with(name, move |meta, _| change(meta)).await
    }

    /// Streams every record (tombstones included) of `table` from one
    /// consistent snapshot, in chunks of at most `chunk` records (fewer when
    /// the items are large); `None` first when the table is absent.
    pub fn snapshot(
        &self,
        table: String,
        chunk: usize,
    ) -> tokio::sync::mpsc::Receiver<Result<SnapshotChunk, EngineError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let store = self.0.store.clone();
        tokio::task::spawn_blocking(move || {
            let result = (|| {
                let read = store.read()?;
                store.until_durable_blocking(read.group())?;
                let Some(meta) = read.table(&table)? else {
                    let _ = tx.blocking_send(Ok(None));
                    return Ok(());
                };
                let mut chunker = resync::Chunker::new(chunk);
                let all = read.items(
                    meta.storage_id,
                    std::ops::Bound::Unbounded,
                    std::ops::Bound::Unbounded,
                    true,
                )?;
                for entry in all {
                    let (key, record) = entry?;
                    if let Some(full) = chunker.push(key, record)
                        && tx.blocking_send(Ok(Some(full))).is_err()
                    {
                        return Ok(());
                    }
                }
                let _ = tx.blocking_send(Ok(Some(chunker.take())));
                Ok::<(), EngineError>(())
            })();
            if let Err(error) = result {
                let _ = tx.blocking_send(Err(error));
            }
        });
        rx
    }

    /// Merges snapshot records into this region's replica of `table` by
    /// last-writer-wins; returns how many won.
    pub async fn apply_snapshot(&self, table: String, records: Vec<(Vec<u8>, ItemRecord)>) -> Result<u64, EngineError> {
        self.writer()?
            .submit(move |batch| remote::apply_snapshot(batch, &table, records))
            .await
    }

    /// Marks this region's replica of `table` ACTIVE (backfill finished).
    pub async fn finish_backfill(&self, table: String) -> Result<TableMeta, EngineError> {
        let region = self.0.region.clone();
        self.update_table(table, move |meta| {
            for replica in meta.replicas.iter_mut().filter(|r| r.region == region) {
                replica.status = ReplicaStatus::Active;
            }
            Ok(())
        })
        .await
    }

    /// Tables whose replica in this region is still being backfilled.
    pub async fn tables_being_backfilled(&self) -> Result<Vec<String>, EngineError> {
        let region = self.0.region.clone();
        self.read(move |read| {
            let mut out = Vec::new();
            for name in read.table_names(None, usize::MAX)? {
                if let Some(meta) = read.table(&name)?
                    && meta
                        .replica(&region)
                        .is_some_and(|r| r.status == ReplicaStatus::Creating)
                {
                    out.push(name);
                }
            }
            Ok(out)
        })
        .await
    }

    /// The description of a table.
    pub async fn describe_table(&self, name: String) -> Result<TableMeta, EngineError> {
        self.read(move |read| read.table(&name)?.ok_or(EngineError::TableNotFound(name)))
            .await
    }

    /// Table names after `after`, at most `limit`.
    pub async fn list_tables(&self, after: Option<String>, limit: usize) -> Result<Vec<String>, EngineError> {
        self.read(move |read| Ok(read.table_names(after.as_deref(), limit)?))
            .await
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
    pub fn subscribe_commits(&self) -> watch::Receiver<u64> {
        self.0.committed.clone()
    }

    /// When each change-log entry of `seqs` was committed (became durable)
    /// here, by this region's wall clock in ns; 0 for entries too old to
    /// be known (see `commit_times`).
    pub fn committed_at(&self, seqs: impl Iterator<Item = u64>) -> Vec<u64> {
        self.0.commit_times.lookup(seqs)
    }

    /// Changes this region originated, from log sequence `from` on, at most
    /// `max`; also returns the last sequence number looked at, so a caller
    /// can move past stretches of replicated entries (and call again: it may
    /// look at fewer entries than the log holds).
    ///
    /// A shipper keeping up asks for the few entries of the last commits:
    /// those are read inline, since handing the read to the blocking pool
    /// (~0.3 ms measured here) would be a good part of the replication lag.
    /// A shipper behind reads on the blocking pool.
    pub async fn own_changes(&self, from: u64, max: usize) -> Result<(Vec<(u64, Change)>, u64), EngineError> {
        let region = self.0.region.clone();
        let scan = move |read: &ReadTables, limit: usize| {
            let mut out = Vec::new();
            let mut through = from.saturating_sub(1);
            for entry in read.changes(from)?.take(limit) {
                let (seq, change) = entry?;
                // Entries are numbered without gaps: a first entry past
                // `from` means the ones before it were trimmed.
                if through + 1 < seq && through + 1 == from {
                    return Err(EngineError::Trimmed { from, first: seq });
                }
                through = seq;
                if change.version().region == region {
                    out.push((seq, change));
                    if out.len() >= max {
                        break;
                    }
                }
            }
            Ok::<_, EngineError>((out, through))
        };
        let behind = self.0.committed.borrow().saturating_sub(from);
        if behind >= INLINE_CHANGES {
            return self.read(move |read| scan(read, usize::MAX)).await;
        }
        let read = self.0.store.read()?;
        let found = scan(&read, INLINE_CHANGES as usize)?;
        self.release(read).await?;
        Ok(found)
    }

    /// Applies a batch of changes `origin` originated (see `remote.rs`).
    pub async fn apply_remote(
        &self,
        origin: Origin,
        changes: Vec<(u64, Change)>,
        through: u64,
    ) -> Result<ApplyReport, EngineError> {
        self.writer()?
            .submit(move |batch| remote::apply_batch(batch, &origin, changes, through))
            .await
    }

    /// Queues a batch of changes `origin` originated, to be applied after
    /// everything queued before it, and returns a future of the result. The
    /// batch is refused unless the origin's applied position is `expected`
    /// when it runs: a batch queued behind one whose commit failed must not
    /// apply past the changes that were lost with it.
    pub async fn queue_remote(
        &self,
        origin: Origin,
        changes: Vec<(u64, Change)>,
        expected: u64,
        through: u64,
    ) -> Result<Queued<ApplyReport>, EngineError> {
        self.writer()?
            .enqueue(move |batch| {
                remote::expect_applied(batch, &origin, expected)?;
                remote::apply_batch(batch, &origin, changes, through)
            })
            .await
    }

    /// The origin's log position applied here.
    pub async fn applied_position(&self, origin: Origin) -> Result<u64, EngineError> {
        self.read(move |read| remote::applied_in(read, &origin)).await
    }

    /// Which incarnation of this region's data the store is (see
    /// `Store::incarnation`): peers keep their positions in our log per
    /// incarnation.
    pub fn incarnation(&self) -> u64 {
        self.0.store.incarnation()
    }

    /// Makes the store a new incarnation as of its next open: a region put
    /// back from a copy has a log that ends where the copy was taken, and
    /// peers that applied entries past that must not take its next entries
    /// for those.
    pub async fn renew_incarnation(&self) -> Result<u64, EngineError> {
        self.writer()?
            .submit(|batch| Ok(batch.tables.renew_incarnation()?))
            .await
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

/// Creates a table inside a write group (CreateTable, restore targets).
fn create_in(batch: &mut writer::Batch<'_, '_>, spec: NewTable) -> Result<TableMeta, EngineError> {
    if batch.table(&spec.name)?.is_some() {
        return Err(EngineError::TableExists(spec.name));
    }
    let meta = new_table(batch, spec)?;
    record_created(batch, &meta)?;
    Ok(meta)
}

/// The description of a new table `spec` with its replica in this region
/// only, given a storage id (not yet stored: see `record_created`).
fn new_table(batch: &mut writer::Batch<'_, '_>, spec: NewTable) -> Result<TableMeta, EngineError> {
    let storage_id = batch.tables.allocate_storage_id()?;
    let now = batch.hlc.now();
    Ok(TableMeta {
        table_id: table_uuid(storage_id, now.wall_ns, &spec.name),
        name: spec.name,
        storage_id,
        key_schema: spec.key_schema,
        attribute_definitions: spec.attribute_definitions,
        billing: spec.billing,
        status: TableStatus::Active,
        created_at_ms: now.unix_millis(),
        tags: spec.tags,
        item_count: 0,
        size_bytes: 0,
        replicas: vec![Replica {
            region: batch.region.to_string(),
            status: ReplicaStatus::Active,
        }],
        changed: now,
        changed_by: batch.region.to_string(),
        stream: spec.stream.map(|s| Box::new(streams::open_stream(batch, &s))),
        ttl: None,
    })
}

/// Stores a new table's description and logs its creation, stamped with
/// the description's `changed`, for the replicas.
fn record_created(batch: &mut writer::Batch<'_, '_>, meta: &TableMeta) -> Result<(), EngineError> {
    batch.set_table(&meta.name, Some(meta.clone()));
    let version = Version {
        ts: meta.changed,
        region: batch.region.to_string(),
    };
    batch.tables.append_change(&Change::Table {
        version,
        change: TableChange::Created(meta.clone()),
    })?;
    Ok(())
}

/// A UUID-shaped, stable table id derived from the table's creation.
fn table_uuid(storage_id: u64, nanos: u64, name: &str) -> String {
    uuid_shaped(crc32fast::hash(name.as_bytes()), nanos ^ storage_id.rotate_left(32))
}

/// `a` and `b` written as a UUID (version 4, variant 1 digits fixed), the
/// shape DynamoDB's table ids have.
fn uuid_shaped(a: u32, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a,
        (b >> 48) & 0xFFFF,
        (b >> 36) & 0xFFF,
        (b >> 24) & 0xFFF,
        b & 0xFFFF_FFFF_FFFF
    )
}
