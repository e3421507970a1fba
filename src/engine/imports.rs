//! The engine's side of ImportTable: loading the items of an import into
//! its new table, each checked as a PutItem would check it, and turning the
//! table ACTIVE together with the import's final record.
//!
//! The target is created CREATING with the import's record
//! (`create_restore_target`), so a restart finds every unfinished import,
//! and clients cannot write into it until it is ACTIVE.

use super::error::EngineError;
use super::handle::Engine;
use super::txn::{Arrival, ItemUpdate};
use super::write::validate_put;
use crate::model::Item;
use crate::model::table::TableStatus;
use crate::store::{ChangeCause, Version};

/// Why one imported item was not stored (DynamoDB's ValidationException
/// message for the same item in a PutItem).
pub type Rejection = String;

impl Engine {
    /// Stores the valid `items` in the CREATING table `table`, in order (a
    /// later item with the same key replaces an earlier one, as DynamoDB's
    /// import does), and answers per item `None` (stored) or why not. Like
    /// a restore, the items are not logged: the new table is local to this
    /// region until a replica is added.
    pub async fn import_items(&self, table: String, items: Vec<Item>) -> Result<Vec<Option<Rejection>>, EngineError> {
        self.writer()?
            .submit(move |txn| {
                txn.with_table(&table, |txn, meta| {
                    // Imports fill new tables only: a table that is not
                    // CREATING is not the import's (any more).
                    let meta = meta
                        .filter(|m| m.status == TableStatus::Creating)
                        .ok_or(EngineError::ResourceNotFound)?;
                    let mut outcomes = Vec::with_capacity(items.len());
                    for item in items {
                        let key = match validate_put(meta, &item) {
                            Ok(key) => key,
                            Err(EngineError::Validation(message)) => {
                                outcomes.push(Some(message));
                                continue;
                            }
                            Err(other) => return Err(other),
                        };
                        let version = Version {
                            ts: txn.hlc.now(),
                            region: txn.region.to_string(),
                        };
                        let update = ItemUpdate {
                            key: &key.encoded,
                            new: Some(item),
                            cause: ChangeCause::Client,
                            arrival: Arrival::Restored(version),
                        };
                        txn.change_item(meta, update)?;
                        outcomes.push(None);
                    }
                    Ok(outcomes)
                })
            })
            .await
    }

    /// Marks an imported table ACTIVE and writes the import's final record
    /// `(name, bytes)` in the same commit, so the record never says
    /// IN_PROGRESS of an ACTIVE table.
    pub async fn finish_import(&self, table: String, record: (String, Vec<u8>)) -> Result<(), EngineError> {
        self.change_table_and(
            table,
            |meta, _| {
                meta.status = TableStatus::Active;
                Ok(())
            },
            move |txn| Ok(txn.put_pitr_record(&record.0, &record.1)?),
        )
        .await
        .map(|_| ())
    }
}
