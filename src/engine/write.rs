//! Item writes inside the writer's group transaction: key validation,
//! conditions, updates, HLC stamping, and the item + change-log commit.

use super::error::EngineError;
use super::writer::Batch;
use crate::model::table::PrimaryKey;
use crate::model::{Item, TableMeta, item_size};
use crate::store::records::{ChangeRef, ItemChangeRef, ItemRecordRef};
use crate::store::{ChangeCause, Version};

/// Largest item DynamoDB stores: 400 KB.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// A condition on the current item (ConditionExpression, Expected), checked
/// inside the commit so that no other write can slip in between.
pub trait Precondition: Send + Sync {
    /// Whether the condition holds for `item` (empty when there is none).
    /// `Err` carries a ValidationException message (e.g. a type error).
    fn holds(&self, item: &Item) -> Result<bool, String>;
}

/// A change to the current item (UpdateExpression, AttributeUpdates),
/// computed inside the commit.
pub trait Mutator: Send + Sync {
    /// Applies the change to `item` in place. On `Err` (a ValidationException
    /// message) the item must be left as it was.
    fn apply(&self, item: &mut Item, key_attributes: &[&str]) -> Result<(), String>;
}

/// What a write does to one item.
pub enum ItemOp {
    /// PutItem: replace the item with this one.
    Put(Item),
    /// DeleteItem: delete the item with this key.
    Delete(Item),
    /// UpdateItem: change (or create) the item with this key.
    Update { key: Item, mutator: Box<dyn Mutator> },
}

/// One item write of a request.
pub struct ItemWrite {
    pub op: ItemOp,
    pub condition: Option<Box<dyn Precondition>>,
    /// Return the current item in `ConditionFailed` (ReturnValuesOnConditionCheckFailure = ALL_OLD).
    pub return_item_on_condition_failure: bool,
}

impl ItemWrite {
    /// An unconditional write.
    pub fn new(op: ItemOp) -> ItemWrite {
        ItemWrite {
            op,
            condition: None,
            return_item_on_condition_failure: false,
        }
    }
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

/// Validates the key (and, for puts, the size) of a write against the schema.
pub fn validate(meta: &TableMeta, op: &ItemOp) -> Result<PrimaryKey, EngineError> {
    let key = match op {
        ItemOp::Put(item) => {
            let key = meta.key_schema.key_of_item(item);
            if key.is_ok() && item_size(item) > MAX_ITEM_BYTES {
                return Err(EngineError::Validation(
                    "Item size has exceeded the maximum allowed size".into(),
                ));
            }
            key
        }
        ItemOp::Delete(key) | ItemOp::Update { key, .. } => meta.key_schema.key_from_request(key),
    };
    key.map_err(|e| EngineError::Validation(e.to_string()))
}

/// The table a data-plane request names (`Batch::table_ref` or
/// `Batch::with_table`), if it takes writes.
pub fn active_table<M: std::ops::Deref<Target = TableMeta>>(meta: Option<M>) -> Result<M, EngineError> {
    match meta {
        // A table being restored takes no writes until it is ACTIVE.
        Some(meta) if meta.status != crate::model::table::TableStatus::Creating => Ok(meta),
        _ => Err(EngineError::ResourceNotFound),
    }
}

/// Applies one write to table `meta` (whose counters it updates). Nothing is
/// written unless every check passes.
pub fn apply(batch: &mut Batch<'_, '_>, meta: &mut TableMeta, write: ItemWrite) -> Result<WriteOutcome, EngineError> {
    let key = validate(meta, &write.op)?;
    if write.condition.is_none() {
        match write.op {
            ItemOp::Put(item) => return replace(batch, meta, &key.encoded, Some(item)),
            ItemOp::Delete(_) => return replace(batch, meta, &key.encoded, None),
            // An update starts from the current item: it must be read first.
            ItemOp::Update { .. } => {}
        }
    }
    let current = batch.tables.item(meta.storage_id, &key.encoded)?;
    let (current_version, live) = match current {
        Some(record) => (Some(record.version), record.item),
        None => (None, None),
    };
    if let Some(condition) = &write.condition {
        let empty = Item::new();
        let holds = condition
            .holds(live.as_ref().unwrap_or(&empty))
            .map_err(EngineError::Validation)?;
        if !holds {
            let item = if write.return_item_on_condition_failure {
                live
            } else {
                None
            };
            return Err(EngineError::ConditionFailed { item });
        }
    }
    let new = match write.op {
        ItemOp::Put(item) => Some(item),
        ItemOp::Delete(_) => None,
        ItemOp::Update { mutator, .. } => {
            let mut item = match &live {
                Some(live) => live.clone(),
                None => key.to_item(&meta.key_schema),
            };
            // A key has one or two attributes: their names fit on the stack.
            let mut key_names = [""; 2];
            let count = key_names
                .iter_mut()
                .zip(meta.key_schema.names())
                .map(|(slot, name)| *slot = name)
                .count();
            mutator
                .apply(&mut item, &key_names[..count])
                .map_err(EngineError::Validation)?;
            if item_size(&item) > MAX_ITEM_BYTES {
                return Err(EngineError::Validation(
                    "Item size to update has exceeded the maximum allowed size".into(),
                ));
            }
            Some(item)
        }
    };
    let version = stamp(batch, current_version.as_ref());
    commit_change(batch, meta, &key.encoded, version, live, new, ChangeCause::Client)
}

/// An unconditional put (`new`) or delete (`None`): written without reading
/// the item first, since nothing about the write depends on it. The record
/// it replaced comes back from the same B-tree descent (redb's insert
/// returns it), which saves the separate lookup, about a tenth of the
/// writer's time under PutItem.
fn replace(
    batch: &mut Batch<'_, '_>,
    meta: &mut TableMeta,
    key: &[u8],
    new: Option<Item>,
) -> Result<WriteOutcome, EngineError> {
    let mut version = stamp(batch, None);
    let item = new.as_ref();
    let record = ItemRecordRef {
        version: &version,
        item,
    };
    let replaced = batch.tables.replace_item_ref(meta.storage_id, key, &record)?;
    if let Some(old) = &replaced
        && version.ts <= old.version.ts
    {
        // The stored version is ahead of our clock (see `stamp`): this
        // write must still win, so it is stamped above it and written again.
        version = stamp(batch, Some(&old.version));
        let record = ItemRecordRef {
            version: &version,
            item,
        };
        batch.tables.put_item_ref(meta.storage_id, key, &record)?;
    }
    let old = replaced.and_then(|record| record.item);
    record_change(batch, meta, key, version, old, new, ChangeCause::Client)
}

/// A version for a local write: a fresh HLC timestamp, always above the
/// version it replaces (so a local overwrite wins even over a remote write
/// stamped by a clock that runs ahead).
pub(super) fn stamp(batch: &mut Batch<'_, '_>, replaces: Option<&Version>) -> Version {
    let mut ts = batch.hlc.now();
    if let Some(current) = replaces
        && ts <= current.ts
    {
        // Observing moves the clock past `current`; an offset alarm for our
        // own stored data is not a peer problem, so it is not reported here.
        let _ = batch.hlc.observe(current.ts);
        ts = batch.hlc.now();
    }
    Version {
        ts,
        region: batch.region.to_string(),
    }
}

/// Writes the item record (or tombstone) and its change-log entry, and keeps
/// the table's item count and size current.
pub fn commit_change(
    batch: &mut Batch<'_, '_>,
    meta: &mut TableMeta,
    key: &[u8],
    version: Version,
    old: Option<Item>,
    new: Option<Item>,
    cause: ChangeCause,
) -> Result<WriteOutcome, EngineError> {
    // Encoded from borrowed data: the item is not copied for the record or
    // the change-log entry.
    batch.tables.put_item_ref(
        meta.storage_id,
        key,
        &ItemRecordRef {
            version: &version,
            item: new.as_ref(),
        },
    )?;
    record_change(batch, meta, key, version, old, new, cause)
}

/// What follows storing an item's record: its PITR version, its change-log
/// entry, and the table's item count and size.
pub(super) fn record_change(
    batch: &mut Batch<'_, '_>,
    meta: &mut TableMeta,
    key: &[u8],
    version: Version,
    old: Option<Item>,
    new: Option<Item>,
    cause: ChangeCause,
) -> Result<WriteOutcome, EngineError> {
    super::pitr::record_version(batch, meta.storage_id, key, &version, new.as_ref())?;
    let change = ItemChangeRef {
        table: &meta.name,
        key,
        version: &version,
        old: old.as_ref(),
        new: new.as_ref(),
        cause,
    };
    batch.tables.append_change_ref(&ChangeRef::Item(change))?;
    let size = |item: &Option<Item>| item.as_ref().map(|i| item_size(i) as u64).unwrap_or(0);
    meta.item_count = (meta.item_count + u64::from(new.is_some())).saturating_sub(u64::from(old.is_some()));
    meta.size_bytes = (meta.size_bytes + size(&new)).saturating_sub(size(&old));
    Ok(WriteOutcome { old, new })
}
