//! Recovery's side of the journal: redoing a logged group's operations on
//! the store's tables (`WriteTables::replay`). Above `journal.rs`, which
//! encodes and decodes the operations, and `write.rs`, whose tables it
//! writes.

use redb::ReadableTable;

use super::journal::{Op, corrupt, ops};
use super::write::GroupTables;
use super::{StoreError, WriteTables};

impl WriteTables<'_> {
    /// Redoes the operations of an encoded journal (recovery, in redb: a
    /// store in memory has no log). Not journaled again: the commit that
    /// follows is a durable one.
    pub(super) fn replay(&mut self, journal: &[u8]) -> Result<(), StoreError> {
        let GroupTables::Redb(tables) = &mut self.on else {
            return Err(corrupt("a store in memory has no log to redo"));
        };
        for op in ops(journal) {
            match op? {
                Op::Insert { table, key, value } => tables.insert(table, key, value)?,
                Op::Remove { table, key } => tables.remove(table, key)?,
                Op::RemoveRange { table, start, end } => tables.remove_range(table, start, end)?,
                Op::CopyItem { table, key, item } => {
                    let record = tables.items.get(item)?.map(|v| v.value().to_vec());
                    let record = record.ok_or_else(|| corrupt("a copy of an item that is not there"))?;
                    tables.insert(table, key, &record)?
                }
            }
        }
        Ok(())
    }
}
