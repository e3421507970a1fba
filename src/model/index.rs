//! Secondary indexes as a table description holds them: their definition
//! (kind, key schema, projection), which items they hold and under which
//! key, the attributes they project, and the checks a write must pass for
//! them. Pure data, no I/O.
//!
//! An index entry is stored under the order-preserving encoding (see
//! `key.rs`) of the item's index key followed by its table key: the
//! entries of one index partition are one contiguous range in index-key
//! order, and entries with equal index keys follow in table-key order, as
//! DynamoDB returns them. The encoding is prefix-free, so the table key
//! appended cannot make one index key's entries interleave with another's.

use serde::{Deserialize, Serialize};

use super::key::encode_key_value;
use super::key_schema::{KeyAttribute, KeyError, KeySchema, MAX_HASH_KEY_BYTES, MAX_RANGE_KEY_BYTES};
use super::value::{AttributeValue, Item};
use crate::ids::StorageId;

/// Most global secondary indexes a table may have.
pub const MAX_GLOBAL_INDEXES: usize = 20;
/// Most local secondary indexes a table may have.
pub const MAX_LOCAL_INDEXES: usize = 5;
/// Most projected non-key attributes over all of a table's indexes.
pub const MAX_PROJECTED_ATTRIBUTES: usize = 100;

/// Global (any key, its own partitions) or local (the table's partition
/// key, another sort key; created only with the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    Global,
    Local,
}

/// Which attributes an index holds besides the keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Projection {
    All,
    KeysOnly,
    /// The keys and these non-key attributes.
    Include(Vec<String>),
}

impl Projection {
    /// DynamoDB's `ProjectionType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Projection::All => "ALL",
            Projection::KeysOnly => "KEYS_ONLY",
            Projection::Include(_) => "INCLUDE",
        }
    }
}

/// One secondary index of a table.
///
/// The definition (`name` to `throughput`) is replicated with the table's
/// description; the rest describes this region's copy and is kept from the
/// local description when a replicated one arrives (see
/// `engine::indexes::localize`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecondaryIndex {
    pub name: String,
    pub kind: IndexKind,
    pub key_schema: KeySchema,
    pub projection: Projection,
    /// Provisioned read and write capacity units (a GSI of a provisioned
    /// table); reported, as the table's own.
    pub throughput: Option<(u64, u64)>,
    /// Where this region stores the index's entries (a storage id of its
    /// own, so deleting the index removes one key range).
    pub storage_id: StorageId,
    /// Whether this region is still adding the entries of items written
    /// before the index existed (IndexStatus CREATING).
    pub backfilling: bool,
    /// Entries in this region's copy.
    pub item_count: u64,
    /// DynamoDB-counted bytes of the projected items.
    pub size_bytes: u64,
}

/// Why an item cannot be written to a table with indexes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexKeyError {
    #[error(
        "One or more parameter values were invalid: Type mismatch for Index Key {name} Expected: {expected} Actual: {actual} IndexName: {index}"
    )]
    TypeMismatch {
        name: String,
        expected: &'static str,
        actual: &'static str,
        index: String,
    },
    #[error(
        "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {kind} value. IndexName: {index}, IndexKey: {name}"
    )]
    Empty {
        name: String,
        kind: &'static str,
        index: String,
    },
    /// An index key over DynamoDB's key sizes (the table keys' messages).
    #[error(transparent)]
    TooLarge(KeyError),
}

impl SecondaryIndex {
    /// The index's key attributes, partition key first.
    fn key_attributes(&self) -> impl Iterator<Item = (&KeyAttribute, bool)> {
        std::iter::once((&self.key_schema.hash, true)).chain(self.key_schema.range.iter().map(|r| (r, false)))
    }

    /// Checks the item's values for this index's key attributes: an item
    /// may lack them (it is then not in the index), but a value it has must
    /// have the key's type, not be empty and fit DynamoDB's key sizes.
    pub fn check_item(&self, item: &Item) -> Result<(), IndexKeyError> {
        for (attr, is_hash) in self.key_attributes() {
            let Some(value) = item.get(&attr.name) else { continue };
            if !attr.ty.matches(value) {
                return Err(IndexKeyError::TypeMismatch {
                    name: attr.name.clone(),
                    expected: attr.ty.as_str(),
                    actual: value.type_name(),
                    index: self.name.clone(),
                });
            }
            let empty = match value {
                AttributeValue::S(s) if s.is_empty() => Some("string"),
                AttributeValue::B(b) if b.is_empty() => Some("binary"),
                _ => None,
            };
            if let Some(kind) = empty {
                return Err(IndexKeyError::Empty {
                    name: attr.name.clone(),
                    kind,
                    index: self.name.clone(),
                });
            }
            if is_hash && value.size() > MAX_HASH_KEY_BYTES {
                return Err(IndexKeyError::TooLarge(KeyError::HashKeyTooLarge));
            }
            if !is_hash && value.size() > MAX_RANGE_KEY_BYTES {
                return Err(IndexKeyError::TooLarge(KeyError::RangeKeyTooLarge));
            }
        }
        Ok(())
    }

    /// The key of `item`'s entry in this index (index key, then the item's
    /// encoded table key `table_key`), or `None` when the item is not in the
    /// index: it lacks a key attribute, or holds one of another type or
    /// empty (an item written before the index existed; DynamoDB leaves it
    /// out too).
    pub fn entry_key(&self, table_key: &[u8], item: &Item) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(32 + table_key.len());
        for (attr, _) in self.key_attributes() {
            let value = item.get(&attr.name)?;
            let empty = matches!(value, AttributeValue::S(s) if s.is_empty())
                || matches!(value, AttributeValue::B(b) if b.is_empty());
            if !attr.ty.matches(value) || empty {
                return None;
            }
            encode_key_value(value, &mut out);
        }
        out.extend_from_slice(table_key);
        Some(out)
    }

    /// `item`'s entry in this index, if it is in it: the entry's key (see
    /// `entry_key`) and the projected item it holds.
    pub fn entry(&self, table: &KeySchema, table_key: &[u8], item: &Item) -> Option<(Vec<u8>, Item)> {
        Some((self.entry_key(table_key, item)?, self.project(table, item)))
    }

    /// The attributes of `item` this index holds: all of them, or the keys
    /// of the table and the index (and the included attributes).
    pub fn project(&self, table: &KeySchema, item: &Item) -> Item {
        let included: &[String] = match &self.projection {
            Projection::All => return item.clone(),
            Projection::KeysOnly => &[],
            Projection::Include(names) => names,
        };
        let keys = table.names().chain(self.key_schema.names());
        keys.chain(included.iter().map(String::as_str))
            .filter_map(|name| item.get(name).map(|v| (name.to_string(), v.clone())))
            .collect()
    }

    /// DynamoDB-counted bytes of `item` as this index holds it (the size
    /// of `project`), without copying the item for an ALL projection.
    pub fn projected_size(&self, table: &KeySchema, item: &Item) -> usize {
        match self.projection {
            Projection::All => super::item_size(item),
            _ => super::item_size(&self.project(table, item)),
        }
    }

    /// Whether items `a` and `b` project to the same entry item, without
    /// copying them for an ALL projection.
    pub fn same_projection(&self, table: &KeySchema, a: &Item, b: &Item) -> bool {
        match self.projection {
            Projection::All => a == b,
            _ => self.project(table, a) == self.project(table, b),
        }
    }

    /// The entry writes an item change from `old` to `new` costs this
    /// index, as the sizes of the projected items written or deleted
    /// (DynamoDB's rule: a changed index key is a delete and a put, a
    /// changed projection a put, an unchanged entry nothing).
    pub fn entry_writes(&self, table: &KeySchema, old: Option<&Item>, new: Option<&Item>) -> Vec<usize> {
        let before = old.and_then(|item| Some((self.entry_key(&[], item)?, item)));
        let after = new.and_then(|item| Some((self.entry_key(&[], item)?, item)));
        let size = |item: &Item| self.projected_size(table, item);
        match (before, after) {
            (Some((b, old)), Some((a, new))) if b == a => match self.same_projection(table, old, new) {
                true => Vec::new(),
                false => vec![size(new)],
            },
            (b, a) => b.into_iter().chain(a).map(|(_, item)| size(item)).collect(),
        }
    }

    /// Whether the index holds attribute `name` of its items.
    pub fn projects(&self, table: &KeySchema, name: &str) -> bool {
        match &self.projection {
            Projection::All => true,
            Projection::KeysOnly => table.names().chain(self.key_schema.names()).any(|n| n == name),
            Projection::Include(names) => {
                table.names().chain(self.key_schema.names()).any(|n| n == name) || names.iter().any(|n| n == name)
            }
        }
    }

    /// Whether `other` is the same index as far as stored entries go: same
    /// name, kind, keys and projection.
    pub fn same_definition(&self, other: &SecondaryIndex) -> bool {
        self.name == other.name
            && self.kind == other.kind
            && self.key_schema == other.key_schema
            && self.projection == other.projection
    }

    /// Whether reads of the index see what a cached description says: the
    /// definition, storage and backfill state (not the counters).
    pub fn same_shape(&self, other: &SecondaryIndex) -> bool {
        self.same_definition(other) && self.storage_id == other.storage_id && self.backfilling == other.backfilling
    }

    /// The key attributes of the table and of the index in `item`, as a
    /// LastEvaluatedKey of an index read shows them.
    pub fn page_key(&self, table: &KeySchema, item: &Item) -> Item {
        table
            .names()
            .chain(self.key_schema.names())
            .filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Number, ScalarType};

    fn attr(name: &str, ty: ScalarType) -> KeyAttribute {
        KeyAttribute { name: name.into(), ty }
    }

    fn gsi(projection: Projection) -> SecondaryIndex {
        SecondaryIndex {
            name: "byStatus".into(),
            kind: IndexKind::Global,
            key_schema: KeySchema {
                hash: attr("status", ScalarType::S),
                range: Some(attr("at", ScalarType::N)),
            },
            projection,
            throughput: None,
            storage_id: StorageId(9),
            backfilling: false,
            item_count: 0,
            size_bytes: 0,
        }
    }

    fn table() -> KeySchema {
        KeySchema {
            hash: attr("pk", ScalarType::S),
            range: None,
        }
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: i64) -> AttributeValue {
        AttributeValue::N(Number::from(v))
    }

    #[test]
    fn items_without_the_keys_are_left_out() {
        let index = gsi(Projection::All);
        assert_eq!(index.entry_key(b"k", &item(&[("pk", s("a"))])), None);
        assert_eq!(index.entry_key(b"k", &item(&[("status", s("x"))])), None);
        assert_eq!(
            index.entry_key(b"k", &item(&[("status", s("x")), ("at", s("1"))])),
            None
        );
        assert_eq!(index.entry_key(b"k", &item(&[("status", s("")), ("at", n(1))])), None);
        let key = index
            .entry_key(b"k", &item(&[("status", s("x")), ("at", n(1))]))
            .unwrap();
        assert!(key.ends_with(b"k"));
    }

    #[test]
    fn entries_sort_by_index_key_then_table_key() {
        let index = gsi(Projection::All);
        let entry = |status: &str, at: i64, table_key: &[u8]| {
            index
                .entry_key(table_key, &item(&[("status", s(status)), ("at", n(at))]))
                .unwrap()
        };
        let mut entries = vec![
            entry("b", 1, b"a"),
            entry("a", 10, b"a"),
            entry("a", 2, b"z"),
            entry("a", 2, b"b"),
        ];
        entries.sort();
        assert_eq!(
            entries,
            vec![
                entry("a", 2, b"b"),
                entry("a", 2, b"z"),
                entry("a", 10, b"a"),
                entry("b", 1, b"a")
            ]
        );
    }

    #[test]
    fn writes_with_bad_index_values_are_refused() {
        let index = gsi(Projection::All);
        assert!(index.check_item(&item(&[("pk", s("a"))])).is_ok());
        let error = index.check_item(&item(&[("status", n(1))])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "One or more parameter values were invalid: Type mismatch for Index Key status Expected: S Actual: N IndexName: byStatus"
        );
        assert!(matches!(
            index.check_item(&item(&[("status", s(""))])),
            Err(IndexKeyError::Empty { .. })
        ));
        assert_eq!(
            index.check_item(&item(&[("status", s(&"x".repeat(2049)))])),
            Err(IndexKeyError::TooLarge(KeyError::HashKeyTooLarge))
        );
    }

    #[test]
    fn projections_keep_the_keys_and_what_they_include() {
        let full = item(&[
            ("pk", s("a")),
            ("status", s("x")),
            ("at", n(1)),
            ("note", s("n")),
            ("other", s("o")),
        ]);
        let keys = gsi(Projection::KeysOnly).project(&table(), &full);
        assert_eq!(keys.len(), 3);
        let include = gsi(Projection::Include(vec!["note".into()])).project(&table(), &full);
        assert_eq!(include.len(), 4);
        assert!(include.contains_key("note"));
        assert_eq!(gsi(Projection::All).project(&table(), &full), full);
        assert!(!gsi(Projection::KeysOnly).projects(&table(), "note"));
        assert!(gsi(Projection::Include(vec!["note".into()])).projects(&table(), "note"));
    }
}
