//! Table management: CreateTable, DeleteTable, DescribeTable, ListTables,
//! and every change to a table's description (`TableUpdate`, backfills and
//! restores finishing), each logged for the replicas as a table change.

use std::collections::BTreeMap;

use super::deleted::{Deleted, DeletedTables};
use super::error::EngineError;
use super::handle::Engine;
use super::index_entries::localize;
use super::lww::description_version;
use super::stream_rules::{NewStream, stream_at};
use super::table_update::{ChangeContext, TableUpdate};
use super::txn::GroupTxn;
use crate::ids::StorageId;
use crate::model::table::{BillingMode, Replica, ReplicaStatus, TableStatus};
use crate::model::table_features::{OnDemandMaxima, StreamState};
use crate::model::table_settings::TableSettings;
use crate::model::{KeyAttribute, KeySchema, SecondaryIndex, TableMeta};
use crate::store::records::CodecError;
use crate::store::{Change, StoreError, TableChange, Version};

/// What CreateTable asks for, validated by the API layer.
#[derive(Clone, Debug)]
pub struct NewTable {
    pub name: String,
    pub key_schema: KeySchema,
    pub attribute_definitions: Vec<KeyAttribute>,
    pub billing: BillingMode,
    pub tags: BTreeMap<String, String>,
    /// StreamSpecification with StreamEnabled, if given.
    pub stream: Option<NewStream>,
    /// Secondary indexes (their storage is allocated on creation).
    pub indexes: Vec<SecondaryIndex>,
    /// OnDemandThroughput of the table and its GSIs, if any was given.
    pub on_demand: Option<Box<OnDemandMaxima>>,
    /// Table class, warm throughput and KMS keys, if any was given.
    pub settings: Option<Box<TableSettings>>,
}

/// Logs `meta` (whose version is unchanged) as a change of this region's
/// own, so the replicas receive this region's replica status on it.
pub(super) fn announce_replica_status(txn: &mut GroupTxn<'_, '_>, meta: &TableMeta) -> Result<(), EngineError> {
    let version = Version {
        ts: txn.hlc.now(),
        region: txn.region.to_string(),
    };
    txn.tables.append_change(&Change::Table {
        version,
        change: TableChange::Updated(Box::new(meta.clone())),
    })?;
    Ok(())
}

impl Engine {
    /// The deleted tables the named record `record` keeps (see
    /// `deleted.rs`), oldest deletion first.
    pub(super) async fn deleted_tables(&self, record: &'static str) -> Result<Vec<Deleted>, EngineError> {
        self.read(move |read| {
            let stored = read.cursor(record)?;
            let tables = DeletedTables::decode(stored.as_deref()).and_then(|kept| kept.tables());
            Ok(tables.map_err(StoreError::from)?)
        })
        .await
    }

    /// Forgets the tables of `record` deleted before `before_ns` (and the
    /// history of those `DeletedTables::HISTORY` kept); returns their
    /// storage ids.
    pub(super) async fn forget_deleted_before(
        &self,
        record: &'static str,
        before_ns: u64,
    ) -> Result<Vec<StorageId>, EngineError> {
        let due = self
            .read(move |read| {
                let stored = read.cursor(record)?;
                let kept = DeletedTables::decode(stored.as_deref()).map_err(StoreError::from)?;
                Ok(kept.any_before(before_ns))
            })
            .await?;
        if !due {
            return Ok(Vec::new());
        }
        self.change_deleted(record, move |kept| kept.forget_before(before_ns))
            .await
    }

    /// Forgets table `storage_id` from `record` (and its history, from
    /// `DeletedTables::HISTORY`); whether it was kept.
    pub(super) async fn forget_deleted(
        &self,
        record: &'static str,
        storage_id: StorageId,
    ) -> Result<bool, EngineError> {
        let forgotten = self
            .change_deleted(record, move |kept| {
                Ok(kept.forget(storage_id)?.then_some(storage_id).into_iter().collect())
            })
            .await?;
        Ok(!forgotten.is_empty())
    }

    /// Changes `record` with `change`, which returns the storage ids it
    /// forgot; their history goes too when `record` kept it.
    async fn change_deleted(
        &self,
        record: &'static str,
        change: impl FnOnce(&mut DeletedTables) -> Result<Vec<StorageId>, CodecError> + Send + 'static,
    ) -> Result<Vec<StorageId>, EngineError> {
        self.writer()?
            .submit_freeing(move |txn| {
                let stored = txn.tables.cursor(record)?;
                let mut kept = DeletedTables::decode(stored.as_deref()).map_err(StoreError::from)?;
                let forgotten = change(&mut kept).map_err(StoreError::from)?;
                if record == DeletedTables::HISTORY {
                    for storage_id in &forgotten {
                        txn.tables.forget_history(*storage_id)?;
                    }
                }
                txn.tables.set_cursor(record, Some(&kept.encode()))?;
                Ok(forgotten)
            })
            .await
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
            indexes: Vec::new(),
            on_demand: None,
            settings: None,
        }
    }
}

impl Engine {
    /// Creates a table (ACTIVE at once, as DynamoDB Local does).
    pub async fn create_table(&self, spec: NewTable) -> Result<TableMeta, EngineError> {
        self.writer()?.submit(move |txn| create_in(txn, spec)).await
    }

    /// Deletes a table and its items; returns its last description, DELETING.
    pub async fn delete_table(&self, name: String) -> Result<TableMeta, EngineError> {
        self.writer()?
            .submit_freeing(move |txn| {
                let mut meta = txn
                    .table(&name)?
                    .ok_or_else(|| EngineError::TableNotFound(name.clone()))?;
                let version = Version {
                    ts: txn.hlc.now(),
                    region: txn.region.to_string(),
                };
                txn.delete_table(&meta, &version)?;
                let change = TableChange::Deleted {
                    name: name.clone(),
                    table_id: meta.table_id.clone(),
                };
                txn.tables.append_change(&Change::Table { version, change })?;
                meta.status = TableStatus::Deleting;
                Ok(meta)
            })
            .await
    }

    /// Changes a table's description as `update` says (UpdateTable,
    /// UpdateTimeToLive, TagResource, UntagResource), validated against the
    /// description as it is when the change runs; the new description
    /// replicates to the other regions.
    pub async fn update_table(&self, name: String, update: TableUpdate) -> Result<TableMeta, EngineError> {
        self.change_table(name, move |meta, context| Ok(update.apply(meta, context)?))
            .await
    }

    /// Changes a table's description with `change` (which is told where in
    /// the log the change lands) and logs the new description for the
    /// replicas; on an error nothing changes.
    pub(super) async fn change_table(
        &self,
        name: String,
        change: impl FnOnce(&mut TableMeta, &ChangeContext) -> Result<(), EngineError> + Send + 'static,
    ) -> Result<TableMeta, EngineError> {
        self.change_table_and(name, change, |_| Ok(())).await
    }

    /// `change_table`, with `also` run in the same transaction (e.g. a job
    /// record written together with the change it records).
    pub(super) async fn change_table_and(
        &self,
        name: String,
        change: impl FnOnce(&mut TableMeta, &ChangeContext) -> Result<(), EngineError> + Send + 'static,
        also: impl FnOnce(&mut GroupTxn<'_, '_>) -> Result<(), EngineError> + Send + 'static,
    ) -> Result<TableMeta, EngineError> {
        self.writer()?
            .submit(move |txn| {
                let old = txn
                    .table(&name)?
                    .ok_or_else(|| EngineError::TableNotFound(name.clone()))?;
                let mut meta = old.clone();
                let context = ChangeContext {
                    next_seq: txn.tables.last_seq() + 1,
                    now: txn.hlc.now(),
                    region: txn.region.to_string(),
                };
                change(&mut meta, &context)?;
                localize(txn.tables, Some(&old), &mut meta, true)?;
                meta.changed = context.now;
                meta.changed_by = txn.region.to_string();
                txn.set_table(&name, Some(meta.clone()));
                txn.tables.append_change(&Change::Table {
                    version: description_version(&meta),
                    change: TableChange::Updated(Box::new(meta.clone())),
                })?;
                also(txn)?;
                Ok(meta)
            })
            .await
    }

    /// Marks this region's replica of `table` ACTIVE (backfill finished)
    /// and tells the replicas, in a log entry of this region's own.
    ///
    /// The description keeps its version (`changed`, `changed_by`): the
    /// mark is not a change of the table's settings, and a newer version
    /// would outrank, by last-writer-wins, a change another region made to
    /// the description meanwhile (an UpdateTimeToLive right after adding the
    /// replica was lost that way). Replicas holding the same version take
    /// the mark (`remote::merge_finished_backfills`); one holding a newer
    /// version that still says CREATING sends it here, and this region
    /// answers with the mark on that version.
    pub async fn finish_backfill(&self, table: String) -> Result<TableMeta, EngineError> {
        let region = self.0.region.clone();
        self.writer()?
            .submit(move |txn| {
                let mut meta = txn
                    .table(&table)?
                    .ok_or_else(|| EngineError::TableNotFound(table.clone()))?;
                for replica in meta.replicas.iter_mut().filter(|r| r.region == region) {
                    replica.status = ReplicaStatus::Active;
                }
                txn.set_table(&table, Some(meta.clone()));
                announce_replica_status(txn, &meta)?;
                Ok(meta)
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
}

/// Creates a table inside a write group (CreateTable, restore targets).
pub(super) fn create_in(txn: &mut GroupTxn<'_, '_>, spec: NewTable) -> Result<TableMeta, EngineError> {
    if txn.table(&spec.name)?.is_some() {
        return Err(EngineError::TableExists(spec.name));
    }
    let meta = new_table(txn, spec)?;
    record_created(txn, &meta)?;
    Ok(meta)
}

/// The description of a new table `spec` with its replica in this region
/// only, given a storage id (not yet stored: see `record_created`).
pub(super) fn new_table(txn: &mut GroupTxn<'_, '_>, spec: NewTable) -> Result<TableMeta, EngineError> {
    let storage_id = txn.tables.allocate_storage_id()?;
    let now = txn.hlc.now();
    let mut meta = TableMeta {
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
            region: txn.region.to_string(),
            status: ReplicaStatus::Active,
        }],
        changed: now,
        changed_by: txn.region.to_string(),
        stream: spec.stream.map(|s| Box::new(open_stream(txn, &s))),
        ttl: None,
        indexes: spec.indexes,
        on_demand: spec.on_demand,
        stream_history: None,
        settings: spec.settings,
    };
    // A new table is empty: its indexes need no backfill.
    localize(txn.tables, None, &mut meta, false)?;
    Ok(meta)
}

/// Stores a new table's description and logs its creation, stamped with
/// the description's `changed`, for the replicas.
pub(super) fn record_created(txn: &mut GroupTxn<'_, '_>, meta: &TableMeta) -> Result<(), EngineError> {
    txn.set_table(&meta.name, Some(meta.clone()));
    let version = Version {
        ts: meta.changed,
        region: txn.region.to_string(),
    };
    txn.tables.append_change(&Change::Table {
        version,
        change: TableChange::Created(Box::new(meta.clone())),
    })?;
    Ok(())
}

/// Opens a stream starting at the next log position.
fn open_stream(txn: &mut GroupTxn<'_, '_>, spec: &NewStream) -> StreamState {
    stream_at(txn.tables.last_seq() + 1, txn.hlc.now(), spec, None)
}

/// A UUID-shaped, stable table id derived from the table's creation.
fn table_uuid(storage_id: StorageId, nanos: u64, name: &str) -> String {
    uuid_shaped(
        crc32fast::hash(name.as_bytes()),
        nanos ^ storage_id.get().rotate_left(32),
    )
}

/// `a` and `b` written as a UUID (version 4, variant 1 digits fixed), the
/// shape DynamoDB's table ids have.
pub(super) fn uuid_shaped(a: u32, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a,
        (b >> 48) & 0xFFFF,
        (b >> 36) & 0xFFF,
        (b >> 24) & 0xFFF,
        b & 0xFFFF_FFFF_FFFF
    )
}
