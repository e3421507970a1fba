//! What a region keeps of its deleted tables, as DynamoDB does: a deleted
//! table's streams stay readable, DISABLED, for 24 hours, and a table with
//! point-in-time recovery leaves a system backup (its history up to the
//! deletion) for 35 days. Each is a list of the deleted tables'
//! descriptions in one named store record (`DeletedTables::STREAMS`,
//! `DeletedTables::HISTORY`), forgotten by the workers that know the
//! retention (the change-log trimmer, the PITR history collector).

use serde::{Deserialize, Serialize};

use crate::ids::StorageId;
use crate::model::TableMeta;
use crate::store::records::{self, CodecError};

/// Days a system backup is kept after its table's deletion (DynamoDB's 35).
pub const SYSTEM_BACKUP_DAYS: u64 = 35;

/// Nanoseconds a system backup is kept.
pub const SYSTEM_BACKUP_NS: u64 = SYSTEM_BACKUP_DAYS * 86_400 * 1_000_000_000;

/// The deleted tables one named record keeps, oldest deletion first.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DeletedTables {
    tables: Vec<DeletedTable>,
}

/// One deleted table in `DeletedTables`.
#[derive(Debug, Serialize, Deserialize)]
struct DeletedTable {
    /// When it was deleted, ns since the Unix epoch (the deletion's stamp).
    deleted_ns: u64,
    /// Its description, encoded as the store encodes descriptions, so it
    /// decodes (and migrates) as a stored table does.
    description: Vec<u8>,
}

/// A deleted table as kept: its description and when it was deleted (ns).
pub type Deleted = (TableMeta, u64);

impl DeletedTables {
    /// The record of deleted tables' streams (see `stream_rules::streams_of_deleted`).
    pub const STREAMS: &'static str = "deleted-table-streams";
    /// The record of deleted tables whose PITR history is kept.
    pub const HISTORY: &'static str = "deleted-table-history";

    /// The record from its stored bytes (none stored: empty).
    pub fn decode(bytes: Option<&[u8]>) -> Result<DeletedTables, CodecError> {
        bytes.map_or_else(|| Ok(DeletedTables::default()), records::decode)
    }

    /// The bytes to store.
    pub fn encode(&self) -> Vec<u8> {
        records::encode(self)
    }

    /// Keeps `meta`, deleted at `deleted_ns`.
    pub fn add(&mut self, meta: &TableMeta, deleted_ns: u64) {
        self.tables.push(DeletedTable {
            deleted_ns,
            description: records::encode(meta),
        });
    }

    /// Forgets the tables deleted before `before_ns`; returns their
    /// storage ids.
    pub fn forget_before(&mut self, before_ns: u64) -> Result<Vec<StorageId>, CodecError> {
        let mut forgotten = Vec::new();
        for table in self.tables.iter().filter(|table| table.deleted_ns < before_ns) {
            forgotten.push(records::decode_table(&table.description)?.storage_id);
        }
        self.tables.retain(|table| table.deleted_ns >= before_ns);
        Ok(forgotten)
    }

    /// Forgets the table whose storage id is `storage_id`; whether it was kept.
    pub fn forget(&mut self, storage_id: StorageId) -> Result<bool, CodecError> {
        let kept = self.tables()?;
        let before = self.tables.len();
        let mut ids = kept.iter().map(|(meta, _)| meta.storage_id);
        self.tables.retain(|_| ids.next() != Some(storage_id));
        Ok(self.tables.len() < before)
    }

    /// Whether any table was deleted before `before_ns`.
    pub fn any_before(&self, before_ns: u64) -> bool {
        self.tables.iter().any(|table| table.deleted_ns < before_ns)
    }

    /// The deleted tables, oldest deletion first.
    pub fn tables(&self) -> Result<Vec<Deleted>, CodecError> {
        self.tables
            .iter()
            .map(|table| Ok((records::decode_table(&table.description)?, table.deleted_ns)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, storage_id: u64) -> TableMeta {
        TableMeta::sample(name, storage_id)
    }

    #[test]
    fn deleted_tables_are_kept_until_forgotten() {
        let mut record = DeletedTables::decode(None).unwrap();
        record.add(&table("a", 4), 10);
        record.add(&table("b", 5), 20);
        record.add(&table("c", 6), 30);
        let mut record = DeletedTables::decode(Some(&record.encode())).unwrap();
        let kept = |record: &DeletedTables| -> Vec<(String, u64)> {
            let tables = record.tables().unwrap();
            tables.into_iter().map(|(meta, at)| (meta.name, at)).collect()
        };
        assert_eq!(kept(&record), [("a".into(), 10), ("b".into(), 20), ("c".into(), 30)]);
        assert!(!record.any_before(10));
        assert!(record.any_before(11));
        assert_eq!(record.forget_before(11).unwrap(), [StorageId(4)]);
        assert!(record.forget(StorageId(6)).unwrap());
        assert!(!record.forget(StorageId(6)).unwrap());
        assert_eq!(kept(&record), [("b".into(), 20)]);
    }
}
