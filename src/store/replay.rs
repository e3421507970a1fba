//! Recovery's side of the journal: redoing a logged group's operations on
//! the store's tables (`WriteTables::replay`). Above `journal.rs`, which
//! encodes and decodes the operations, and `write.rs`, whose tables it
//! writes.

use super::journal::{Op, TableId, corrupt, ops};
use super::{CURSORS, DROPPED, StoreError, WriteTables};

impl WriteTables<'_> {
    /// Redoes the operations of an encoded journal (recovery). Not journaled
    /// again: the commit that follows is a durable one.
    pub(super) fn replay(&mut self, journal: &[u8]) -> Result<(), StoreError> {
        for op in ops(journal) {
            match op? {
                Op::Insert { table, key, value } => self.replay_insert(table, key, value)?,
                Op::Remove { table, key } => self.replay_remove(table, key)?,
                Op::RemoveRange { table, start, end } => {
                    let range = start..end;
                    match table {
                        TableId::Items | TableId::IndexEntries | TableId::History => {
                            self.byte_table(table)?.retain_in(range, |_, _| false)?
                        }
                        TableId::Log => self.log.retain_in(number(start)?..number(end)?, |_, _| false)?,
                        TableId::Conflicts => self.conflicts.retain_in(number(start)?..number(end)?, |_, _| false)?,
                        other => return Err(corrupt(&format!("range removal in {other:?}"))),
                    }
                }
            }
        }
        Ok(())
    }

    fn replay_insert(&mut self, table: TableId, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        match table {
            TableId::Tables => drop(self.tables.insert(text(key)?, value)?),
            TableId::Items | TableId::IndexEntries | TableId::History => {
                drop(self.byte_table(table)?.insert(key, value)?)
            }
            TableId::Log => drop(self.log.insert(number(key)?, value)?),
            TableId::Meta => drop(self.meta.insert(text(key)?, number(value)?)?),
            TableId::Conflicts => drop(self.conflicts.insert(number(key)?, value)?),
            TableId::Pitr => drop(self.pitr.insert(text(key)?, value)?),
            TableId::Cursors => drop(self.txn.open_table(CURSORS)?.insert(text(key)?, value)?),
            TableId::Dropped => drop(self.txn.open_table(DROPPED)?.insert(text(key)?, value)?),
        }
        Ok(())
    }

    fn replay_remove(&mut self, table: TableId, key: &[u8]) -> Result<(), StoreError> {
        match table {
            TableId::Tables => drop(self.tables.remove(text(key)?)?),
            TableId::Items | TableId::IndexEntries | TableId::History => drop(self.byte_table(table)?.remove(key)?),
            TableId::Log => drop(self.log.remove(number(key)?)?),
            TableId::Meta => drop(self.meta.remove(text(key)?)?),
            TableId::Conflicts => drop(self.conflicts.remove(number(key)?)?),
            TableId::Pitr => drop(self.pitr.remove(text(key)?)?),
            TableId::Cursors => drop(self.txn.open_table(CURSORS)?.remove(text(key)?)?),
            TableId::Dropped => drop(self.txn.open_table(DROPPED)?.remove(text(key)?)?),
        }
        Ok(())
    }
}

fn text(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes).map_err(|_| corrupt("key is not UTF-8"))
}

fn number(bytes: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(
        bytes.try_into().map_err(|_| corrupt("number is not 8 bytes"))?,
    ))
}
