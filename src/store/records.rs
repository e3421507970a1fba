//! Record codecs for what the store keeps: items (with their LWW version or
//! as tombstones), change-log entries and table descriptions.
//!
//! Every record on disk starts with a format byte and continues in bincode.
//! bincode cannot skip unknown fields, so a record layout is never changed in
//! place: a new layout gets a new format byte, and `decode` migrates older
//! ones.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::model::{Item, TableMeta};

/// First (and so far only) layout of every record kind.
const FORMAT_V1: u8 = 1;

/// Why bytes read from the store could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("unknown record format {0}")]
    UnknownFormat(u8),
    #[error("empty record")]
    Empty,
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// The LWW version of a write: its HLC timestamp and origin region. Ordered by
/// (timestamp, region), the total order last-writer-wins uses.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    pub ts: Timestamp,
    pub region: String,
}

/// What the store keeps for one primary key: the newest version, and the
/// item, or `None` for a tombstone (kept so that an older, late write cannot
/// resurrect a deleted item).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub version: Version,
    pub item: Option<Item>,
}

/// `ItemRecord` by reference, encoding to the same bytes without copying.
#[derive(Serialize)]
pub struct ItemRecordRef<'a> {
    pub version: &'a Version,
    pub item: Option<&'a Item>,
}

/// Why a change happened, for streams (TTL deletes are service deletes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeCause {
    /// A client request, in this region or another.
    Client,
    /// A background deletion by Time to Live.
    TimeToLive,
}

/// One applied item change: the source of replication, streams and PITR.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemChange {
    /// Table name (the same in every region; storage ids are local).
    pub table: String,
    /// Encoded primary key (see `model::key`), without the storage prefix.
    pub key: Vec<u8>,
    pub version: Version,
    /// The item before the change, if there was one.
    pub old: Option<Item>,
    /// The item after the change; `None` for a delete.
    pub new: Option<Item>,
    pub cause: ChangeCause,
}

/// `ItemChange` by reference, encoding to the same bytes without copying.
#[derive(Serialize)]
pub struct ItemChangeRef<'a> {
    pub table: &'a str,
    pub key: &'a [u8],
    pub version: &'a Version,
    pub old: Option<&'a Item>,
    pub new: Option<&'a Item>,
    pub cause: ChangeCause,
}

/// `Change` by reference; its first variant matches `Change::Item`, so the
/// bytes are the same.
#[derive(Serialize)]
pub enum ChangeRef<'a> {
    Item(ItemChangeRef<'a>),
}

/// A table created or deleted, replicated to every region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TableChange {
    /// The table's description as created (local fields are reset on apply).
    Created(Box<TableMeta>),
    /// The table's replicated description changed (replicas, billing, tags).
    Updated(Box<TableMeta>),
    /// The table with this name and `table_id` was deleted.
    Deleted { name: String, table_id: String },
}

/// One change-log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Change {
    Item(ItemChange),
    Table { version: Version, change: TableChange },
}

impl Change {
    /// The LWW version of the change (its origin region is `version.region`).
    pub fn version(&self) -> &Version {
        match self {
            Change::Item(item) => &item.version,
            Change::Table { version, .. } => version,
        }
    }
}

/// A table one region must no longer hold: the table was deleted, or the
/// region was removed from its replicas. Kept after the change-log entry
/// that said so is trimmed, so that a region resynchronised from a snapshot
/// (which holds only the tables that exist) drops its copy too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DroppedTable {
    pub name: String,
    pub table_id: String,
    /// The region that must drop its copy.
    pub region: String,
    /// The change that dropped it: the deletion, or the description
    /// without the region.
    pub version: Version,
    /// Deleted (wins over any description of the table) rather than the
    /// region removed (wins over older descriptions only).
    pub deleted: bool,
}

/// A write that lost last-writer-wins, kept with the version that beat it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictRecord {
    pub table: String,
    /// Encoded primary key.
    pub key: Vec<u8>,
    pub winner: Version,
    pub winner_item: Option<Item>,
    pub loser: Version,
    pub loser_item: Option<Item>,
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes a record with the current format byte.
pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENCODE_CAPACITY);
    out.push(FORMAT_V1);
    // Serialising plain data into a Vec cannot fail: no I/O, no maps with
    // non-string keys that bincode rejects, no unsupported serde types.
    // Written straight after the format byte: one buffer, no copy.
    bincode::serde::encode_into_std_write(record, &mut out, config()).expect("records are bincode-serialisable");
    out
}

/// The buffer `encode` starts with: an item record of a few hundred bytes
/// fits without growing it.
const ENCODE_CAPACITY: usize = 512;

/// Decodes a record of any known format.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&format, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    match format {
        FORMAT_V1 => bincode::serde::decode_from_slice(body, config())
            .map(|(value, _)| value)
            .map_err(|e| CodecError::Corrupt(e.to_string())),
        other => Err(CodecError::UnknownFormat(other)),
    }
}

/// Decodes a table description.
pub fn decode_table(bytes: &[u8]) -> Result<TableMeta, CodecError> {
    decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AttributeValue, Number};

    #[test]
    fn records_round_trip_and_reject_unknown_formats() {
        let mut item = Item::new();
        item.insert("n".into(), AttributeValue::N(Number::parse("-1.25").unwrap()));
        item.insert("m".into(), AttributeValue::M(item.clone()));
        let record = ItemRecord {
            version: Version {
                ts: Timestamp { wall_ns: 5, logical: 1 },
                region: "r".into(),
            },
            item: Some(item),
        };
        let bytes = encode(&record);
        assert_eq!(decode::<ItemRecord>(&bytes).unwrap(), record);
        let mut future = bytes.clone();
        future[0] = 99;
        assert!(matches!(
            decode::<ItemRecord>(&future),
            Err(CodecError::UnknownFormat(99))
        ));
        assert!(decode::<ItemRecord>(&bytes[..3]).is_err());
    }

    #[test]
    fn versions_order_by_timestamp_then_region() {
        let v = |wall, region: &str| Version {
            ts: Timestamp {
                wall_ns: wall,
                logical: 0,
            },
            region: region.into(),
        };
        assert!(v(1, "z") < v(2, "a"));
        assert!(v(1, "a") < v(1, "b"));
    }
}

#[cfg(test)]
mod ref_tests {
    use super::*;
    use crate::model::AttributeValue;

    #[test]
    fn borrowed_forms_encode_to_the_owned_bytes() {
        let item = Item::from([("a".to_string(), AttributeValue::S("x".into()))]);
        let version = Version {
            ts: Timestamp { wall_ns: 3, logical: 2 },
            region: "r".into(),
        };
        let owned = ItemRecord {
            version: version.clone(),
            item: Some(item.clone()),
        };
        assert_eq!(
            encode(&owned),
            encode(&ItemRecordRef {
                version: &version,
                item: Some(&item)
            })
        );
        let change = ItemChange {
            table: "t".into(),
            key: vec![1, 2],
            version: version.clone(),
            old: None,
            new: Some(item.clone()),
            cause: ChangeCause::Client,
        };
        let by_ref = ItemChangeRef {
            table: "t",
            key: &[1, 2],
            version: &version,
            old: None,
            new: Some(&item),
            cause: ChangeCause::Client,
        };
        assert_eq!(encode(&Change::Item(change)), encode(&ChangeRef::Item(by_ref)));
    }
}
