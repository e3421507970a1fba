//! The group transaction: one redb write transaction shared by every job
//! of a writer group, and the one path every item change takes.
//!
//! `GroupTxn::change_item` is where an item change is stored, logged,
//! versioned for PITR and counted, whichever way it came: a local write
//! (`write.rs`), a replicated change or a snapshot record (`remote.rs`), a
//! Time to Live delete (`ttl.rs`), or a restored record (`pitr.rs`); and
//! where it updates the table's secondary indexes (`index_entries.rs`), once.
//!
//! The transaction also caches the table descriptions the group touches, so
//! their counters are written once per commit, and records which regions
//! must drop a table when a description loses replicas.

use std::collections::HashMap;

use super::deleted::DeletedTables;
use super::error::EngineError;
use super::lww::incoming_wins;
use super::schema_cache::changes_schema;
use super::stream_rules::streams_of_deleted;
use crate::clock::Hlc;
use crate::ids::StorageId;
use crate::model::{IndexKind, Item, SecondaryIndex, TableMeta, item_size};
use crate::store::records::{self, ChangeRef, ItemChangeRef, ItemRecordRef};
use crate::store::{ChangeCause, DroppedTable, ItemRecord, Keyspace, StoreError, Version, WriteTables};

/// The name of the PITR record holding table `storage_id`'s PITR settings:
/// a table keeps history while it exists.
pub(super) fn pitr_settings_name(storage_id: StorageId) -> String {
    format!("settings/{storage_id:016x}")
}

/// How an item change came to this region, which decides how it is stored.
#[derive(Debug)]
pub(super) enum Arrival {
    /// A write made here, over `read`, the record read for it (its
    /// condition, update or Time to Live check): stamped here, above it.
    Local { read: Option<ItemRecord> },
    /// A write made here without reading the item first (an unconditional
    /// put or delete): stamped here, above whatever it replaces.
    LocalUnread,
    /// One write of a transaction made here, over `read`: stamped with
    /// the transaction's one `version`, which is above every record the
    /// transaction read (`GroupTxn::stamp_above`). Sharing one version is
    /// what keeps a transaction whole in the change log, in other regions
    /// and in PITR (see `transact.rs`).
    Stamped { read: Option<ItemRecord>, version: Version },
    /// A change made elsewhere (a replicated change, a snapshot record):
    /// stored only where it wins last-writer-wins.
    Merged(Version),
    /// A restored record of a new table: stored as it is, not logged (a
    /// restored table is local to this region).
    Restored(Version),
}

/// One change to one item of a table, as every write path describes it.
#[derive(Debug)]
pub(super) struct ItemUpdate<'k> {
    /// The encoded primary key (see `model::key`).
    pub key: &'k [u8],
    /// The item after the change; `None` deletes it (a tombstone).
    pub new: Option<Item>,
    /// Why the change was made (streams tell Time to Live deletes apart).
    pub cause: ChangeCause,
    pub arrival: Arrival,
}

/// The item before and after a successful write.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutcome {
    pub old: Option<Item>,
    pub new: Option<Item>,
}

impl WriteOutcome {
    /// The larger of the old and new item sizes: what write capacity counts.
    pub fn billed_bytes(&self) -> usize {
        let size = |item: &Option<Item>| item.as_ref().map(item_size).unwrap_or(0);
        size(&self.old).max(size(&self.new))
    }
}

/// What `GroupTxn::change_item` did.
#[derive(Debug)]
pub(super) enum Applied {
    /// The change is stored at `version`, logged and counted; it replaced
    /// `old` (stored at `replaced`).
    Won {
        old: Option<Item>,
        new: Option<Item>,
        version: Version,
        replaced: Option<Version>,
    },
    /// The stored record `current` wins (or is the same version); only
    /// the change's PITR version was kept.
    Lost {
        current: ItemRecord,
        new: Option<Item>,
        version: Version,
    },
}

/// What one group learned of the store that the next may start from: the
/// table descriptions it read or wrote, by name (`None`: no such table),
/// and whether each table keeps PITR history, as the group committed them.
/// The writer hands it from one group to the next (`GroupTxn::new`,
/// `GroupTxn::finish`), so an item write does not read and decode its
/// table's description in every group. It is right only while every change
/// to descriptions and PITR records goes through the group transaction, as
/// every change does; a group that fails is not committed, and what it
/// learned is dropped.
#[derive(Default)]
pub(super) struct Known {
    metas: HashMap<String, Option<TableMeta>>,
    keeps_history: HashMap<StorageId, bool>,
}

/// What a job sees: the transaction, a cache of table descriptions shared by
/// the group (so counters are written once per commit), the clock and region.
pub struct GroupTxn<'a, 't> {
    pub(super) tables: &'a mut WriteTables<'t>,
    pub(super) hlc: &'a Hlc,
    pub(super) region: &'a str,
    metas: HashMap<String, Option<TableMeta>>,
    dirty: Vec<String>,
    /// Whether a table's storage id or key schema changed in this group.
    schema_changed: bool,
    /// Whether a table (by storage id) keeps PITR history, as looked up in
    /// this group: every write asks, and the store is asked once.
    keeps_history: HashMap<StorageId, bool>,
    /// Tables regions must drop, written when the group ends.
    dropped: Vec<DroppedTable>,
    /// Why the group must not commit (`abort`), if it must not.
    aborted: Option<String>,
    /// See `check_collection`.
    collection_limit: u64,
    /// Tables a `with_table` change failed on: their descriptions are not
    /// handed to the next group unless written (see `finish`).
    failed_on: Vec<String>,
}

impl GroupTxn<'_, '_> {
    /// The description of table `name` as of this point in the group.
    pub(super) fn table(&mut self, name: &str) -> Result<Option<TableMeta>, StoreError> {
        Ok(self.table_ref(name)?.cloned())
    }

    /// `table` without copying the description.
    pub(super) fn table_ref(&mut self, name: &str) -> Result<Option<&TableMeta>, StoreError> {
        if !self.metas.contains_key(name) {
            let meta = self.tables.table(name)?;
            self.metas.insert(name.to_string(), meta);
        }
        Ok(self.metas.get(name).and_then(Option::as_ref))
    }

    /// Runs `change` on table `name`'s description (`None`: no such table)
    /// in place, rather than on a copy: item writes change only the counters
    /// and run once per request. Meanwhile the table reads as absent here.
    ///
    /// `change` must not change the storage id, key schema or table id (use
    /// `set_table`), and must leave the description as it found it when it
    /// fails (item writes check everything before changing anything). When
    /// it succeeds the description is written when the group ends.
    pub(super) fn with_table<T>(
        &mut self,
        name: &str,
        change: impl FnOnce(&mut Self, Option<&mut TableMeta>) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        self.table_ref(name)?;
        let mut meta = self.metas.get_mut(name).and_then(Option::take);
        let result = change(self, meta.as_mut());
        let exists = meta.is_some();
        if let Some(slot) = self.metas.get_mut(name) {
            *slot = meta;
        }
        if result.is_ok() && exists && !self.dirty.iter().any(|n| n == name) {
            self.dirty.push(name.to_string());
        }
        if result.is_err() {
            self.failed_on.push(name.to_string());
        }
        result
    }

    /// Replaces (or with `None`, removes) a table description; written to the
    /// store once, when the group ends. A new description of the same table
    /// without some of its replicas records that those regions drop it
    /// (`DroppedTable`; a deletion is recorded by `record_deleted`).
    pub(super) fn set_table(&mut self, name: &str, meta: Option<TableMeta>) {
        let previous = self.metas.get(name).and_then(Option::as_ref);
        // A table not loaded in this group counts as changed (conservative).
        if changes_schema(previous, meta.as_ref()) {
            self.schema_changed = true;
        }
        if let (Some(previous), Some(new)) = (previous, &meta)
            && previous.table_id == new.table_id
        {
            let version = super::lww::description_version(new);
            let removed = previous.replicas.iter().filter(|r| new.replica(&r.region).is_none());
            let dropped: Vec<DroppedTable> = removed
                .map(|r| DroppedTable {
                    name: name.to_string(),
                    table_id: new.table_id.clone(),
                    region: r.region.clone(),
                    version: version.clone(),
                    deleted: false,
                })
                .collect();
            self.dropped.extend(dropped);
        }
        match self.metas.get_mut(name) {
            Some(slot) => *slot = meta,
            None => {
                self.metas.insert(name.to_string(), meta);
            }
        }
        if !self.dirty.iter().any(|n| n == name) {
            self.dirty.push(name.to_string());
        }
    }

    /// Removes table `name` (storage id `storage_id`) from this region with
    /// its items and PITR history (a deletion is `delete_table`).
    pub(super) fn drop_table(&mut self, name: &str, storage_id: StorageId) -> Result<(), StoreError> {
        self.drop_items(name, storage_id)?;
        self.tables.forget_history(storage_id)
    }

    /// Removes table `name`'s description, items and index entries.
    fn drop_items(&mut self, name: &str, storage_id: StorageId) -> Result<(), StoreError> {
        self.tables.delete_items(storage_id)?;
        if let Some(mut meta) = self.table(name)?.filter(|m| m.storage_id == storage_id) {
            super::index_entries::drop_all(self.tables, &mut meta)?;
        }
        self.set_table(name, None);
        Ok(())
    }

    /// Deletes table `meta` from this region by the change `version` (to be
    /// appended next to the change log): drops it, records that every
    /// replica drops it (see `DroppedTable`), and keeps what DynamoDB keeps
    /// of a deleted table: its streams, readable and disabled for 24 hours,
    /// and, with point-in-time recovery on, its history up to the deletion
    /// (a system backup, for 35 days; see `deleted.rs`).
    pub(super) fn delete_table(&mut self, meta: &TableMeta, version: &Version) -> Result<(), StoreError> {
        let dropped = meta.replicas.iter().map(|r| DroppedTable {
            name: meta.name.clone(),
            table_id: meta.table_id.clone(),
            region: r.region.clone(),
            version: version.clone(),
            deleted: true,
        });
        self.dropped.extend(dropped);
        let now = self.hlc.now();
        if let Some(kept) = streams_of_deleted(meta, self.tables.last_seq() + 1, now) {
            self.keep_deleted(DeletedTables::STREAMS, &kept, now.wall_ns)?;
        }
        let storage_id = meta.storage_id;
        let keeps_history = self.keeps_history(storage_id)?;
        if keeps_history {
            self.keep_deleted(DeletedTables::HISTORY, meta, version.ts.wall_ns)?;
            self.remove_pitr_record(&pitr_settings_name(storage_id))?;
        }
        self.drop_items(&meta.name, storage_id)?;
        if !keeps_history {
            self.tables.forget_history(storage_id)?;
        }
        Ok(())
    }

    /// Adds `meta`, deleted at `deleted_ns`, to the named `record`.
    fn keep_deleted(&mut self, record: &str, meta: &TableMeta, deleted_ns: u64) -> Result<(), StoreError> {
        let stored = self.tables.cursor(record)?;
        let mut tables = DeletedTables::decode(stored.as_deref())?;
        tables.add(meta, deleted_ns);
        self.tables.set_cursor(record, Some(&tables.encode()))
    }

    /// Whether table `storage_id` keeps PITR history, asking the store the
    /// first time in the group. PITR records are written through
    /// `put_pitr_record` and `remove_pitr_record`, which forget the answers.
    fn keeps_history(&mut self, storage_id: StorageId) -> Result<bool, StoreError> {
        if let Some(&keeps) = self.keeps_history.get(&storage_id) {
            return Ok(keeps);
        }
        let keeps = self.tables.has_pitr_record(&pitr_settings_name(storage_id))?;
        self.keeps_history.insert(storage_id, keeps);
        Ok(keeps)
    }

    /// Creates or replaces a named PITR record (see `keeps_history`).
    pub(super) fn put_pitr_record(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.keeps_history.clear();
        self.tables.put_pitr_record(name, value)
    }

    /// Removes a named PITR record (see `keeps_history`).
    pub(super) fn remove_pitr_record(&mut self, name: &str) -> Result<(), StoreError> {
        self.keeps_history.clear();
        self.tables.remove_pitr_record(name)
    }

    /// Records that a description changed what reads rely on in place (an
    /// index backfill finished): the schema cache must forget it.
    pub(super) fn mark_schema_changed(&mut self) {
        self.schema_changed = true;
    }

    /// Marks the group as failed: it is not committed, whatever the jobs
    /// after this one do. For a job that fails with a storage error, which
    /// may have left some of its writes in the transaction.
    pub(super) fn abort(&mut self, error: &StoreError) {
        if self.aborted.is_none() {
            self.aborted = Some(format!("a write in the same commit group failed: {error}"));
        }
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        for dropped in std::mem::take(&mut self.dropped) {
            self.tables.record_dropped(&dropped)?;
        }
        for name in std::mem::take(&mut self.dirty) {
            match self.metas.get(&name) {
                Some(Some(meta)) => self.tables.put_table(meta)?,
                _ => self.tables.remove_table(&name)?,
            }
        }
        Ok(())
    }
}

impl Applied {
    /// The item before and after a local write. A local write is stamped
    /// above what it replaces, so it always wins; were it ever to lose,
    /// the job fails as a storage error (aborting its group) rather than
    /// answering as if it had been written.
    pub(super) fn local_images(self) -> Result<(Option<Item>, Option<Item>), EngineError> {
        match self {
            Applied::Won { old, new, .. } => Ok((old, new)),
            Applied::Lost { .. } => {
                debug_assert!(false, "a local write lost last-writer-wins");
                Err(StoreError::CommitFailed("a local write lost last-writer-wins".into()).into())
            }
        }
    }
}

impl GroupTxn<'_, '_> {
    /// A fresh transaction for one group, starting from what the last
    /// group committed learned (`Known::default()` when unknown).
    pub(super) fn new<'a, 't>(
        tables: &'a mut WriteTables<'t>,
        hlc: &'a Hlc,
        region: &'a str,
        collection_limit: u64,
        known: Known,
    ) -> GroupTxn<'a, 't> {
        GroupTxn {
            tables,
            hlc,
            region,
            metas: known.metas,
            dirty: Vec::new(),
            schema_changed: false,
            keeps_history: known.keeps_history,
            dropped: Vec::new(),
            aborted: None,
            collection_limit,
            failed_on: Vec::new(),
        }
    }

    /// Refuses a local write that would grow its item collection (the
    /// partition's items and their local secondary index entries, by
    /// DynamoDB's size rules) past the limit, as DynamoDB refuses one past
    /// 10 GB. Only tables with local secondary indexes have the limit; a
    /// write that does not grow the collection always passes. `pending` is
    /// what writes checked before it and not stored yet add to the same
    /// collection (a transaction's); returns what this write adds.
    pub(super) fn check_collection(
        &self,
        meta: &TableMeta,
        hash: &crate::model::AttributeValue,
        (old, new): (Option<&Item>, Option<&Item>),
        pending: u64,
    ) -> Result<u64, EngineError> {
        let locals: Vec<_> = meta.indexes.iter().filter(|i| i.kind == IndexKind::Local).collect();
        if locals.is_empty() {
            return Ok(0);
        }
        let bytes = |item: Option<&Item>| -> u64 {
            let Some(item) = item else { return 0 };
            let entries = locals
                .iter()
                .filter(|index| index.entry_key(&[], item).is_some())
                .map(|index| index.projected_size(&meta.key_schema, item) as u64);
            item_size(item) as u64 + entries.sum::<u64>()
        };
        let (before, after) = (bytes(old), bytes(new));
        if after <= before {
            return Ok(0);
        }
        let fits = |stored: u64| stored.saturating_sub(before) + pending + after <= self.collection_limit;
        // The whole table (its items and LSI entries) bounds each of its
        // collections: while it fits, no partition needs reading.
        let table = meta.size_bytes + locals.iter().map(|index| index.size_bytes).sum::<u64>();
        if !fits(table) && !fits(self.collection_bytes(meta, &locals, hash)?) {
            return Err(EngineError::ItemCollectionTooLarge);
        }
        Ok(after - before)
    }

    /// The size of partition `hash`'s item collection as stored: its items
    /// and their entries in the table's LSIs (`locals`), by DynamoDB's size
    /// rules, as ReturnItemCollectionMetrics counts it. Reads the partition.
    fn collection_bytes(
        &self,
        meta: &TableMeta,
        locals: &[&SecondaryIndex],
        hash: &crate::model::AttributeValue,
    ) -> Result<u64, StoreError> {
        let prefix = crate::model::key::encode_primary_key(hash, None);
        let stores = std::iter::once((Keyspace::Items, meta.storage_id))
            .chain(locals.iter().map(|index| (Keyspace::IndexEntries, index.storage_id)));
        let mut total = 0u64;
        for (space, storage_id) in stores {
            self.tables.visit_with_prefix(space, storage_id, &prefix, |bytes| {
                let record: ItemRecord = records::decode(bytes)?;
                total += record.item.as_ref().map_or(0, |item| item_size(item) as u64);
                Ok(())
            })?;
        }
        Ok(total)
    }

    /// Ends the group: fails if a job aborted it, else writes the table
    /// descriptions it changed. Returns whether a table's storage id or key
    /// schema changed (the schema cache must forget what it holds), and
    /// what the group learned, for the next group once this one commits.
    pub(super) fn finish(mut self) -> Result<(bool, Known), StoreError> {
        if let Some(why) = self.aborted.take() {
            return Err(StoreError::CommitFailed(why));
        }
        let written = self.dirty.clone();
        self.flush()?;
        // A failed change should leave its description as it found it; one
        // that did not would hand the next group what the store does not
        // hold, so a description a change failed on is handed on only if
        // it was written.
        for name in &self.failed_on {
            if !written.contains(name) {
                self.metas.remove(name);
            }
        }
        let known = Known {
            metas: self.metas,
            keeps_history: self.keeps_history,
        };
        Ok((self.schema_changed, known))
    }

    /// Applies one item change to table `meta`: stores its record (or
    /// tombstone) as its arrival says, then, if it won, keeps its PITR
    /// version, appends its change-log entry (unless restored), updates
    /// the table's secondary indexes and its item count and size. A change
    /// that loses keeps only its PITR version: it may still be the winner
    /// at an earlier time.
    pub(super) fn change_item(&mut self, meta: &mut TableMeta, update: ItemUpdate<'_>) -> Result<Applied, EngineError> {
        let ItemUpdate {
            key,
            new,
            cause,
            arrival,
        } = update;
        let logged = !matches!(arrival, Arrival::Restored(_));
        let (version, replaced) = match arrival {
            Arrival::Local { read } => {
                let version = self.stamp(read.as_ref().map(|r| &r.version));
                self.put_record(meta.storage_id, key, &version, new.as_ref())?;
                (version, read)
            }
            Arrival::LocalUnread => self.replace_unread(meta.storage_id, key, new.as_ref())?,
            Arrival::Stamped { read, version } => {
                debug_assert!(read.as_ref().is_none_or(|r| r.version.ts < version.ts));
                self.put_record(meta.storage_id, key, &version, new.as_ref())?;
                (version, read)
            }
            Arrival::Restored(version) => {
                let record = ItemRecordRef {
                    version: &version,
                    item: new.as_ref(),
                };
                let replaced = self.tables.replace_item_ref(meta.storage_id, key, &record)?;
                (version, replaced)
            }
            Arrival::Merged(version) => match self.merge_record(meta.storage_id, key, &version, new.as_ref())? {
                Ok(replaced) => (version, replaced),
                Err(current) => {
                    self.record_version(meta.storage_id, key, &version, new.as_ref())?;
                    return Ok(Applied::Lost { current, new, version });
                }
            },
        };
        self.record_version(meta.storage_id, key, &version, new.as_ref())?;
        let (old, replaced) = match replaced {
            Some(record) => (record.item, Some(record.version)),
            None => (None, None),
        };
        if logged {
            let change = ItemChangeRef {
                table: &meta.name,
                key,
                version: &version,
                old: old.as_ref(),
                new: new.as_ref(),
                cause,
            };
            self.tables.append_change_ref(&ChangeRef::Item(change))?;
        }
        if !meta.indexes.is_empty() {
            super::index_entries::maintain(self.tables, meta, key, old.as_ref(), new.as_ref(), &version)?;
        }
        count_change(meta, old.as_ref(), new.as_ref());
        Ok(Applied::Won {
            old,
            new,
            version,
            replaced,
        })
    }

    /// A version for a local write: a fresh HLC timestamp, always above the
    /// version it replaces (so a local overwrite wins even over a remote
    /// write stamped by a clock that runs ahead).
    fn stamp(&mut self, replaces: Option<&Version>) -> Version {
        let mut ts = self.hlc.now();
        if let Some(current) = replaces
            && ts <= current.ts
        {
            // Observing moves the clock past `current`; an offset alarm for
            // our own stored data is not a peer problem, so it is not
            // reported here.
            let _ = self.hlc.observe(current.ts);
            ts = self.hlc.now();
        }
        debug_assert!(
            replaces.is_none_or(|r| ts > r.ts),
            "a local write is stamped above what it replaces"
        );
        Version {
            ts,
            region: self.region.to_string(),
        }
    }

    /// One version for several local writes (a transaction's), above every
    /// version in `replaces` (the records they read).
    pub(super) fn stamp_above<'v>(&mut self, replaces: impl Iterator<Item = &'v Version>) -> Version {
        let newest = replaces.max_by(|a, b| a.ts.cmp(&b.ts));
        self.stamp(newest)
    }

    /// Stores one record (encoded from borrowed data: the item is not copied).
    fn put_record(
        &mut self,
        storage_id: StorageId,
        key: &[u8],
        version: &Version,
        item: Option<&Item>,
    ) -> Result<(), StoreError> {
        self.tables
            .put_item_ref(storage_id, key, &ItemRecordRef { version, item })
    }

    /// An unconditional local put (`new`) or delete (`None`), written
    /// without reading the item first: the record it replaced comes back
    /// from the same B-tree descent (redb's insert returns it), which saves
    /// a separate lookup, about a tenth of the writer's time under PutItem.
    fn replace_unread(
        &mut self,
        storage_id: StorageId,
        key: &[u8],
        new: Option<&Item>,
    ) -> Result<(Version, Option<ItemRecord>), EngineError> {
        let mut version = self.stamp(None);
        let record = ItemRecordRef {
            version: &version,
            item: new,
        };
        let replaced = self.tables.replace_item_ref(storage_id, key, &record)?;
        if let Some(old) = &replaced
            && version.ts <= old.version.ts
        {
            // The stored version is ahead of our clock (see `stamp`): this
            // write must still win, so it is stamped above it and written again.
            version = self.stamp(Some(&old.version));
            self.put_record(storage_id, key, &version, new)?;
        }
        Ok((version, replaced))
    }

    /// Stores `item` at `version` for `key` unless the stored record wins by
    /// LWW: `Ok` with the record it replaced, or `Err` with the stored
    /// record that won (still stored).
    ///
    /// Written first and put back if it loses, which is rare (a conflict, or
    /// a change delivered twice): redb's insert returns the record it
    /// replaced, so a record that wins costs one B-tree descent, not a
    /// lookup and then an insert.
    fn merge_record(
        &mut self,
        storage_id: StorageId,
        key: &[u8],
        version: &Version,
        item: Option<&Item>,
    ) -> Result<Result<Option<ItemRecord>, ItemRecord>, StoreError> {
        let incoming = ItemRecordRef { version, item };
        match self.tables.replace_item_ref(storage_id, key, &incoming)? {
            Some(current) if !incoming_wins(Some(&current.version), version) => {
                self.tables.put_item(storage_id, key, &current)?;
                Ok(Err(current))
            }
            replaced => Ok(Ok(replaced)),
        }
    }

    /// Keeps one version of a key when the table has PITR on: every change
    /// `change_item` sees, winner or loser.
    fn record_version(
        &mut self,
        storage_id: StorageId,
        key: &[u8],
        version: &Version,
        item: Option<&Item>,
    ) -> Result<(), StoreError> {
        if !self.keeps_history(storage_id)? {
            return Ok(());
        }
        // A live item always has its key attributes, so its size is never 0;
        // `max(1)` keeps 0 meaning "tombstone" even so.
        let size = item.map(|i| (item_size(i) as u32).max(1)).unwrap_or(0);
        let bytes = records::encode(&ItemRecordRef { version, item });
        self.tables.put_history(storage_id, key, version, size, &bytes)
    }
}

/// Keeps a table's item count and size current across one change.
fn count_change(meta: &mut TableMeta, old: Option<&Item>, new: Option<&Item>) {
    let size = |item: Option<&Item>| item.map(|i| item_size(i) as u64).unwrap_or(0);
    meta.item_count = (meta.item_count + u64::from(new.is_some())).saturating_sub(u64::from(old.is_some()));
    meta.size_bytes = (meta.size_bytes + size(new)).saturating_sub(size(old));
}
