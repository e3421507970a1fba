//! Transactions: TransactWriteItems and TransactGetItems.
//!
//! A write transaction is one writer job, so it is serializable with every
//! other write of the region: the single writer runs jobs one at a time,
//! and a transaction never waits on another or conflicts with one (DynamoDB
//! answers an overlapping transaction with TransactionConflict; Meridian
//! runs it after the one before it instead). The job first checks every
//! action against the items as they are (keys, conditions, the updates'
//! results) and writes nothing unless all pass; then it stores every change
//! through `GroupTxn::change_item`, indexes included, in the same commit.
//!
//! Every change of a transaction is stamped with the same version. The
//! change log therefore holds a transaction as a run of entries with one
//! version, which the shipper never splits across batches (`change_log.rs`)
//! and a receiving region applies in one commit, so a reader anywhere sees
//! all of a transaction or none of it; and a PITR restore, which keeps each
//! item's newest version at or before the restore time, keeps all of a
//! transaction's changes or none.
//!
//! A read transaction reads every item from one snapshot.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use super::error::{CancelReason, EngineError};
use super::handle::Engine;
use super::read::get_item;
use super::tokens::{Begun, ClientToken, Outcomes};
use super::txn::{Arrival, GroupTxn, ItemUpdate};
use super::write::{ItemOp, Precondition, WriteOutcome, active_table, updated, validate};
use crate::model::table::PrimaryKey;
use crate::model::{Item, TableMeta};
use crate::store::{ChangeCause, ItemRecord};

/// Most actions in one transaction.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;

/// What one action of a write transaction does to its item.
pub enum TransactOp {
    /// Put, Delete or Update: a write, as a single-item write makes it.
    Write(ItemOp),
    /// ConditionCheck: only the condition on the item with this key.
    Check(Item),
}

/// One action of a write transaction.
pub struct TransactAction {
    pub table: String,
    pub op: TransactOp,
    pub condition: Option<Box<dyn Precondition>>,
    /// Return the current item in the action's cancellation reason when its
    /// condition fails (ReturnValuesOnConditionCheckFailure = ALL_OLD).
    pub return_item_on_condition_failure: bool,
}

/// An action checked against the current items, ready to store.
struct Planned {
    table: String,
    key: Vec<u8>,
    read: Option<ItemRecord>,
    /// The item after the action (`None` deletes it); a check stores nothing.
    change: Option<Option<Item>>,
}

impl TransactAction {
    /// The item the action names its key by (a put's whole item).
    pub fn key(&self) -> &Item {
        match &self.op {
            TransactOp::Write(ItemOp::Put(item)) => item,
            TransactOp::Write(ItemOp::Delete(key)) | TransactOp::Write(ItemOp::Update { key, .. }) => key,
            TransactOp::Check(key) => key,
        }
    }

    /// The action's key, validated against its table as a single write's is.
    fn validate(&self, meta: &TableMeta) -> Result<PrimaryKey, EngineError> {
        match &self.op {
            TransactOp::Write(op) => validate(meta, op),
            TransactOp::Check(key) => meta
                .key_schema
                .key_from_request(key)
                .map_err(|e| EngineError::Validation(e.to_string())),
        }
    }
}

/// Checks every action's table and key, and that no item is named twice:
/// errors of the request itself, which DynamoDB answers with a
/// ValidationException (or ResourceNotFound) rather than a cancellation.
/// Returns each action's key, and the description of each table named.
fn check_request(
    txn: &mut GroupTxn<'_, '_>,
    actions: &[TransactAction],
) -> Result<(Vec<PrimaryKey>, HashMap<String, TableMeta>), EngineError> {
    let mut keys = Vec::with_capacity(actions.len());
    let mut metas: HashMap<String, TableMeta> = HashMap::new();
    let mut seen = HashSet::with_capacity(actions.len());
    for action in actions {
        if !metas.contains_key(&action.table) {
            let meta = active_table(txn.table_ref(&action.table)?)?.clone();
            metas.insert(action.table.clone(), meta);
        }
        let key = action.validate(&metas[&action.table])?;
        if !seen.insert((action.table.as_str(), key.encoded.clone())) {
            return Err(EngineError::Validation(
                "Transaction request cannot include multiple operations on one item".into(),
            ));
        }
        keys.push(key);
    }
    Ok((keys, metas))
}

/// Checks one action against its item as it is: its condition, and what
/// its update makes of the item.
fn plan(
    txn: &mut GroupTxn<'_, '_>,
    meta: &TableMeta,
    action: TransactAction,
    key: PrimaryKey,
    growth: &mut HashMap<(String, Vec<u8>), u64>,
) -> Result<Result<Planned, CancelReason>, EngineError> {
    let read = txn.tables.item(meta.storage_id, &key.encoded)?;
    let live = read.as_ref().and_then(|record| record.item.as_ref());
    if let Some(condition) = &action.condition {
        let empty = Item::new();
        match condition.holds(live.unwrap_or(&empty)) {
            Ok(true) => {}
            Ok(false) => {
                let item = action.return_item_on_condition_failure.then(|| live.cloned()).flatten();
                return Ok(Err(CancelReason::ConditionFailed { item }));
            }
            Err(message) => return Ok(Err(CancelReason::Validation(message))),
        }
    }
    let change = match action.op {
        TransactOp::Check(_) => None,
        TransactOp::Write(ItemOp::Put(item)) => Some(Some(item)),
        TransactOp::Write(ItemOp::Delete(_)) => Some(None),
        TransactOp::Write(ItemOp::Update { mutator, .. }) => match updated(meta, &key, live, mutator.as_ref()) {
            Ok(item) => Some(Some(item)),
            Err(EngineError::Validation(message)) => return Ok(Err(CancelReason::Validation(message))),
            Err(other) => return Err(other),
        },
    };
    if let Some(Some(new)) = &change {
        // Earlier actions on the same partition grow its collection too.
        let partition = (
            action.table.clone(),
            crate::model::key::encode_primary_key(&key.hash, None),
        );
        let pending = growth.get(&partition).copied().unwrap_or(0);
        match txn.check_collection(meta, &key.hash, (live, Some(new)), pending) {
            Ok(added) => *growth.entry(partition).or_default() += added,
            Err(EngineError::ItemCollectionTooLarge) => return Ok(Err(CancelReason::ItemCollectionTooLarge)),
            Err(other) => return Err(other),
        }
    }
    Ok(Ok(Planned {
        table: action.table,
        key: key.encoded,
        read,
        change,
    }))
}

/// Runs a write transaction in the writer's group: everything is checked
/// before anything is written; then every change is stored under one
/// version. Returns each action's outcome (a check's is empty).
fn apply(txn: &mut GroupTxn<'_, '_>, actions: Vec<TransactAction>) -> Result<Vec<WriteOutcome>, EngineError> {
    let (keys, metas) = check_request(txn, &actions)?;
    let mut planned = Vec::with_capacity(actions.len());
    let mut reasons = Vec::with_capacity(actions.len());
    let mut growth = HashMap::new();
    for (action, key) in actions.into_iter().zip(keys) {
        let meta = &metas[&action.table];
        match plan(txn, meta, action, key, &mut growth)? {
            Ok(step) => {
                planned.push(step);
                reasons.push(None);
            }
            Err(reason) => reasons.push(Some(reason)),
        }
    }
    if reasons.iter().any(Option::is_some) {
        return Err(EngineError::Canceled(reasons));
    }
    let version = txn.stamp_above(planned.iter().filter_map(|p| p.read.as_ref().map(|r| &r.version)));
    let mut outcomes = Vec::with_capacity(planned.len());
    for step in planned {
        let Some(new) = step.change else {
            outcomes.push(WriteOutcome { old: None, new: None });
            continue;
        };
        let update = ItemUpdate {
            key: &step.key,
            new,
            cause: ChangeCause::Client,
            arrival: Arrival::Stamped {
                read: step.read,
                version: version.clone(),
            },
        };
        let (old, new) = txn.with_table(&step.table, |txn, meta| {
            let meta = meta.ok_or(EngineError::ResourceNotFound)?;
            txn.change_item(meta, update)?.local_images()
        })?;
        outcomes.push(WriteOutcome { old, new });
    }
    Ok(outcomes)
}

impl Engine {
    /// TransactWriteItems: applies every action or none, in one commit.
    /// With a client token, a transaction that succeeded with it in the
    /// last ten minutes is answered again instead (see `tokens.rs`).
    pub async fn transact_write(
        &self,
        actions: Vec<TransactAction>,
        token: Option<ClientToken>,
    ) -> Result<Outcomes, EngineError> {
        let Some(token) = token else {
            return Ok(Arc::new(self.run_transaction(actions).await?));
        };
        if let Begun::Replay(outcomes) = self.0.tokens.begin(&token, Instant::now())? {
            return Ok(outcomes);
        }
        // The transaction and the token's record run to their end even if
        // the caller goes away, so a retry finds the token's true state.
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let result = engine.run_transaction(actions).await.map(Arc::new);
            let done = result.as_ref().ok().cloned();
            engine.0.tokens.finish(&token, done, Instant::now());
            result
        });
        task.await.map_err(|_| EngineError::Stopped)?
    }

    async fn run_transaction(&self, actions: Vec<TransactAction>) -> Result<Vec<WriteOutcome>, EngineError> {
        self.writer()?.submit(move |txn| apply(txn, actions)).await
    }

    /// TransactGetItems: reads every (table, key) from one snapshot.
    /// Returns each table's description with the item (for projections and
    /// capacity).
    pub async fn transact_get(
        &self,
        gets: &[(String, Item)],
    ) -> Result<Vec<(Arc<TableMeta>, Option<Item>)>, EngineError> {
        let read = self.0.store.read_shared()?;
        let mut found = Vec::with_capacity(gets.len());
        for (table, key) in gets {
            let meta = match self.0.schemas.get(table) {
                Some(meta) => meta,
                None => Arc::new(read.table(table)?.ok_or(EngineError::ResourceNotFound)?),
            };
            let item = get_item(&read, &meta, key)?;
            found.push((meta, item));
        }
        self.release(read).await?;
        Ok(found)
    }
}
