//! The API's side of capacity enforcement (see `crate::capacity` for why it
//! is an admission check here rather than a wait in the engine): what each
//! request is estimated to cost before the engine runs it, and its real
//! cost, from the same arithmetic as ReturnConsumedCapacity, once it has.

use std::sync::Arc;

use super::capacity::{CapacityKind, read_units, write_units};
use super::error::ApiError;
use crate::capacity::{Admission, Capacity, Demand, ItemShare, ItemsAdmission, KeyDemand};
use crate::engine::{Engine, EngineError, ItemOp, Page, RangeRead, WriteOutcome};
use crate::model::{IndexKind, Item, SecondaryIndex, TableMeta, item_size};

/// The partition key value of `item` (a key or a whole item), with `units`.
pub fn key_demand<'a>(meta: &TableMeta, item: &'a Item, units: f64) -> Option<KeyDemand<'a>> {
    item.get(&meta.key_schema.hash.name).map(|key| KeyDemand { key, units })
}

/// The write units a write is estimated at before it runs: a put by the
/// item it writes, a delete or update by the least a write costs (the item
/// it replaces is known only once it has run).
pub fn estimated_write_units(op: &ItemOp) -> f64 {
    match op {
        ItemOp::Put(item) => write_units(item_size(item)),
        ItemOp::Delete(_) | ItemOp::Update { .. } => write_units(0),
    }
}

/// The item a write names its key by.
pub fn write_key(op: &ItemOp) -> &Item {
    match op {
        ItemOp::Put(item) | ItemOp::Delete(item) => item,
        ItemOp::Update { key, .. } => key,
    }
}

/// Admits one item write on `table`, or refuses it with DynamoDB's error.
pub fn admit_write(
    engine: &Engine,
    capacity: &Capacity,
    table: &str,
    operation: &'static str,
    op: &ItemOp,
) -> Result<(Arc<TableMeta>, Admission), ApiError> {
    let meta = engine.table_schema(table)?;
    let units = estimated_write_units(op);
    let key = key_demand(&meta, write_key(op), units);
    let indexes = index_demand(&meta, op);
    let demand = Demand {
        operation,
        kind: CapacityKind::Write,
        units,
        keys: key.as_slice(),
        indexes: &indexes,
        index: None,
    };
    let admission = capacity.admit(&meta, &demand)?;
    Ok((meta, admission))
}

/// Estimated write units a write costs each global secondary index, so a
/// GSI out of write capacity throttles its table as in DynamoDB: a put's
/// projected item in each index it enters; an update or delete, whose
/// effect is known only inside the commit, a unit in each GSI.
fn index_demand<'m>(meta: &'m TableMeta, op: &ItemOp) -> Vec<(&'m str, f64)> {
    let globals = meta.indexes.iter().filter(|i| i.kind == IndexKind::Global);
    globals
        .filter_map(|index| match op {
            ItemOp::Put(item) => {
                index.entry_key(&[], item)?;
                Some((
                    index.name.as_str(),
                    write_units(index.projected_size(&meta.key_schema, item)),
                ))
            }
            ItemOp::Update { .. } | ItemOp::Delete(_) => Some((index.name.as_str(), 1.0)),
        })
        .collect()
}

/// One item's share of a multi-item request: the table it is in, the item
/// (or key) naming its partition, its estimated units, and for a write the
/// write and the factor its index units are charged at (2 in a
/// transaction).
pub struct ItemDemand<'a> {
    pub table: &'a str,
    pub key: &'a Item,
    pub units: f64,
    pub write: Option<(&'a ItemOp, f64)>,
}

/// A table of a multi-item request: its name and its admission (with the
/// positions, among all the request's items, of those refused) or refusal.
pub type TableAdmission = (String, Result<ItemsAdmission, ApiError>);

/// Admits a multi-item request table by table, in the order the tables
/// first appear: each table's admission, or its refusal. A write whose
/// global secondary indexes lack capacity for it is refused alone when
/// `partial` (see `Capacity::admit_items`). A table that does not exist
/// fails the whole request.
pub fn admit_tables(
    engine: &Engine,
    capacity: &Capacity,
    operation: &'static str,
    kind: CapacityKind,
    items: &[ItemDemand<'_>],
    partial: bool,
) -> Result<Vec<TableAdmission>, ApiError> {
    let mut admissions = Vec::new();
    for table in first_appearances(items.iter().map(|item| item.table)) {
        let meta = engine.table_schema(table)?;
        let positions: Vec<usize> = (0..items.len()).filter(|i| items[*i].table == table).collect();
        let shares: Vec<ItemShare<'_>> = positions.iter().map(|i| item_share(&meta, &items[*i])).collect();
        let admission = capacity
            .admit_items(&meta, operation, kind, &shares, partial)
            .map(|mut admitted| {
                admitted.refused = admitted.refused.iter().map(|i| positions[*i]).collect();
                admitted
            })
            .map_err(ApiError::from);
        admissions.push((table.to_string(), admission));
    }
    Ok(admissions)
}

/// What `item` of a table described by `meta` asks of the table and its
/// global secondary indexes.
fn item_share<'a>(meta: &'a TableMeta, item: &ItemDemand<'a>) -> ItemShare<'a> {
    let indexes = match item.write {
        Some((op, factor)) => index_demand(meta, op)
            .into_iter()
            .map(|(index, units)| (index, factor * units))
            .collect(),
        None => Vec::new(),
    };
    ItemShare {
        units: item.units,
        key: key_demand(meta, item.key, item.units),
        indexes,
    }
}

/// Each distinct name once, in the order it first appears.
pub fn first_appearances<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut distinct: Vec<&str> = Vec::new();
    for name in names {
        if !distinct.contains(&name) {
            distinct.push(name);
        }
    }
    distinct
}

/// A write that ran, as `settle_write` charged it: its outcome and the
/// write units it consumed in each index it changed (`index_write_units`),
/// which its ConsumedCapacity reports.
pub struct SettledWrite<'m> {
    pub outcome: WriteOutcome,
    pub indexes: Vec<(&'m SecondaryIndex, f64)>,
}

/// Charges a finished write: its real units when it wrote, its estimate
/// when its condition failed (DynamoDB charges those), nothing otherwise.
pub fn settle_write<'m>(
    capacity: &Capacity,
    meta: &'m TableMeta,
    admission: Admission,
    result: Result<WriteOutcome, EngineError>,
) -> Result<SettledWrite<'m>, ApiError> {
    match result {
        Ok(outcome) => {
            let indexes = index_write_units(meta, &outcome);
            admission.settle_write(write_units(outcome.billed_bytes()), &gsi_units(&indexes));
            Ok(SettledWrite { outcome, indexes })
        }
        Err(error) => {
            if let EngineError::ConditionFailed { .. } = error {
                admission.settle_estimate();
                capacity.count_condition_failed(meta);
            }
            Err(error.into())
        }
    }
}

/// Write units a write consumed in each index it changed (see
/// `SecondaryIndex::entry_writes`).
pub fn index_write_units<'m>(meta: &'m TableMeta, outcome: &WriteOutcome) -> Vec<(&'m SecondaryIndex, f64)> {
    meta.indexes
        .iter()
        .filter_map(|index| {
            let writes = index.entry_writes(&meta.key_schema, outcome.old.as_ref(), outcome.new.as_ref());
            let units: f64 = writes.into_iter().map(write_units).sum();
            (units > 0.0).then_some((index, units))
        })
        .collect()
}

/// Of write units per index (`index_write_units`), those of the global
/// secondary indexes, by name: what settles the GSIs' write buckets.
pub fn gsi_units<'m>(units: &[(&'m SecondaryIndex, f64)]) -> Vec<(&'m str, f64)> {
    units
        .iter()
        .filter(|(index, _)| index.kind == IndexKind::Global)
        .map(|(index, units)| (index.name.as_str(), *units))
        .collect()
}

/// Admits a read of `count` items (at least a unit's half or whole each).
pub fn admit_read(
    capacity: &Capacity,
    meta: &TableMeta,
    operation: &'static str,
    keys: &[KeyDemand<'_>],
    count: usize,
    consistent: bool,
) -> Result<Admission, ApiError> {
    let demand = Demand {
        operation,
        kind: CapacityKind::Read,
        units: read_units(0, consistent) * count as f64,
        keys,
        indexes: &[],
        index: None,
    };
    Ok(capacity.admit(meta, &demand)?)
}

/// Query or Scan one page, admitted and charged by the bytes it read.
pub async fn read_range(
    engine: &Engine,
    capacity: &Capacity,
    operation: &'static str,
    spec: RangeRead,
    consistent: bool,
) -> Result<(Arc<TableMeta>, Page), ApiError> {
    let meta = engine.table_schema(&spec.table)?;
    let units = read_units(0, consistent);
    let key = spec.partition.as_ref().map(|key| KeyDemand { key, units });
    // A global secondary index has read capacity of its own (a local one
    // shares its table's): `Capacity` tells them apart.
    let demand = Demand {
        operation,
        kind: CapacityKind::Read,
        units,
        keys: key.as_slice(),
        indexes: &[],
        index: spec.index.as_deref(),
    };
    let admission = capacity.admit(&meta, &demand)?;
    let (meta, page) = engine.read_range(spec).await?;
    admission.settle_read(read_units(page.bytes_read, consistent), operation, page.items.len());
    Ok((meta, page))
}
