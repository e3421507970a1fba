//! The engine: the only write path and the reader of the store.
//!
//! Read it as a stack, bottom first; each file imports only files below it
//! (`.ci/import-cycles` checks that no folder has an import circle):
//!
//! 1. Pure rules, no I/O: `lww.rs` (the last-writer-wins orders of items
//!    and of table descriptions), `stream_rules.rs` (a stream's lifecycle,
//!    the earlier streams and deleted tables' streams kept readable),
//!    `deleted.rs` (what is kept of deleted tables: streams, PITR history),
//!    `table_update.rs` (table changes as typed commands, replica rules),
//!    `error.rs`.
//! 2. `txn.rs`: the group transaction. `GroupTxn::change_item` is the one
//!    place every item change is stored, logged in the change log,
//!    versioned for PITR, entered in the table's secondary indexes
//!    (`index_entries.rs`) and counted, whichever way it came.
//! 3. `writer.rs`: the single writer thread that runs jobs in groups on one
//!    `GroupTxn` and commits them, and its syncer that makes them durable
//!    and answers them.
//! 4. `handle.rs`: `Engine`, the cheap handle over the store, clock and
//!    writer, with the two primitives the files above build on (`writer()`
//!    for a job in the next group, `read()` for a snapshot read).
//! 5. Item writes (`write.rs`), reads (`read.rs`), applying other regions'
//!    changes and snapshots (`remote.rs`), resynchronising a peer
//!    (`resync.rs`), the change log (`change_log.rs`).
//! 6. Transactions (`transact.rs`, with `tokens.rs` for client request
//!    tokens): several item writes checked together and stored in one
//!    job under one version.
//! 7. Table management (`tables.rs`, `declared.rs`), index backfills
//!    (`indexes.rs`, batches prepared off the writer in `backfill_prep.rs`),
//!    point-in-time
//!    recovery (`pitr.rs`, the changes of a window in `pitr_window.rs`) and imports (`imports.rs`), streams (`streams.rs`), Time to Live (`ttl.rs`).
//!
//! Every write goes through the single writer, which groups concurrent
//! writes into one durable redb transaction. Each item change commits the
//! item (or a tombstone) together with a change-log entry stamped with an
//! HLC timestamp and the origin region, and is acknowledged only after the
//! commit: the change log is what replication, streams and PITR read.
//! Reads run against a consistent snapshot, and answer only once every
//! write the snapshot holds is durable (a commit becomes visible a moment
//! before its log fsync ends; see `store/durability.rs`).

#[cfg(test)]
mod backfill_mark_tests;
mod backfill_prep;
mod change_log;
mod commit_times;
mod declared;
mod deleted;
mod error;
mod handle;
mod imports;
mod index_entries;
mod indexes;
mod lww;
mod pitr;
mod pitr_window;
mod read;
mod remote;
mod resync;
mod schema_cache;
mod settings_rules;
mod stream_rules;
mod streams;
mod sync_latency;
mod table_update;
mod tables;
mod tokens;
mod transact;
mod ttl;
mod txn;
mod write;
mod writer;
#[cfg(test)]
mod writer_tests;

pub use backfill_prep::{BackfillFrom, PreparedBatch, PreparedRun};
pub use deleted::SYSTEM_BACKUP_NS;
pub use error::{CancelReason, EngineError};
pub use handle::{DB_FILE, Engine};
pub use imports::Rejection;
pub use index_entries::BackfillStep;
pub use pitr::{LoadRecord, PitrSettings, StateChunk, history_record};
pub use pitr_window::WindowChange;
pub use read::{MAX_PAGE_BYTES, Page, RangeRead, SortCondition};
pub use remote::{ApplyReport, Origin};
pub use resync::{ResyncPart, SnapshotChunk};
pub use settings_rules::{ReplicaOverride, SettingsError, SettingsUpdate, SseChange, WarmRequest};
pub use stream_rules::{NewStream, table_streams};
pub use streams::LogSlice;
pub use sync_latency::SyncHistogram;
pub use table_update::{IndexUpdate, MAX_TAGS, ReplicaUpdate, StreamUpdate, TableUpdate, TableUpdateError, TagUpdate};
pub use tables::NewTable;
pub use tokens::{ClientToken, Outcomes, TOKEN_WINDOW};
pub use transact::{MAX_TRANSACTION_ACTIONS, TransactAction, TransactOp};
pub use write::{ItemOp, ItemWrite, Mutator, Precondition, WriteOutcome};
pub use writer::{GroupTimes, Queued, WriteStats};
