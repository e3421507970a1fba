//! The global tables version 2017.11.29 (legacy) calls, and
//! DescribeTableReplicaAutoScaling, answered for Meridian's replicated
//! tables as DynamoDB answers for version 2019.11.21 (current) tables.
//!
//! DynamoDB's legacy calls see only legacy global tables: a current-version
//! table is not listed by `ListGlobalTables`, and `DescribeGlobalTable` /
//! `DescribeGlobalTableSettings` answer GlobalTableNotFoundException for it
//! (AWS's documentation tells a current-version replica by
//! `GlobalTableVersion` in `DescribeTable` instead). Every Meridian table is
//! a current-version table, so that is what they answer here.

use serde_json::{Value, json};

use super::error::{ApiError, ErrorKind};
use super::request::{Request, validate_table_name};
use crate::engine::Engine;

/// ListGlobalTables: no legacy global tables, after validating the request.
pub fn handle_list_global_tables(req: Request) -> Result<Value, ApiError> {
    req.opt_i64_in("Limit", "limit", 1..=i64::MAX)?;
    if let Some(start) = req.opt_str("ExclusiveStartGlobalTableName")? {
        validate_table_name(start, "exclusiveStartGlobalTableName")?;
    }
    req.opt_str("RegionName")?;
    Ok(json!({ "GlobalTables": [] }))
}

/// DescribeGlobalTable and DescribeGlobalTableSettings: no legacy global
/// table has the name.
pub fn handle_describe_global_table(req: Request) -> Result<Value, ApiError> {
    let name = req.str("GlobalTableName")?;
    validate_table_name(name, "globalTableName")?;
    Err(ApiError::new(
        ErrorKind::GlobalTableNotFound,
        format!("Global table not found: Global table with name: '{name}' does not exist."),
    ))
}

/// DescribeTableReplicaAutoScaling: every replica of the table, none with
/// auto scaling (Meridian has none to configure).
pub async fn handle_describe_table_replica_auto_scaling(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let meta = engine.describe_table(req.table_name()?).await?;
    let mut replicas: Vec<Value> = meta
        .replicas
        .iter()
        .map(|r| json!({"RegionName": r.region, "ReplicaStatus": r.status.as_str(), "GlobalSecondaryIndexes": []}))
        .collect();
    if replicas.is_empty() {
        replicas.push(json!({"RegionName": engine.region(), "ReplicaStatus": "ACTIVE", "GlobalSecondaryIndexes": []}));
    }
    Ok(json!({
        "TableAutoScalingDescription": {
            "TableName": meta.name,
            "TableStatus": meta.status.as_str(),
            "Replicas": replicas,
        }
    }))
}
