//! The journal of one write transaction: every insert and removal it makes,
//! as bytes, in order, so the write-ahead log (`wal.rs`) can make the group
//! durable with one sequential append and a restart can redo it.
//!
//! Replaying a journal on the state the transaction started from gives the
//! state it committed: each operation sets a key to a value or removes keys,
//! and none reads what was there but a copy of an item's record, which reads
//! what the transaction read at that point. That holds because the journal
//! records effects, not intentions: a write that computed its value from the
//! current item journals the value it computed.
//!
//! Every mutation of `WriteTables` must go through `Journal` (see
//! `every_mutation` and the crash-copy tests in `recovery_tests.rs`).
//!
//! Layout, repeated: op (1) | table (1) | field | field [| field], each field
//! a length (4, LE) and bytes. Keys of u64 tables are 8 bytes big-endian, so
//! the journal never depends on how redb encodes them.

use super::StoreError;
use super::records::CodecError;

/// Which table a storage id's records are in: a table's items, or a
/// secondary index's entries (keyed the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyspace {
    Items,
    IndexEntries,
}

impl Keyspace {
    /// The store table holding this keyspace.
    pub(super) fn table_id(self) -> TableId {
        match self {
            Keyspace::Items => TableId::Items,
            Keyspace::IndexEntries => TableId::IndexEntries,
        }
    }
}

/// The store's tables, as the journal names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TableId {
    Tables = 1,
    Items = 2,
    Log = 3,
    Meta = 4,
    Conflicts = 5,
    History = 6,
    Pitr = 7,
    Cursors = 8,
    Dropped = 9,
    IndexEntries = 10,
}

impl TableId {
    fn from_byte(b: u8) -> Result<TableId, StoreError> {
        Ok(match b {
            1 => TableId::Tables,
            2 => TableId::Items,
            3 => TableId::Log,
            4 => TableId::Meta,
            5 => TableId::Conflicts,
            6 => TableId::History,
            7 => TableId::Pitr,
            8 => TableId::Cursors,
            9 => TableId::Dropped,
            10 => TableId::IndexEntries,
            other => return Err(corrupt(&format!("unknown table {other}"))),
        })
    }
}

const INSERT: u8 = 1;
const REMOVE: u8 = 2;
const REMOVE_RANGE: u8 = 3;
const COPY_ITEM: u8 = 4;

/// One recorded operation, borrowing from the journal's bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Op<'a> {
    Insert {
        table: TableId,
        key: &'a [u8],
        value: &'a [u8],
    },
    Remove {
        table: TableId,
        key: &'a [u8],
    },
    /// Removes every key in `start..end`.
    RemoveRange {
        table: TableId,
        start: &'a [u8],
        end: &'a [u8],
    },
    /// Sets `key` to the value `item` has in `Items` at this point of the
    /// journal (an ALL projection's index entry is its item's record: the
    /// journal holds the two keys, not the record again). Redone in order
    /// on the state the transaction started from, it reads what the
    /// transaction read.
    CopyItem {
        table: TableId,
        key: &'a [u8],
        item: &'a [u8],
    },
}

/// The operations of one transaction. Past `limit` bytes it stops recording
/// and reports `overflowed`: such a transaction (a table copied into PITR
/// history, say) is committed durably by redb itself instead of the WAL.
#[derive(Debug)]
pub struct Journal {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
    /// Whether operations are recorded at all (not for a store in memory,
    /// which has no log to write them to).
    recording: bool,
}

impl Journal {
    /// An empty journal that records up to `limit` bytes into `buffer`
    /// (cleared first). The store passes the last group's buffer: grown to
    /// a group's size already, it spares the writer allocating and copying
    /// its way up to that size in every group.
    pub fn reusing(limit: usize, mut buffer: Vec<u8>) -> Journal {
        buffer.clear();
        Journal {
            bytes: buffer,
            limit,
            overflowed: false,
            recording: true,
        }
    }

    /// A journal that records nothing, for a store without a log.
    pub fn off() -> Journal {
        Journal {
            bytes: Vec::new(),
            limit: 0,
            overflowed: false,
            recording: false,
        }
    }

    /// The journal's buffer, for `reusing` by the next group.
    pub fn into_buffer(self) -> Vec<u8> {
        self.bytes
    }

    pub fn insert(&mut self, table: TableId, key: &[u8], value: &[u8]) {
        self.record(INSERT, table, &[key, value]);
    }

    pub fn remove(&mut self, table: TableId, key: &[u8]) {
        self.record(REMOVE, table, &[key]);
    }

    pub fn remove_range(&mut self, table: TableId, start: &[u8], end: &[u8]) {
        self.record(REMOVE_RANGE, table, &[start, end]);
    }

    pub fn copy_item(&mut self, table: TableId, key: &[u8], item: &[u8]) {
        self.record(COPY_ITEM, table, &[key, item]);
    }

    fn record(&mut self, op: u8, table: TableId, fields: &[&[u8]]) {
        if self.overflowed || !self.recording {
            return;
        }
        let size: usize = 2 + fields.iter().map(|f| 4 + f.len()).sum::<usize>();
        if self.bytes.len() + size > self.limit {
            self.overflowed = true;
            self.bytes = Vec::new();
            return;
        }
        self.bytes.push(op);
        self.bytes.push(table as u8);
        for field in fields {
            self.bytes.extend_from_slice(&(field.len() as u32).to_le_bytes());
            self.bytes.extend_from_slice(field);
        }
    }

    /// Whether the transaction outgrew the journal (its bytes are dropped).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The recorded operations, encoded.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Decodes the operations of an encoded journal, in order.
pub fn ops(mut bytes: &[u8]) -> impl Iterator<Item = Result<Op<'_>, StoreError>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let op = next_op(&mut bytes);
        if op.is_err() {
            bytes = &[];
        }
        Some(op)
    })
}

fn next_op<'a>(bytes: &mut &'a [u8]) -> Result<Op<'a>, StoreError> {
    let &[op, table, ref rest @ ..] = *bytes else {
        return Err(corrupt("truncated operation"));
    };
    *bytes = rest;
    let table = TableId::from_byte(table)?;
    let mut field = || -> Result<&'a [u8], StoreError> {
        let (len, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("truncated length"))?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(corrupt("truncated field"));
        }
        let (value, rest) = rest.split_at(len);
        *bytes = rest;
        Ok(value)
    };
    Ok(match op {
        INSERT => Op::Insert {
            table,
            key: field()?,
            value: field()?,
        },
        REMOVE => Op::Remove { table, key: field()? },
        REMOVE_RANGE => Op::RemoveRange {
            table,
            start: field()?,
            end: field()?,
        },
        COPY_ITEM => Op::CopyItem {
            table,
            key: field()?,
            item: field()?,
        },
        other => return Err(corrupt(&format!("unknown operation {other}"))),
    })
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Codec(CodecError::Corrupt(format!("journal: {what}")))
}

/// A name, as the journal encodes it (UTF-8).
pub(super) fn text(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes).map_err(|_| corrupt("key is not UTF-8"))
}

/// A number, as the journal encodes it (8 bytes, big-endian).
pub(super) fn number(bytes: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(
        bytes.try_into().map_err(|_| corrupt("number is not 8 bytes"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_decode_as_recorded() {
        // A reused buffer's old bytes are not part of the new journal.
        let mut journal = Journal::reusing(1 << 20, b"the last group's operations".to_vec());
        journal.insert(TableId::Items, b"k", b"value");
        journal.remove(TableId::Pitr, b"settings/1");
        journal.remove_range(TableId::History, &[0, 1], &[0, 2]);
        journal.insert(TableId::Log, &7u64.to_be_bytes(), b"");
        let decoded: Vec<Op<'_>> = ops(journal.bytes()).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            decoded,
            vec![
                Op::Insert {
                    table: TableId::Items,
                    key: b"k",
                    value: b"value"
                },
                Op::Remove {
                    table: TableId::Pitr,
                    key: b"settings/1"
                },
                Op::RemoveRange {
                    table: TableId::History,
                    start: &[0, 1],
                    end: &[0, 2]
                },
                Op::Insert {
                    table: TableId::Log,
                    key: &7u64.to_be_bytes(),
                    value: b""
                },
            ]
        );
    }

    #[test]
    fn a_journal_past_its_limit_drops_its_bytes() {
        let mut journal = Journal::reusing(32, Vec::new());
        journal.insert(TableId::Items, b"k", b"v");
        assert!(!journal.overflowed());
        journal.insert(TableId::Items, b"key", &[0; 40]);
        journal.insert(TableId::Items, b"k", b"v");
        assert!(journal.overflowed());
        assert!(journal.bytes().is_empty());
    }

    #[test]
    fn truncated_or_unknown_bytes_are_errors_not_panics() {
        let mut journal = Journal::reusing(1 << 20, Vec::new());
        journal.insert(TableId::Items, b"key", b"value");
        let bytes = journal.bytes();
        for cut in 1..bytes.len() {
            let decoded: Vec<_> = ops(&bytes[..cut]).collect();
            assert!(decoded.last().unwrap().is_err(), "cut at {cut}");
        }
        assert!(ops(&[9, 2, 0, 0, 0, 0]).next().unwrap().is_err());
        assert!(ops(&[1, 99, 0, 0, 0, 0]).next().unwrap().is_err());
    }
}
