//! `OnDemandThroughput` (MaxReadRequestUnits, MaxWriteRequestUnits) of
//! CreateTable, UpdateTable and their global secondary indexes: parsed into
//! the table's `OnDemandMaxima`, which the capacity buckets enforce while
//! the table is billed on demand, and shown back by DescribeTable.
//!
//! A maximum is at least 1, or -1 to remove it; a member left out keeps
//! its current value (UpdateTable) or has none (CreateTable).

use serde_json::{Value, json};

use super::error::ApiError;
use super::request::Request;
use crate::model::TableMeta;
use crate::model::table_features::{OnDemandMax, OnDemandMaxima};

/// The member holding the maximums, in a table's or an index's spec.
const THROUGHPUT: &str = "OnDemandThroughput";

/// The two members of OnDemandThroughput, with the field names DynamoDB's
/// validation messages use.
const MEMBERS: [(&str, &str); 2] = [
    ("MaxReadRequestUnits", "maxReadRequestUnits"),
    ("MaxWriteRequestUnits", "maxWriteRequestUnits"),
];

/// An OnDemandThroughput, `given`, applied over `current`, or `None` when
/// none is given. `field` names the member in messages.
fn parse(given: Option<&Value>, field: &str, current: OnDemandMax) -> Result<Option<OnDemandMax>, ApiError> {
    let Some(given) = given.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let mut out = current;
    let mut any = false;
    for (member, lower) in MEMBERS {
        let Some(value) = given.get(member).filter(|v| !v.is_null()) else {
            continue;
        };
        any = true;
        let value = value.as_i64().unwrap_or(0);
        let max = match value {
            -1 => None,
            v if v >= 1 => Some(v as u64),
            v => {
                return Err(ApiError::validation(format!(
                    "One or more parameter values were invalid: {field}.{lower} must be -1 (no maximum) or at least 1, but was {v}"
                )));
            }
        };
        match member {
            "MaxReadRequestUnits" => out.read = max,
            _ => out.write = max,
        }
    }
    if !any {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: {field} must specify MaxReadRequestUnits, MaxWriteRequestUnits, or both"
        )));
    }
    Ok(Some(out))
}

/// CreateTable's maximums: the table's and those of each index of
/// `global` (GlobalSecondaryIndexes), or `None` when none is given.
pub fn for_create(req: &Request, global: Option<&Vec<Value>>) -> Result<Option<Box<OnDemandMaxima>>, ApiError> {
    let mut maxima = OnDemandMaxima::default();
    if let Some(table) = parse(req.get(THROUGHPUT), "onDemandThroughput", OnDemandMax::default())? {
        maxima.table = table;
    }
    for (n, index) in global.map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
        let field = format!("globalSecondaryIndexes.{}.member.onDemandThroughput", n + 1);
        let name = index.get("IndexName").and_then(Value::as_str).unwrap_or_default();
        if let Some(max) = parse(index.get(THROUGHPUT), &field, OnDemandMax::default())? {
            maxima.indexes.insert(name.to_string(), max);
        }
    }
    Ok((!maxima.is_unset()).then(|| Box::new(maxima)))
}

/// UpdateTable's maximums over `current`'s: the table's OnDemandThroughput
/// and those of GlobalSecondaryIndexUpdates' `Create` and `Update`
/// actions; `None` when the request changes none.
pub fn for_update(req: &Request, current: &TableMeta) -> Result<Option<OnDemandMaxima>, ApiError> {
    let mut maxima = current.on_demand();
    let mut changed = false;
    if let Some(table) = parse(req.get(THROUGHPUT), "onDemandThroughput", maxima.table)? {
        maxima.table = table;
        changed = true;
    }
    let updates = req.opt_array("GlobalSecondaryIndexUpdates")?;
    for (n, update) in updates.map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
        for action in ["Create", "Update"] {
            let Some(spec) = update.get(action) else { continue };
            let field = format!(
                "globalSecondaryIndexUpdates.{}.member.{}.onDemandThroughput",
                n + 1,
                action.to_lowercase()
            );
            let name = spec.get("IndexName").and_then(Value::as_str).unwrap_or_default();
            if let Some(max) = parse(spec.get(THROUGHPUT), &field, maxima.index(name))? {
                maxima.indexes.insert(name.to_string(), max);
                changed = true;
            }
        }
    }
    Ok(changed.then_some(maxima))
}

/// DynamoDB's OnDemandThroughput of `max` (-1 where no maximum is set).
fn describe(max: OnDemandMax) -> Value {
    let units = |m: Option<u64>| m.map_or(-1, |m| m as i64);
    json!({
        "MaxReadRequestUnits": units(max.read),
        "MaxWriteRequestUnits": units(max.write),
    })
}

/// Adds OnDemandThroughput to a table description, and to its GSIs', when
/// the table has maximums.
pub fn describe_into(description: &mut Value, meta: &TableMeta) {
    let Some(maxima) = meta.on_demand.as_deref() else {
        return;
    };
    description["OnDemandThroughput"] = describe(maxima.table);
    if let Some(indexes) = description
        .get_mut("GlobalSecondaryIndexes")
        .and_then(Value::as_array_mut)
    {
        for index in indexes {
            let name = index.get("IndexName").and_then(Value::as_str).unwrap_or_default();
            let max = maxima.index(name);
            index["OnDemandThroughput"] = describe(max);
        }
    }
}
