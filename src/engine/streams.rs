//! The engine side of DynamoDB Streams and Time to Live.
//!
//! A table's stream is a view of this region's change log: the item changes
//! of that table at log positions from the stream's `start_seq` on. Enabling
//! a stream records where it starts, so it needs the log position of the
//! table change that enables it (`update_table_with`). Stream positions are
//! local: when another region's table description arrives, the positions
//! are re-based on this region's log (`localize_stream`).
//!
//! Time to Live deletes are ordinary item writes through the writer, marked
//! `ChangeCause::TimeToLive`, re-checked inside the commit so an item
//! rewritten since the sweep looked at it is left alone.

use super::Engine;
use super::error::EngineError;
use super::txn::GroupTxn;
use super::txn::{Arrival, ItemUpdate};
use crate::clock::Timestamp;
use crate::model::table_features::{StreamState, StreamViewType, stream_label};
use crate::model::{TableMeta, item_size};
use crate::store::{Change, ChangeCause, ItemChange};

/// A stream to open: StreamSpecification with StreamEnabled = true.
#[derive(Clone, Debug)]
pub struct NewStream {
    pub view_type: StreamViewType,
    /// Change-log positions per shard (from the node's configuration).
    pub shard_span: u64,
}

/// Where a table change lands: what `update_table_with` tells its closure.
#[derive(Clone, Debug)]
pub struct ChangeContext {
    /// Log position the table change itself will take.
    pub next_seq: u64,
    /// The HLC time of the change.
    pub now: Timestamp,
}

/// Opens a stream starting at the next log position.
pub(super) fn open_stream(txn: &mut GroupTxn<'_, '_>, spec: &NewStream) -> StreamState {
    let context = ChangeContext {
        next_seq: txn.tables.last_seq() + 1,
        now: txn.hlc.now(),
    };
    stream_at(&context, spec, None)
}

/// A new stream opened by the change at `context`; its label differs from
/// the previous stream's even when both fall in the same millisecond.
pub fn stream_at(context: &ChangeContext, spec: &NewStream, previous: Option<&StreamState>) -> StreamState {
    let mut created_ms = context.now.unix_millis();
    if let Some(previous) = previous
        && previous.created_ms >= created_ms
    {
        created_ms = previous.created_ms + 1;
    }
    StreamState {
        label: stream_label(created_ms),
        view_type: spec.view_type,
        enabled: true,
        created_ms,
        start_seq: context.next_seq,
        end_seq: None,
        shard_span: spec.shard_span.max(1),
    }
}

/// Re-bases the stream of a replicated table description on this region's
/// log: the same stream (label) keeps its local start; a new one starts at
/// the next local position; a stream disabled elsewhere ends here now.
pub(super) fn localize_stream(txn: &GroupTxn<'_, '_>, local: Option<&TableMeta>, meta: &mut TableMeta) {
    let next_seq = txn.tables.last_seq() + 1;
    let local = local.and_then(|m| m.stream.as_ref());
    if let Some(remote) = meta.stream.as_mut() {
        let (start, end) = match local {
            Some(mine) if mine.label == remote.label => (mine.start_seq, mine.end_seq),
            _ => (next_seq, None),
        };
        remote.start_seq = start;
        remote.end_seq = if remote.enabled { None } else { end.or(Some(next_seq)) };
    }
}

/// Item changes of one table read from the log (`Engine::table_changes`).
#[derive(Debug, Default)]
pub struct LogSlice {
    /// (log position, change), in log order.
    pub changes: Vec<(u64, ItemChange)>,
    /// The first position not looked at.
    pub next: u64,
    /// The last committed log position when the slice was read.
    pub last_seq: u64,
}

impl Engine {
    /// Changes a table's description like `update_table`, telling `change`
    /// where in the log the change lands (streams start there).
    pub async fn update_table_with(
        &self,
        name: String,
        change: impl FnOnce(&mut TableMeta, &ChangeContext) -> Result<(), EngineError> + Send + 'static,
    ) -> Result<TableMeta, EngineError> {
        self.writer()?
            .submit(move |txn| {
                let mut meta = txn
                    .table(&name)?
                    .ok_or_else(|| EngineError::TableNotFound(name.clone()))?;
                let context = ChangeContext {
                    next_seq: txn.tables.last_seq() + 1,
                    now: txn.hlc.now(),
                };
                change(&mut meta, &context)?;
                meta.changed = context.now;
                meta.changed_by = txn.region.to_string();
                txn.set_table(&name, Some(meta.clone()));
                let version = super::lww::description_version(&meta);
                txn.tables.append_change(&Change::Table {
                    version,
                    change: crate::store::TableChange::Updated(meta.clone()),
                })?;
                Ok(meta)
            })
            .await
    }

    /// Item changes of `table` at log positions `from..=until` that changed
    /// something (a delete of a missing item or a put of an identical one is
    /// no stream record), at most `max_records` or about `max_bytes` of
    /// images (at least one change), looking at no more than `max_scan` log
    /// entries.
    pub async fn table_changes(
        &self,
        table: String,
        from: u64,
        until: u64,
        max_records: usize,
        max_scan: usize,
        max_bytes: usize,
    ) -> Result<LogSlice, EngineError> {
        self.read(move |read| {
            let last_seq = read.last_seq()?;
            let mut slice = LogSlice {
                changes: Vec::new(),
                next: from,
                last_seq,
            };
            // Whether everything up to `until` (or the log's end) was seen.
            let mut complete = true;
            let mut bytes = 0;
            for (scanned, entry) in read.changes(from)?.enumerate() {
                let (seq, change) = entry?;
                if seq > until {
                    break;
                }
                if scanned == max_scan || slice.changes.len() == max_records {
                    complete = false;
                    break;
                }
                if let Change::Item(item) = change
                    && item.table == table
                    && item.old != item.new
                {
                    let size = |image: &Option<crate::model::Item>| image.as_ref().map(item_size).unwrap_or(0);
                    let size = size(&item.old) + size(&item.new);
                    if bytes + size > max_bytes && !slice.changes.is_empty() {
                        complete = false;
                        break;
                    }
                    bytes += size;
                    slice.changes.push((seq, item));
                }
                slice.next = seq + 1;
            }
            if complete {
                slice.next = slice.next.max(last_seq.min(until).saturating_add(1));
            }
            Ok(slice)
        })
        .await
    }

    /// The first log position at or after `from` whose change was stamped at
    /// or after `wall_ns` (the last position + 1 when none was). A binary
    /// search: local changes are stamped in log order; replicated ones carry
    /// their origin's time, so around them the cut is approximate.
    pub async fn first_seq_since(&self, from: u64, wall_ns: u64) -> Result<u64, EngineError> {
        self.read(move |read| {
            let (mut lo, mut hi) = (from.max(1), read.last_seq()? + 1);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let stamped = match read.changes(mid)?.next() {
                    Some(entry) => entry?.1.version().ts.wall_ns,
                    None => u64::MAX,
                };
                if stamped < wall_ns {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            Ok(lo)
        })
        .await
    }

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
}

#[cfg(test)]
mod tests {
    use crate::model::TableMeta;
    use crate::model::table_features::{StreamState, StreamViewType, TtlSpec};
    use crate::store::records::{decode, decode_table, encode};
    use crate::store::{Change, TableChange, Version};

    fn meta() -> TableMeta {
        TableMeta {
            created_at_ms: 7,
            item_count: 1,
            size_bytes: 2,
            ..TableMeta::sample("t", 3)
        }
    }

    #[tokio::test]
    async fn worker_cursors_survive_a_restart() {
        use crate::clock::Hlc;
        use crate::config::StorageConfig;
        use crate::engine::Engine;
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let hlc = Hlc::new(0, std::time::Duration::from_secs(1));
            Engine::open(dir.path(), "r", hlc, &StorageConfig::default()).unwrap()
        };
        let engine = open();
        assert_eq!(engine.worker_cursor("w/t".into()).await.unwrap(), None);
        engine.set_worker_cursor("w/t".into(), Some(vec![1, 2])).await.unwrap();
        engine.shutdown();
        drop(engine);
        let engine = open();
        assert_eq!(engine.worker_cursor("w/t".into()).await.unwrap(), Some(vec![1, 2]));
        engine.set_worker_cursor("w/t".into(), None).await.unwrap();
        assert_eq!(engine.worker_cursor("w/t".into()).await.unwrap(), None);
        engine.shutdown();
    }

    #[test]
    fn descriptions_written_before_streams_and_ttl_still_decode() {
        // A format-1 description ended where the two new fields begin; with
        // both absent they encode as two trailing `None` bytes.
        let bytes = encode(&meta());
        assert_eq!(&bytes[bytes.len() - 2..], &[0, 0]);
        let old = &bytes[..bytes.len() - 2];
        assert_eq!(decode_table(old).unwrap(), meta());
        let change = Change::Table {
            version: Version {
                ts: Default::default(),
                region: "r".into(),
            },
            change: TableChange::Updated(meta()),
        };
        let bytes = encode(&change);
        assert_eq!(decode::<Change>(&bytes[..bytes.len() - 2]).unwrap(), change);
    }

    #[test]
    fn descriptions_with_streams_and_ttl_round_trip() {
        let mut with = meta();
        with.stream = Some(Box::new(StreamState {
            label: "2026-01-01T00:00:00.000".into(),
            view_type: StreamViewType::NewImage,
            enabled: true,
            created_ms: 1,
            start_seq: 9,
            end_seq: None,
            shard_span: 10,
        }));
        with.ttl = Some(Box::new(TtlSpec {
            attribute: "expires".into(),
            enabled: true,
        }));
        assert_eq!(decode_table(&encode(&with)).unwrap(), with);
    }
}
