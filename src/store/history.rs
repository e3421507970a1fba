//! Versions kept for point-in-time recovery, and the small records of PITR
//! (settings per table, backups, exports, worker cursors).
//!
//! `history` holds one entry per version a region applied or received for a
//! table with PITR enabled, winners and losers of last-writer-wins alike:
//!
//! ```text
//! key:   storage id (8, BE) | encoded primary key | wall ns (8, BE) | logical (4, BE)
//!        | origin region | 0x00 | primary-key length (2, BE)
//! value: format (1) | item size (4, BE; 0 for a tombstone) | ItemRecord bytes
//! ```
//!
//! The encoded primary key is prefix-free (see `model::key`), so the versions
//! of one key are contiguous and ordered by (timestamp, region): LWW order.
//! The state at T is one range scan keeping, per key, the last version <= T.
//! The trailing key length lets a reader split a raw key without the schema;
//! the value carries the item record exactly as the `items` table stores it,
//! so a restore copies bytes without decoding items.
//!
//! `pitr` maps names to small serialized records owned by the layers above
//! (`settings/<storage id>`, `backup/<id>`, `export/<id>`, ...).

use std::ops::Bound;

use redb::ReadableTable;

use super::journal::TableId;
use super::records::{self, ItemRecord, Version};
use super::write::{GroupTables, as_slice};
use super::{ReadTables, StoreError, WriteTables};
use crate::clock::Timestamp;
use crate::ids::StorageId;
use crate::model::item_size;

/// Layout byte of history values.
const HISTORY_V1: u8 = 1;

/// One version of one key, as kept in `history`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Encoded primary key (no storage prefix).
    pub key: Vec<u8>,
    /// When the version was written (HLC).
    pub ts: Timestamp,
    /// DynamoDB size of the item, 0 for a tombstone.
    pub size: u32,
    /// The `ItemRecord` bytes, as the `items` table stores them.
    pub record: Vec<u8>,
}

impl HistoryEntry {
    /// Whether this version is a delete.
    pub fn is_tombstone(&self) -> bool {
        self.size == 0
    }

    /// Decodes the item record.
    pub fn decode(&self) -> Result<ItemRecord, StoreError> {
        Ok(records::decode(&self.record)?)
    }
}

/// The history key of one version.
fn history_key(storage_id: StorageId, key: &[u8], version: &Version) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len() + 12 + version.region.len() + 3);
    out.extend_from_slice(&storage_id.to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&version.ts.wall_ns.to_be_bytes());
    out.extend_from_slice(&version.ts.logical.to_be_bytes());
    out.extend_from_slice(version.region.as_bytes());
    out.push(0);
    // Primary keys are at most 2048 + 1024 bytes before escaping; escaping at
    // most doubles them, so the length fits in u16.
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out
}

/// The history value of one version: layout byte, item size, record bytes.
fn history_value(size: u32, record: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(5 + record.len());
    value.push(HISTORY_V1);
    value.extend_from_slice(&size.to_be_bytes());
    value.extend_from_slice(record);
    value
}

/// Splits a raw history key into (primary key, timestamp), without its
/// storage prefix. `None` for a key this module did not write.
fn split_key(raw: &[u8]) -> Option<(&[u8], Timestamp)> {
    let len = u16::from_be_bytes(raw.get(raw.len().checked_sub(2)?..)?.try_into().ok()?) as usize;
    let key = raw.get(8..8 + len)?;
    let ts = raw.get(8 + len..8 + len + 12)?;
    let wall_ns = u64::from_be_bytes(ts[..8].try_into().ok()?);
    let logical = u32::from_be_bytes(ts[8..].try_into().ok()?);
    Some((key, Timestamp { wall_ns, logical }))
}

fn decode_entry(raw_key: &[u8], value: &[u8]) -> Result<HistoryEntry, StoreError> {
    let corrupt = || StoreError::Codec(records::CodecError::Corrupt("history entry".into()));
    let (key, ts) = split_key(raw_key).ok_or_else(corrupt)?;
    let (&format, rest) = value.split_first().ok_or_else(corrupt)?;
    if format != HISTORY_V1 {
        return Err(StoreError::Codec(records::CodecError::UnknownFormat(format)));
    }
    let size = u32::from_be_bytes(rest.get(..4).ok_or_else(corrupt)?.try_into().map_err(|_| corrupt())?);
    Ok(HistoryEntry {
        key: key.to_vec(),
        ts,
        size,
        record: rest[4..].to_vec(),
    })
}

fn table_range(storage_id: StorageId) -> ([u8; 8], [u8; 8]) {
    (storage_id.to_be_bytes(), storage_id.next().to_be_bytes())
}

/// `table_range` as bounds.
fn table_bounds(storage_id: StorageId) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let (start, end) = table_range(storage_id);
    (Bound::Included(start.to_vec()), Bound::Excluded(end.to_vec()))
}

impl WriteTables<'_> {
    /// Keeps one version of a key of a PITR-enabled table. `size` is the
    /// item's DynamoDB size (0 for a tombstone), `record` the encoded
    /// `ItemRecord`.
    pub fn put_history(
        &mut self,
        storage_id: StorageId,
        key: &[u8],
        version: &Version,
        size: u32,
        record: &[u8],
    ) -> Result<(), StoreError> {
        let key = history_key(storage_id, key, version);
        self.set(TableId::History, &key, &history_value(size, record))
    }

    /// Removes every kept version of a table.
    pub fn forget_history(&mut self, storage_id: StorageId) -> Result<(), StoreError> {
        let (start, end) = table_range(storage_id);
        self.unset_range(TableId::History, &start, &end)
    }

    /// Collects versions of a table no restore in the window can need: per
    /// key, every version older than the newest one at or before
    /// `window_start` (that one is the state at the window's start, kept
    /// unless it is a tombstone). Works
    /// on at most `max` entries from the key after `after` on, stopping at a
    /// key boundary; returns the last key looked at (`None` when the table is
    /// done) and (entries kept, bytes kept, entries removed) in that stretch.
    pub fn collect_history(
        &mut self,
        storage_id: StorageId,
        after: Option<&[u8]>,
        window_start: Timestamp,
        max: usize,
    ) -> Result<(Option<Vec<u8>>, GcCounts), StoreError> {
        let (start, end) = table_range(storage_id);
        let lower = match after {
            // Every history key of `after` starts with storage id + `after`,
            // and prefix-freeness puts all of them before the next key's.
            Some(key) => {
                let mut bound = storage_id.to_be_bytes().to_vec();
                bound.extend_from_slice(key);
                bound.extend_from_slice(&[0xFF; 13]);
                Bound::Excluded(bound)
            }
            None => Bound::Included(start.to_vec()),
        };
        let upper: Bound<Vec<u8>> = Bound::Excluded(end.to_vec());
        let mut counts = GcCounts::default();
        let mut doomed: Vec<Vec<u8>> = Vec::new();
        let mut group: Vec<(Vec<u8>, Timestamp, u64, bool)> = Vec::new();
        let mut current: Option<Vec<u8>> = None;
        let mut seen = 0;
        let mut stop_at = None;
        let flush =
            |group: &mut Vec<(Vec<u8>, Timestamp, u64, bool)>, doomed: &mut Vec<Vec<u8>>, counts: &mut GcCounts| {
                // The newest version at or before the window start survives,
                // unless it is a tombstone: then the key is absent at the window
                // start with or without it.
                let base = group.iter().rposition(|(_, ts, _, _)| *ts <= window_start);
                let keep_base = base.is_some_and(|b| !group[b].3);
                for (i, (raw, _, bytes, _)) in group.drain(..).enumerate() {
                    if base.is_some_and(|b| i < b || (i == b && !keep_base)) {
                        doomed.push(raw);
                        counts.removed += 1;
                    } else {
                        counts.kept += 1;
                        counts.bytes += bytes;
                    }
                }
            };
        self.visit_range(TableId::History, (as_slice(&lower), as_slice(&upper)), |raw, value| {
            let (key, ts) =
                split_key(raw).ok_or_else(|| StoreError::Codec(records::CodecError::Corrupt("history key".into())))?;
            if current.as_deref() != Some(key) {
                if let Some(done) = current.take() {
                    flush(&mut group, &mut doomed, &mut counts);
                    if seen >= max {
                        stop_at = Some(done);
                        return Ok(false);
                    }
                }
                current = Some(key.to_vec());
            }
            seen += 1;
            let tombstone = value.get(1..5) == Some(&[0u8; 4][..]);
            group.push((raw.to_vec(), ts, (raw.len() + value.len()) as u64, tombstone));
            Ok(true)
        })?;
        if stop_at.is_none() {
            flush(&mut group, &mut doomed, &mut counts);
        }
        self.finish_collect(doomed, stop_at, counts)
    }

    fn finish_collect(
        &mut self,
        doomed: Vec<Vec<u8>>,
        next: Option<Vec<u8>>,
        counts: GcCounts,
    ) -> Result<(Option<Vec<u8>>, GcCounts), StoreError> {
        for raw in doomed {
            self.unset(TableId::History, &raw)?;
        }
        Ok((next, counts))
    }

    /// A named PITR record.
    pub fn pitr_record(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_named(TableId::Pitr, name)
    }

    /// Whether a named PITR record exists.
    pub fn has_pitr_record(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.get_named(TableId::Pitr, name)?.is_some())
    }

    /// Creates or replaces a named PITR record.
    pub fn put_pitr_record(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.set(TableId::Pitr, name.as_bytes(), value)
    }

    /// Removes a named PITR record.
    pub fn remove_pitr_record(&mut self, name: &str) -> Result<(), StoreError> {
        self.unset(TableId::Pitr, name.as_bytes())
    }

    /// Copies every record of a table (tombstones included) into its
    /// history, when PITR is turned on; returns how many. Streams from
    /// `items` to `history` inside the transaction, holding no copy.
    pub fn seed_history(&mut self, storage_id: StorageId) -> Result<u64, StoreError> {
        let (start, end) = table_range(storage_id);
        let mut seeded = 0;
        match &mut self.on {
            GroupTables::Redb(t) => {
                for entry in t.items.range::<&[u8]>(start.as_slice()..end.as_slice())? {
                    let (k, v) = entry?;
                    let (key, value) = seeded_entry(storage_id, k.value(), v.value())?;
                    t.history.insert(key.as_slice(), value.as_slice())?;
                    self.journal.insert(TableId::History, &key, &value);
                    seeded += 1;
                }
            }
            GroupTables::Memory(m) => {
                let (start, end) = (Bound::Included(start.to_vec()), Bound::Excluded(end.to_vec()));
                // The walk holds the items as they were: history is written.
                for (k, v) in m.walk(TableId::Items, start, end, true) {
                    let (key, value) = seeded_entry(storage_id, &k, &v)?;
                    m.insert(TableId::History, &key, &value);
                    self.journal.insert(TableId::History, &key, &value);
                    seeded += 1;
                }
            }
        }
        Ok(seeded)
    }

    /// Stores raw item-record bytes for a key (restores); returns whether a
    /// record was already there.
    pub fn put_item_bytes(&mut self, storage_id: StorageId, key: &[u8], record: &[u8]) -> Result<bool, StoreError> {
        self.insert_keyed(TableId::Items, storage_id, key, record)
    }
}

/// The history entry (key, value) that seeds the history of an item from
/// its record as `items` stores it (`raw_key` with its storage prefix).
fn seeded_entry(storage_id: StorageId, raw_key: &[u8], stored: &[u8]) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let record: ItemRecord = records::decode(stored)?;
    let size = record.item.as_ref().map(|i| (item_size(i) as u32).max(1)).unwrap_or(0);
    let key = history_key(storage_id, &raw_key[8..], &record.version);
    Ok((key, history_value(size, stored)))
}

/// What one stretch of history collection did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcCounts {
    /// Versions kept.
    pub kept: u64,
    /// Bytes (keys and values) of the versions kept.
    pub bytes: u64,
    /// Versions removed.
    pub removed: u64,
}

impl ReadTables {
    /// Every kept version of a table, in (key, timestamp, region) order.
    pub fn history(
        &self,
        storage_id: StorageId,
    ) -> Result<impl Iterator<Item = Result<HistoryEntry, StoreError>> + use<>, StoreError> {
        let mut range = self.bytes_range(TableId::History, table_bounds(storage_id), true)?;
        Ok(std::iter::from_fn(move || {
            range.next_with(decode_entry).map(|entry| entry.and_then(|e| e))
        }))
    }

    /// (versions, bytes of keys and values) kept for a table, without
    /// decoding anything.
    pub fn history_size(&self, storage_id: StorageId) -> Result<(u64, u64), StoreError> {
        let mut range = self.bytes_range(TableId::History, table_bounds(storage_id), true)?;
        let mut count = 0;
        let mut bytes = 0;
        while let Some(size) = range.next_with(|k, v| (k.len() + v.len()) as u64) {
            count += 1;
            bytes += size?;
        }
        Ok((count, bytes))
    }

    /// A named PITR record.
    pub fn pitr_record(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_named(TableId::Pitr, name)
    }

    /// Named PITR records whose names start with `prefix`, in name order.
    pub fn pitr_records(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        self.visit_named(TableId::Pitr, Bound::Included(prefix), |name, value| {
            if !name.starts_with(prefix) {
                return Ok(false);
            }
            out.push((name.to_string(), value.to_vec()));
            Ok(true)
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::StorageId;

    #[test]
    fn keys_split_back_and_order_by_key_then_version() {
        let v = |wall, region: &str| Version {
            ts: Timestamp {
                wall_ns: wall,
                logical: 0,
            },
            region: region.into(),
        };
        let a = history_key(StorageId(7), b"a\x00\x01", &v(5, "us"));
        let (key, ts) = split_key(&a).unwrap();
        assert_eq!((key, ts.wall_ns), (&b"a\x00\x01"[..], 5));
        let later = history_key(StorageId(7), b"a\x00\x01", &v(6, "eu"));
        let tie = history_key(StorageId(7), b"a\x00\x01", &v(5, "zz"));
        let next_key = history_key(StorageId(7), b"b\x00\x01", &v(1, "us"));
        assert!(a < tie && tie < later && later < next_key);
    }
}
