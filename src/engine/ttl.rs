//! The engine side of Time to Live: finding expired items, and deleting
//! them as ordinary item changes marked `ChangeCause::TimeToLive`,
//! re-checked inside the commit so an item rewritten since the sweep
//! looked at it is left alone. Also the cursors background workers resume
//! from.

use super::error::EngineError;
use super::handle::Engine;
use super::txn::{Arrival, ItemUpdate};
use crate::store::ChangeCause;

impl Engine {
    /// Keys of items of `table` whose Time to Live has passed at `now_secs`,
    /// looking at no more than `max_scan` records after `after`; also the
    /// cursor to continue from (`None` at the end of the table).
    pub async fn expired_keys(
        &self,
        table: String,
        after: Option<Vec<u8>>,
        max_scan: usize,
        now_secs: f64,
    ) -> Result<(Vec<Vec<u8>>, Option<Vec<u8>>), EngineError> {
        use std::ops::Bound;
        self.read(move |read| {
            let Some(meta) = read.table(&table)? else {
                return Ok((Vec::new(), None));
            };
            let Some(ttl) = meta.ttl.filter(|t| t.enabled) else {
                return Ok((Vec::new(), None));
            };
            let lower = after.map(Bound::Excluded).unwrap_or(Bound::Unbounded);
            let mut keys = Vec::new();
            let mut last = None;
            for entry in read
                .items(meta.storage_id, lower, Bound::Unbounded, true)?
                .take(max_scan)
            {
                let (key, record) = entry?;
                if record.item.as_ref().is_some_and(|item| ttl.expired(item, now_secs)) {
                    keys.push(key.clone());
                }
                last = Some(key);
            }
            let done = last.is_none();
            Ok((keys, if done { None } else { last }))
        })
        .await
    }

    /// Deletes the items at `keys` of `table` that are still expired at
    /// `now_secs`, as Time to Live deletes; returns how many it deleted.
    pub async fn expire_items(&self, table: String, keys: Vec<Vec<u8>>, now_secs: f64) -> Result<usize, EngineError> {
        self.writer()?
            .submit(move |txn| {
                let Some(mut meta) = txn.table(&table)? else {
                    return Ok(0);
                };
                let Some(ttl) = meta.ttl.clone().filter(|t| t.enabled) else {
                    return Ok(0);
                };
                let mut deleted = 0;
                for key in keys {
                    let Some(record) = txn.tables.item(meta.storage_id, &key)? else {
                        continue;
                    };
                    if !record.item.as_ref().is_some_and(|item| ttl.expired(item, now_secs)) {
                        continue;
                    }
                    let update = ItemUpdate {
                        key: &key,
                        new: None,
                        cause: ChangeCause::TimeToLive,
                        arrival: Arrival::Local { read: Some(record) },
                    };
                    txn.change_item(&mut meta, update)?.local_images()?;
                    deleted += 1;
                }
                txn.set_table(&table, Some(meta));
                Ok(deleted)
            })
            .await
    }

    /// Where background worker `name` left off, if it stored a cursor.
    pub async fn worker_cursor(&self, name: String) -> Result<Option<Vec<u8>>, EngineError> {
        self.read(move |read| Ok(read.cursor(&name)?)).await
    }

    /// Durably stores (or with `None`, clears) worker `name`'s cursor.
    pub async fn set_worker_cursor(&self, name: String, cursor: Option<Vec<u8>>) -> Result<(), EngineError> {
        self.writer()?
            .submit(move |txn| Ok(txn.tables.set_cursor(&name, cursor.as_deref())?))
            .await
    }
}
