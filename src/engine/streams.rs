//! The engine side of DynamoDB Streams: reading a table's item changes
//! from the change log.
//!
//! A table's stream is a view of this region's change log: the item changes
//! of that table at log positions from the stream's `start_seq` on. Enabling
//! a stream records where it starts, so it needs the log position of the
//! table change that enables it (`table_update.rs`). Stream positions are
//! local: when another region's table description arrives, the positions
//! are re-based on this region's log (`stream_rules::localize_stream`).

use super::deleted::DeletedTables;
use super::error::EngineError;
use super::handle::Engine;
use crate::ids::Seq;
use crate::model::{TableMeta, item_size};
use crate::store::{Change, ItemChange};

/// Item changes of one table read from the log (`Engine::table_changes`).
#[derive(Debug, Default)]
pub struct LogSlice {
    /// (log position, change), in log order.
    pub changes: Vec<(Seq, ItemChange)>,
    /// The first position not looked at.
    pub next: Seq,
    /// The last committed log position when the slice was read.
    pub last_seq: Seq,
}

impl Engine {
    /// Item changes of `table` at log positions `from..=until` that changed
    /// something (a delete of a missing item or a put of an identical one is
    /// no stream record), at most `max_records` or about `max_bytes` of
    /// images (at least one change), looking at no more than `max_scan` log
    /// entries.
    pub async fn table_changes(
        &self,
        table: String,
        from: Seq,
        until: Seq,
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
                slice.next = slice.next.max(last_seq.min(until).next());
            }
            Ok(slice)
        })
        .await
    }

    /// The descriptions this region keeps of deleted tables for their
    /// streams (see `deleted.rs`), oldest deletion first.
    pub async fn deleted_table_streams(&self) -> Result<Vec<TableMeta>, EngineError> {
        let tables = self.deleted_tables(DeletedTables::STREAMS).await?;
        Ok(tables.into_iter().map(|(meta, _)| meta).collect())
    }

    /// Forgets the streams of tables deleted before `before_ns` (their
    /// retention has passed); returns how many tables it forgot.
    pub async fn forget_deleted_streams(&self, before_ns: u64) -> Result<usize, EngineError> {
        let forgotten = self.forget_deleted_before(DeletedTables::STREAMS, before_ns).await?;
        Ok(forgotten.len())
    }

    /// The first log position at or after `from` whose change was stamped at
    /// or after `wall_ns` (the last position + 1 when none was). A binary
    /// search: local changes are stamped in log order; replicated ones carry
    /// their origin's time, so around them the cut is approximate.
    pub async fn first_seq_since(&self, from: Seq, wall_ns: u64) -> Result<Seq, EngineError> {
        self.read(move |read| {
            let (mut lo, mut hi) = (from.max(Seq(1)), read.last_seq()?.next());
            while lo < hi {
                let mid = lo + hi.since(lo) / 2;
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
}

#[cfg(test)]
mod tests {
    use crate::model::TableMeta;
    use crate::model::table_features::{EarlierStream, StreamHistory, StreamState, StreamViewType, TtlSpec};
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
            change: TableChange::Updated(Box::new(meta())),
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
            start_seq: crate::ids::Seq(9),
            end_seq: None,
            shard_span: 10,
        }));
        with.ttl = Some(Box::new(TtlSpec {
            attribute: "expires".into(),
            enabled: true,
        }));
        assert_eq!(decode_table(&encode(&with)).unwrap(), with);
        // A description written before stream histories were kept ends
        // one byte (its `None`) earlier.
        let bytes = encode(&with);
        assert_eq!(decode_table(&bytes[..bytes.len() - 1]).unwrap(), with);
        let earlier = with.stream.as_deref().cloned().unwrap();
        with.stream_history = Some(Box::new(StreamHistory {
            latest_disabled_ms: Some(5),
            earlier: vec![EarlierStream {
                stream: earlier,
                disabled_ms: 3,
            }],
        }));
        assert_eq!(decode_table(&encode(&with)).unwrap(), with);
    }
}
