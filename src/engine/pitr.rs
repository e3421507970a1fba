//! The engine's side of point-in-time recovery: the per-table PITR setting,
//! keeping every version a write path applies or receives (see
//! `store/history.rs` for the layout), reading the state of a table at a
//! time, loading restored tables, collecting old versions, and the named
//! records the `pitr` module keeps (backups, exports, jobs).
//!
//! Versions are written in the same transaction as the item they belong to,
//! so the history never misses a committed write and never holds one that
//! was not committed.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::deleted::{DeletedTables, SYSTEM_BACKUP_NS};
use super::error::EngineError;
use super::handle::Engine;
use super::index_entries::drop_all;
use super::tables::{NewTable, create_in};
use super::txn::{Arrival, ItemUpdate, pitr_settings_name};
use crate::clock::Timestamp;
use crate::ids::StorageId;
use crate::model::TableMeta;
use crate::model::table::TableStatus;
use crate::store::history::{GcCounts, HistoryEntry};
use crate::store::records;
use crate::store::{ChangeCause, ItemRecord, ReadTables};

/// Nanoseconds in a day of `RecoveryPeriodInDays`.
const DAY_NS: u64 = 86_400 * 1_000_000_000;

/// PITR settings of one table in this region (as in DynamoDB, each replica
/// of a global table has its own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitrSettings {
    /// Days of history kept (1 to 35).
    pub recovery_days: u32,
    /// When PITR was turned on: nothing earlier can be restored.
    pub enabled_at: Timestamp,
}

impl PitrSettings {
    /// The restorable window `(earliest, latest)` in wall-clock ns, given
    /// the wall clock `now_ns` and how far the latest point trails it.
    pub fn window(&self, now_ns: u64, lag_ns: u64) -> (u64, u64) {
        let period = u64::from(self.recovery_days) * DAY_NS;
        let earliest = self.enabled_at.wall_ns.max(now_ns.saturating_sub(period));
        let latest = now_ns.saturating_sub(lag_ns).max(earliest);
        (earliest, latest)
    }
}

/// One restored record: the encoded key and its record.
pub type LoadRecord = (Vec<u8>, ItemRecord);

/// The `LoadRecord` of a version of a table's history (`state_at`).
pub fn history_record(entry: HistoryEntry) -> Result<LoadRecord, EngineError> {
    let record = records::decode(&entry.record).map_err(|e| EngineError::Store(e.into()))?;
    Ok((entry.key, record))
}

/// A chunk of the state of a table at some time (live items only).
pub type StateChunk = Vec<HistoryEntry>;

fn read_settings(bytes: Option<Vec<u8>>) -> Result<Option<PitrSettings>, EngineError> {
    bytes
        .map(|b| records::decode(&b).map_err(|e| EngineError::Store(e.into())))
        .transpose()
}

impl Engine {
    /// A table's description and PITR settings (`None`: PITR off).
    pub async fn pitr_settings(&self, table: String) -> Result<(TableMeta, Option<PitrSettings>), EngineError> {
        self.read(move |read| {
            let meta = read.table(&table)?.ok_or(EngineError::TableNotFound(table))?;
            let settings = read_settings(read.pitr_record(&pitr_settings_name(meta.storage_id))?)?;
            Ok((meta, settings))
        })
        .await
    }

    /// Turns PITR on (keeping `enabled_at` when it already was, changing the
    /// period when given) or off (dropping the table's history).
    ///
    /// Turning it on seeds the history with every record the table holds, in
    /// the same transaction, so the state at `enabled_at` is restorable.
    pub async fn set_pitr(
        &self,
        table: String,
        enabled: bool,
        recovery_days: Option<u32>,
    ) -> Result<(TableMeta, Option<PitrSettings>), EngineError> {
        self.writer()?
            .submit(move |txn| {
                let meta = txn
                    .table(&table)?
                    .ok_or_else(|| EngineError::TableNotFound(table.clone()))?;
                let name = pitr_settings_name(meta.storage_id);
                let current = read_settings(txn.tables.pitr_record(&name)?)?;
                if !enabled {
                    if current.is_some() {
                        txn.remove_pitr_record(&name)?;
                        txn.tables.forget_history(meta.storage_id)?;
                    }
                    return Ok((meta, None));
                }
                let settings = match current {
                    Some(mut settings) => {
                        settings.recovery_days = recovery_days.unwrap_or(settings.recovery_days);
                        settings
                    }
                    None => {
                        let seeded = txn.tables.seed_history(meta.storage_id)?;
                        tracing::info!(region = %txn.region, table = %meta.name, seeded, "PITR enabled");
                        PitrSettings {
                            recovery_days: recovery_days.unwrap_or(35),
                            enabled_at: txn.hlc.now(),
                        }
                    }
                };
                txn.put_pitr_record(&name, &records::encode(&settings))?;
                Ok((meta, Some(settings)))
            })
            .await
    }

    /// Every table with PITR on, with its settings.
    pub async fn pitr_tables(&self) -> Result<Vec<(TableMeta, PitrSettings)>, EngineError> {
        self.read(|read| {
            let mut out = Vec::new();
            for name in read.table_names(None, usize::MAX)? {
                let Some(meta) = read.table(&name)? else { continue };
                if let Some(settings) = read_settings(read.pitr_record(&pitr_settings_name(meta.storage_id))?)? {
                    out.push((meta, settings));
                }
            }
            Ok(out)
        })
        .await
    }

    /// The deleted tables whose history is kept as a system backup (see
    /// `deleted.rs`), each with when it was deleted (ns), oldest first.
    pub async fn system_backups(&self) -> Result<Vec<(TableMeta, u64)>, EngineError> {
        self.deleted_tables(DeletedTables::HISTORY).await
    }

    /// Deletes the system backup of deleted table `storage_id` (its kept
    /// history); whether there was one.
    pub async fn delete_system_backup(&self, storage_id: StorageId) -> Result<bool, EngineError> {
        self.forget_deleted(DeletedTables::HISTORY, storage_id).await
    }

    /// Deletes the system backups older than `SYSTEM_BACKUP_DAYS` at
    /// `now_ns` (the region's wall clock, ns); returns how many.
    pub async fn expire_system_backups(&self, now_ns: u64) -> Result<usize, EngineError> {
        let before_ns = now_ns.saturating_sub(SYSTEM_BACKUP_NS);
        let expired = self.forget_deleted_before(DeletedTables::HISTORY, before_ns).await?;
        Ok(expired.len())
    }

    /// Streams the live items of `table` as of `at`: per key, the newest
    /// version (in LWW order) stamped at or before `at`, from one consistent
    /// snapshot of the history. Fails with `TableNotFound` when the table is
    /// gone (and left no system backup) or was re-created (another storage
    /// id).
    pub fn state_at(
        &self,
        table: String,
        storage_id: StorageId,
        at: Timestamp,
        chunk: usize,
    ) -> mpsc::Receiver<Result<StateChunk, EngineError>> {
        // Versions of a key come in ascending (timestamp, region) order: the
        // last one at or before `at` is the winner.
        self.history_by_key(table, storage_id, chunk, move |versions| {
            versions
                .into_iter()
                .take_while(|entry| entry.ts <= at)
                .last()
                .filter(|entry| !entry.is_tombstone())
        })
    }

    /// Streams, in chunks of at most `chunk`, what `pick` makes of the
    /// versions of each key of `table`'s history (ascending LWW order), read
    /// from one consistent snapshot; keys `pick` maps to `None` are left
    /// out. Fails with `TableNotFound` when the table is gone or was
    /// re-created (another storage id).
    pub(super) fn history_by_key<T, F>(
        &self,
        table: String,
        storage_id: StorageId,
        chunk: usize,
        mut pick: F,
    ) -> mpsc::Receiver<Result<Vec<T>, EngineError>>
    where
        T: Send + 'static,
        F: FnMut(Vec<HistoryEntry>) -> Option<T> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(4);
        let store = self.0.store.clone();
        tokio::task::spawn_blocking(move || {
            let result = (|| {
                let read = store.read()?;
                store.until_durable_blocking(read.group())?;
                if !history_kept(&read, &table, storage_id)? {
                    return Err(EngineError::TableNotFound(table));
                }
                let mut out = Vec::with_capacity(chunk);
                let mut versions: Vec<HistoryEntry> = Vec::new();
                for entry in read.history(storage_id)? {
                    let entry = entry?;
                    if versions.first().is_some_and(|v| v.key != entry.key) {
                        out.extend(pick(std::mem::take(&mut versions)));
                        if out.len() >= chunk && tx.blocking_send(Ok(std::mem::take(&mut out))).is_err() {
                            return Ok(());
                        }
                    }
                    versions.push(entry);
                }
                if !versions.is_empty() {
                    out.extend(pick(versions));
                }
                let _ = tx.blocking_send(Ok(out));
                Ok(())
            })();
            if let Err(error) = result {
                let _ = tx.blocking_send(Err(error));
            }
        });
        rx
    }

    /// Creates the target of a restore: like CreateTable, but CREATING until
    /// `finish_restore`; `job` (a named record saying how to fill it) is
    /// written in the same transaction, so a restart finds every unfinished
    /// restore.
    pub async fn create_restore_target(
        &self,
        spec: NewTable,
        job: (String, Vec<u8>),
    ) -> Result<TableMeta, EngineError> {
        self.writer()?
            .submit(move |txn| {
                let mut meta = create_in(txn, spec)?;
                meta.status = TableStatus::Creating;
                txn.set_table(&meta.name, Some(meta.clone()));
                txn.put_pitr_record(&job.0, &job.1)?;
                Ok(meta)
            })
            .await
    }

    /// Loads restored records into `table` (no change-log entries: a
    /// restored table is new and local to this region).
    pub async fn load_records(&self, table: String, records: Vec<LoadRecord>) -> Result<(), EngineError> {
        self.writer()?
            .submit(move |txn| {
                txn.with_table(&table, |txn, meta| {
                    let meta = meta.ok_or(EngineError::ResourceNotFound)?;
                    for (key, record) in records {
                        let update = ItemUpdate {
                            key: &key,
                            new: record.item,
                            cause: ChangeCause::Client,
                            arrival: Arrival::Restored(record.version),
                        };
                        txn.change_item(meta, update)?;
                    }
                    Ok(())
                })
            })
            .await
    }

    /// Empties a restore target (a restore starting over after a restart).
    pub async fn reset_restore_target(&self, table: String) -> Result<(), EngineError> {
        self.writer()?
            .submit(move |txn| {
                let mut meta = txn.table(&table)?.ok_or(EngineError::ResourceNotFound)?;
                txn.tables.delete_items(meta.storage_id)?;
                txn.tables.forget_history(meta.storage_id)?;
                drop_all(txn.tables, &mut meta)?;
                meta.item_count = 0;
                meta.size_bytes = 0;
                txn.set_table(&table, Some(meta));
                Ok(())
            })
            .await
    }

    /// Marks a restored table ACTIVE.
    pub async fn finish_restore(&self, table: String) -> Result<TableMeta, EngineError> {
        self.change_table(table, |meta, _| {
            meta.status = TableStatus::Active;
            Ok(())
        })
        .await
    }

    /// Collects history of one table no restore in the window (starting at
    /// `window_start`) can need, from the key after `after` on, at most
    /// `max` versions; returns where to go on (`None`: done) and counts.
    pub async fn collect_history(
        &self,
        storage_id: StorageId,
        after: Option<Vec<u8>>,
        window_start: Timestamp,
        max: usize,
    ) -> Result<(Option<Vec<u8>>, GcCounts), EngineError> {
        self.writer()?
            .submit(move |txn| {
                Ok(txn
                    .tables
                    .collect_history(storage_id, after.as_deref(), window_start, max)?)
            })
            .await
    }

    /// (versions, bytes) of history kept for a table.
    pub async fn history_size(&self, storage_id: StorageId) -> Result<(u64, u64), EngineError> {
        self.read(move |read| Ok(read.history_size(storage_id)?)).await
    }

    /// A named record of the `pitr` module.
    pub async fn pitr_record(&self, name: String) -> Result<Option<Vec<u8>>, EngineError> {
        self.read(move |read| Ok(read.pitr_record(&name)?)).await
    }

    /// Named records of the `pitr` module whose names start with `prefix`.
    pub async fn pitr_records(&self, prefix: String) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        self.read(move |read| Ok(read.pitr_records(&prefix)?)).await
    }

    /// Creates, replaces (`Some`) or removes (`None`) a named record;
    /// with `only_new`, fails with `ResourceInUse` if it exists already.
    pub async fn put_pitr_record(
        &self,
        name: String,
        value: Option<Vec<u8>>,
        only_new: bool,
    ) -> Result<(), EngineError> {
        // Removing a record (DeleteBackup) runs on a full disk too.
        let frees = value.is_none();
        self.writer()?
            .submit_as(
                move |txn| {
                    if only_new && txn.tables.has_pitr_record(&name)? {
                        return Err(EngineError::ResourceInUse(name));
                    }
                    match value {
                        Some(value) => txn.put_pitr_record(&name, &value)?,
                        None => txn.remove_pitr_record(&name)?,
                    }
                    Ok(())
                },
                frees,
            )
            .await
    }
}

/// Whether `storage_id`'s history is there to read: it is `table`'s, or a
/// deleted table's kept as a system backup.
fn history_kept(read: &ReadTables, table: &str, storage_id: StorageId) -> Result<bool, EngineError> {
    if read.table(table)?.map(|m| m.storage_id) == Some(storage_id) {
        return Ok(true);
    }
    let stored = read.cursor(DeletedTables::HISTORY)?;
    let kept = DeletedTables::decode(stored.as_deref()).and_then(|kept| kept.tables());
    let kept = kept.map_err(crate::store::StoreError::from)?;
    Ok(kept.iter().any(|(meta, _)| meta.storage_id == storage_id))
}
#[cfg(test)]
mod tests {
    use crate::clock::{Hlc, Timestamp};
    use crate::config::StorageConfig;
    use crate::engine::{Engine, ItemOp, ItemWrite, NewTable};
    use crate::ids::Seq;
    use crate::ids::StorageId;
    use crate::model::key::encode_primary_key;
    use crate::model::{AttributeValue, Item};
    use crate::store::{Change, ChangeCause, ItemChange, ItemRecord, Version};

    fn item(pk: &str, v: &str) -> Item {
        Item::from([
            ("pk".to_string(), AttributeValue::S(pk.into())),
            ("v".to_string(), AttributeValue::S(v.into())),
        ])
    }

    async fn engine_with_table(dir: &std::path::Path) -> (Engine, StorageId) {
        let hlc = Hlc::new(0, std::time::Duration::from_secs(1));
        let engine = Engine::open(dir, "us-east-1", hlc, &StorageConfig::default()).unwrap();
        let spec = NewTable::keyed_by_pk("t");
        let meta = engine.create_table(spec).await.unwrap();
        engine.set_pitr("t".into(), true, None).await.unwrap();
        (engine, meta.storage_id)
    }

    async fn put(engine: &Engine, pk: &str, v: &str) -> Timestamp {
        engine
            .write_item("t".into(), ItemWrite::new(ItemOp::Put(item(pk, v))))
            .await
            .unwrap();
        let key = Item::from([("pk".to_string(), AttributeValue::S(pk.into()))]);
        engine.item_version("t".into(), key).await.unwrap().unwrap().0.ts
    }

    fn remote(seq: u64, ts: Timestamp, pk: &str, v: &str) -> (Seq, Change) {
        let change = ItemChange {
            table: "t".into(),
            key: encode_primary_key(&AttributeValue::S(pk.into()), None),
            version: Version {
                ts,
                region: "eu-west-1".into(),
            },
            old: None,
            new: Some(item(pk, v)),
            cause: ChangeCause::Client,
        };
        (Seq(seq), Change::Item(change))
    }

    /// The `v` of every live item at `at`, by pk.
    async fn state(engine: &Engine, storage_id: StorageId, at: Timestamp) -> Vec<(String, String)> {
        let mut rx = engine.state_at("t".into(), storage_id, at, 2);
        let mut out = Vec::new();
        while let Some(chunk) = rx.recv().await {
            for entry in chunk.unwrap() {
                let record: ItemRecord = entry.decode().unwrap();
                let item = record.item.unwrap();
                let text = |name: &str| match &item[name] {
                    AttributeValue::S(s) => s.clone(),
                    other => panic!("unexpected {other:?}"),
                };
                out.push((text("pk"), text("v")));
            }
        }
        out
    }

    fn before(ts: Timestamp, ns: u64) -> Timestamp {
        Timestamp {
            wall_ns: ts.wall_ns - ns,
            logical: 0,
        }
    }

    #[tokio::test]
    async fn writes_in_the_group_that_turns_pitr_on_or_off_follow_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let hlc = Hlc::new(0, std::time::Duration::from_secs(1));
        let engine = Engine::open(dir.path(), "us-east-1", hlc, &StorageConfig::default()).unwrap();
        let storage_id = engine
            .create_table(NewTable::keyed_by_pk("t"))
            .await
            .unwrap()
            .storage_id;
        // One job, so one group: whether the table keeps history is looked
        // up by the first write and must be looked up again after the
        // setting changes.
        engine
            .writer()
            .unwrap()
            .submit(move |txn| {
                let put = |txn: &mut crate::engine::txn::GroupTxn<'_, '_>, v: &str| {
                    let write = ItemWrite::new(ItemOp::Put(item("k", v)));
                    txn.with_table("t", |txn, meta| {
                        crate::engine::write::apply(txn, crate::engine::write::active_table(meta)?, write)
                    })
                };
                put(txn, "off")?;
                let settings = super::PitrSettings {
                    recovery_days: 1,
                    enabled_at: txn.hlc.now(),
                };
                let name = super::pitr_settings_name(storage_id);
                txn.put_pitr_record(&name, &crate::store::records::encode(&settings))?;
                put(txn, "on")?;
                txn.remove_pitr_record(&name)?;
                put(txn, "off again")?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(engine.history_size(storage_id).await.unwrap().0, 1);
        engine.shutdown();
    }

    #[tokio::test]
    async fn a_write_that_loses_on_arrival_is_restored_where_it_was_the_winner() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, storage_id) = engine_with_table(dir.path()).await;
        let local = put(&engine, "k", "local").await;
        // Stamped 1 ms before our write, arriving after it: it loses here,
        // but it is the state of `k` between its stamp and ours.
        let older = before(local, 1_000_000);
        let report = engine
            .apply_remote("eu-west-1".into(), vec![remote(1, older, "k", "remote")], Seq(1))
            .await
            .unwrap();
        assert_eq!(report.applied, 0);
        // A late write of another key with an old timestamp counts too.
        let late = before(local, 5_000_000);
        engine
            .apply_remote("eu-west-1".into(), vec![remote(2, late, "j", "late")], Seq(2))
            .await
            .unwrap();

        assert_eq!(state(&engine, storage_id, before(late, 1)).await, vec![]);
        assert_eq!(
            state(&engine, storage_id, late).await,
            vec![("j".into(), "late".into())]
        );
        let at_older = state(&engine, storage_id, older).await;
        assert_eq!(
            at_older,
            vec![("j".into(), "late".into()), ("k".into(), "remote".into())]
        );
        let now = state(&engine, storage_id, local).await;
        assert_eq!(now, vec![("j".into(), "late".into()), ("k".into(), "local".into())]);
        engine.shutdown();
    }

    #[tokio::test]
    async fn collection_keeps_the_window_and_the_state_at_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, storage_id) = engine_with_table(dir.path()).await;
        let v1 = put(&engine, "k", "1").await;
        let v2 = put(&engine, "k", "2").await;
        let v3 = put(&engine, "k", "3").await;
        put(&engine, "other", "x").await;
        engine
            .write_item(
                "t".into(),
                ItemWrite::new(ItemOp::Delete(Item::from([(
                    "pk".to_string(),
                    AttributeValue::S("other".into()),
                )]))),
            )
            .await
            .unwrap();
        assert_eq!(engine.history_size(storage_id).await.unwrap().0, 5);
        let window_start = v2;
        let at_start = state(&engine, storage_id, window_start).await;
        let at_end = state(&engine, storage_id, v3).await;
        let now = |engine: &Engine| engine.hlc().now();
        // One version per chunk: the cursor walks key by key.
        let mut cursor = None;
        let mut removed = 0;
        loop {
            let (next, counts) = engine
                .collect_history(storage_id, cursor, window_start, 1)
                .await
                .unwrap();
            removed += counts.removed;
            match next {
                Some(key) => cursor = Some(key),
                None => break,
            }
        }
        assert_eq!(removed, 1, "only v1 is older than the version at the window start");
        assert_eq!(engine.history_size(storage_id).await.unwrap().0, 4);
        assert_eq!(state(&engine, storage_id, window_start).await, at_start);
        assert_eq!(state(&engine, storage_id, v3).await, at_end);
        assert_eq!(at_start, vec![("k".into(), "2".into())]);
        assert!(v1 < v2);
        // Once the delete of `other` is before the window start, neither of
        // its versions is needed.
        let (_, counts) = engine
            .collect_history(storage_id, None, now(&engine), 100)
            .await
            .unwrap();
        assert_eq!(counts.removed, 3, "v2, and both versions of `other`");
        assert_eq!(
            state(&engine, storage_id, now(&engine)).await,
            vec![("k".into(), "3".into())]
        );

        // Turning PITR off drops the history.
        engine.set_pitr("t".into(), false, None).await.unwrap();
        assert_eq!(engine.history_size(storage_id).await.unwrap(), (0, 0));
        engine.shutdown();
    }
}
