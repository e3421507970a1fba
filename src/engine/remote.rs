//! Applying changes that other regions originated, through the same writer
//! as local writes: last-writer-wins per item (see `lww.rs`), the region's
//! HLC observing every remote timestamp, losing writes recorded as conflicts,
//! and the origin's position stored in the same transaction as the changes,
//! so a restart resumes exactly where the last commit left off.

use super::error::EngineError;
use super::lww::incoming_wins;
use super::write::commit_change;
use super::writer::Batch;
use crate::model::table::TableStatus;
use crate::store::{Change, ConflictRecord, ItemChange, TableChange, Version};

/// What one batch of remote changes did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Changes that won and were written.
    pub applied: u64,
    /// Changes that lost LWW (recorded as conflicts) or were already there.
    pub superseded: u64,
    /// Item changes for tables this region does not have.
    pub skipped: u64,
    /// Largest amount a remote timestamp was ahead of our clock beyond the
    /// maximum offset, in milliseconds (0 when none was).
    pub clock_ahead_ms: u64,
}

/// Applies changes `origin` sent, in its log order, and records that the
/// origin's log is applied through `through`. Changes at or below the stored
/// position were applied before and are skipped (re-delivery is harmless).
pub fn apply_batch(
    batch: &mut Batch<'_, '_>,
    origin: &str,
    changes: Vec<(u64, Change)>,
    through: u64,
) -> Result<ApplyReport, EngineError> {
    let mut report = ApplyReport::default();
    let applied = batch.tables.applied(origin)?;
    for (seq, change) in changes {
        if seq <= applied {
            continue;
        }
        if change.version().region != origin {
            return Err(EngineError::Validation(format!(
                "peer {origin} sent a change originated elsewhere"
            )));
        }
        if let Err(ahead) = batch.hlc.observe(change.version().ts) {
            report.clock_ahead_ms = report.clock_ahead_ms.max(ahead.ahead_ms);
        }
        match change {
            Change::Item(item) => apply_item(batch, item, &mut report)?,
            Change::Table { version, change } => apply_table(batch, version, change, &mut report)?,
        }
    }
    if through > applied {
        batch.tables.set_applied(origin, through)?;
    }
    Ok(report)
}

fn apply_item(batch: &mut Batch<'_, '_>, change: ItemChange, report: &mut ApplyReport) -> Result<(), EngineError> {
    let Some(mut meta) = batch.table(&change.table)? else {
        report.skipped += 1;
        return Ok(());
    };
    let current = batch.tables.item(meta.storage_id, &change.key)?;
    let current_version = current.as_ref().map(|r| &r.version);
    if incoming_wins(current_version, &change.version) {
        let old = current.and_then(|r| r.item);
        commit_change(
            batch,
            &mut meta,
            &change.key,
            change.version,
            old,
            change.new,
            change.cause,
        )?;
        batch.set_table(&change.table, Some(meta));
        report.applied += 1;
        return Ok(());
    }
    report.superseded += 1;
    if let Some(current) = current
        && current.version != change.version
    {
        batch.tables.record_conflict(&ConflictRecord {
            table: change.table,
            key: change.key,
            winner: current.version,
            winner_item: current.item,
            loser: change.version,
            loser_item: change.new,
        })?;
    }
    Ok(())
}

fn apply_table(
    batch: &mut Batch<'_, '_>,
    version: Version,
    change: TableChange,
    report: &mut ApplyReport,
) -> Result<(), EngineError> {
    match &change {
        TableChange::Created(remote) => {
            if let Some(existing) = batch.table(&remote.name)? {
                if existing.table_id != remote.table_id {
                    tracing::warn!(table = %remote.name, "a table of the same name was created in two regions; keeping the local one");
                }
                report.superseded += 1;
                return Ok(());
            }
            let mut meta = remote.clone();
            meta.storage_id = batch.tables.allocate_storage_id()?;
            meta.item_count = 0;
            meta.size_bytes = 0;
            meta.status = TableStatus::Active;
            let name = meta.name.clone();
            batch.set_table(&name, Some(meta));
        }
        TableChange::Deleted { name, table_id } => match batch.table(name)? {
            Some(existing) if &existing.table_id == table_id => {
                batch.tables.delete_items(existing.storage_id)?;
                batch.set_table(name, None);
            }
            _ => {
                report.superseded += 1;
                return Ok(());
            }
        },
    }
    batch.tables.append_change(&Change::Table { version, change })?;
    report.applied += 1;
    Ok(())
}
