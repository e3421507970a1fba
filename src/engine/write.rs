//! Item writes inside the writer's group transaction: key validation,
//! conditions and updates; the change itself is stored, stamped and logged
//! by `GroupTxn::change_item`.

use super::error::EngineError;
use super::handle::Engine;
pub use super::txn::WriteOutcome;
use super::txn::{Arrival, GroupTxn, ItemUpdate};
use crate::model::table::PrimaryKey;
use crate::model::{IndexKind, Item, TableMeta, item_size};
use crate::store::ChangeCause;

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
            if key.is_ok() {
                check_index_keys(meta, item)?;
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
pub(super) fn apply(
    txn: &mut GroupTxn<'_, '_>,
    meta: &mut TableMeta,
    write: ItemWrite,
) -> Result<WriteOutcome, EngineError> {
    let key = validate(meta, &write.op)?;
    // A table with local secondary indexes has an item-collection limit,
    // checked against the item a write replaces: it is read first.
    let has_local = meta.indexes.iter().any(|i| i.kind == IndexKind::Local);
    if write.condition.is_none() && !has_local {
        match write.op {
            ItemOp::Put(item) => return store(txn, meta, &key.encoded, Some(item), Arrival::LocalUnread),
            ItemOp::Delete(_) => return store(txn, meta, &key.encoded, None, Arrival::LocalUnread),
            // An update starts from the current item: it must be read first.
            ItemOp::Update { .. } => {}
        }
    }
    let read = txn.tables.item(meta.storage_id, &key.encoded)?;
    let live = read.as_ref().and_then(|record| record.item.as_ref());
    if let Some(condition) = &write.condition {
        let empty = Item::new();
        let holds = condition
            .holds(live.unwrap_or(&empty))
            .map_err(EngineError::Validation)?;
        if !holds {
            let item = write.return_item_on_condition_failure.then(|| live.cloned()).flatten();
            return Err(EngineError::ConditionFailed { item });
        }
    }
    let new = match write.op {
        ItemOp::Put(item) => Some(item),
        ItemOp::Delete(_) => None,
        ItemOp::Update { mutator, .. } => Some(updated(meta, &key, live, mutator.as_ref())?),
    };
    txn.check_collection(meta, &key.hash, (live, new.as_ref()), 0)?;
    store(txn, meta, &key.encoded, new, Arrival::Local { read })
}

/// The item an update makes of `live` (or of the key alone, when there is
/// no item), checked against the item size limit.
pub(super) fn updated(
    meta: &TableMeta,
    key: &PrimaryKey,
    live: Option<&Item>,
    mutator: &dyn Mutator,
) -> Result<Item, EngineError> {
    let mut item = match live {
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
    check_index_keys(meta, &item)?;
    Ok(item)
}

/// An item's values for the table's index keys must have the keys' types
/// and not be empty (an item without them is simply not in the index).
fn check_index_keys(meta: &TableMeta, item: &Item) -> Result<(), EngineError> {
    meta.check_index_keys(item)
        .map_err(|e| EngineError::Validation(e.to_string()))
}

/// Hands a client's write to the group transaction's one item-change path.
fn store(
    txn: &mut GroupTxn<'_, '_>,
    meta: &mut TableMeta,
    key: &[u8],
    new: Option<Item>,
    arrival: Arrival,
) -> Result<WriteOutcome, EngineError> {
    let update = ItemUpdate {
        key,
        new,
        cause: ChangeCause::Client,
        arrival,
    };
    let (old, new) = txn.change_item(meta, update)?.local_images()?;
    Ok(WriteOutcome { old, new })
}

impl Engine {
    /// Writes one item (PutItem, DeleteItem, UpdateItem).
    pub async fn write_item(&self, table: String, write: ItemWrite) -> Result<WriteOutcome, EngineError> {
        self.writer()?
            .submit(move |txn| txn.with_table(&table, |txn, meta| apply(txn, active_table(meta)?, write)))
            .await
    }

    /// Writes several items of one BatchWriteItem request. Every write is
    /// validated first (keys, sizes, duplicates), so an invalid request
    /// writes nothing.
    pub async fn write_batch(&self, writes: Vec<(String, ItemWrite)>) -> Result<Vec<WriteOutcome>, EngineError> {
        self.writer()?
            .submit(move |txn| {
                let mut seen = std::collections::HashSet::new();
                for (table, write) in &writes {
                    let meta = active_table(txn.table_ref(table)?)?;
                    let key = validate(meta, &write.op)?;
                    if !seen.insert((table.clone(), key.encoded)) {
                        return Err(EngineError::Validation(
                            "Provided list of item keys contains duplicates".into(),
                        ));
                    }
                }
                let mut outcomes = Vec::with_capacity(writes.len());
                for (table, write) in writes {
                    outcomes.push(txn.with_table(&table, |txn, meta| apply(txn, active_table(meta)?, write))?);
                }
                Ok(outcomes)
            })
            .await
    }
}
