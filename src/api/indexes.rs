//! Secondary indexes on the wire: `GlobalSecondaryIndexes` and
//! `LocalSecondaryIndexes` of CreateTable, `GlobalSecondaryIndexUpdates` of
//! UpdateTable, with DynamoDB's validation messages, and the index
//! descriptions of DescribeTable.

use serde_json::{Value, json};

use super::error::ApiError;
use crate::engine::IndexUpdate;
use crate::model::index::{MAX_GLOBAL_INDEXES, MAX_LOCAL_INDEXES, MAX_PROJECTED_ATTRIBUTES};
use crate::model::table::BillingMode;
use crate::model::{IndexKind, KeyAttribute, KeySchema, Projection, SecondaryIndex, TableMeta};

/// A KeySchema list (of a table or an index) as (name, key type) pairs,
/// checked as DynamoDB checks it before looking at definitions.
pub(super) fn key_elements(elements: &[Value], field: &str) -> Result<Vec<(String, String)>, ApiError> {
    if elements.is_empty() {
        return Err(ApiError::constraint(
            "'[]'",
            field,
            "Member must have length less than or equal to 2, Member must have length greater than or equal to 1",
        ));
    }
    if elements.len() > 2 {
        let echoed: Vec<String> = elements.iter().map(key_element_text).collect();
        return Err(ApiError::constraint(
            &format!("'[{}]'", echoed.join(", ")),
            field,
            "Member must have length less than or equal to 2",
        ));
    }
    let mut attrs = Vec::new();
    for (i, element) in elements.iter().enumerate() {
        let name = element["AttributeName"]
            .as_str()
            .ok_or_else(|| ApiError::missing(&format!("{field}.member.attributeName")))?;
        check_key_name(name, &format!("{field}.{}.member.attributeName", i + 1))?;
        let key_type = element["KeyType"]
            .as_str()
            .ok_or_else(|| ApiError::missing(&format!("{field}.member.keyType")))?;
        if key_type != "HASH" && key_type != "RANGE" {
            return Err(ApiError::constraint(
                &format!("'{key_type}'"),
                &format!("{field}.{}.member.keyType", i + 1),
                "Member must satisfy enum value set: [HASH, RANGE]",
            ));
        }
        attrs.push((name.to_string(), key_type.to_string()));
    }
    Ok(attrs)
}

/// A KeySchemaElement as DynamoDB's Java layer echoes it in a message.
fn key_element_text(element: &Value) -> String {
    let member = |name: &str| element[name].as_str().unwrap_or("null").to_string();
    format!(
        "KeySchemaElement(attributeName={}, keyType={})",
        member("AttributeName"),
        member("KeyType")
    )
}

/// Longest name of a key attribute (of a table or an index), in characters.
const MAX_KEY_NAME_CHARS: usize = 255;

/// A key attribute's name is 1 to 255 characters (the model's
/// KeySchemaAttributeName), in a KeySchema or an AttributeDefinitions.
pub(super) fn check_key_name(name: &str, member: &str) -> Result<(), ApiError> {
    let constraint = match name.chars().count() {
        0 => "Member must have length greater than or equal to 1",
        n if n > MAX_KEY_NAME_CHARS => "Member must have length less than or equal to 255",
        _ => return Ok(()),
    };
    Err(ApiError::constraint(&format!("'{name}'"), member, constraint))
}

/// The checks every KeySchema gets once its elements parse: a HASH first, a
/// RANGE second, two different names.
pub(super) fn check_key_order(attrs: &[(String, String)]) -> Result<(), ApiError> {
    if attrs.len() == 2 && attrs[0].0 == attrs[1].0 {
        return Err(ApiError::validation(
            "Invalid KeySchema: Some index key attribute have no definition",
        ));
    }
    if attrs[0].1 != "HASH" {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if attrs.len() == 2 && attrs[1].1 != "RANGE" {
        return Err(ApiError::validation(
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
        ));
    }
    Ok(())
}

/// Resolves key names against the attribute definitions.
pub(super) fn resolve_keys(attrs: &[(String, String)], definitions: &[KeyAttribute]) -> Result<KeySchema, ApiError> {
    let lookup = |name: &str| {
        definitions.iter().find(|d| d.name == name).cloned().ok_or_else(|| {
            let keys: Vec<&str> = attrs.iter().map(|(n, _)| n.as_str()).collect();
            let defined: Vec<&str> = definitions.iter().map(|d| d.name.as_str()).collect();
            ApiError::validation(format!(
                "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                keys.join(", "),
                defined.join(", ")
            ))
        })
    };
    let hash = lookup(&attrs[0].0)?;
    let range = attrs.get(1).map(|(name, _)| lookup(name)).transpose()?;
    Ok(KeySchema { hash, range })
}

fn index_name(spec: &Value, field: &str) -> Result<String, ApiError> {
    let name = spec["IndexName"]
        .as_str()
        .ok_or_else(|| ApiError::missing(&format!("{field}.indexName")))?;
    if name.len() < 3 || name.len() > 255 {
        return Err(ApiError::constraint(
            &format!("'{name}'"),
            &format!("{field}.indexName"),
            "Member must have length less than or equal to 255, Member must have length greater than or equal to 3",
        ));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) {
        return Err(ApiError::constraint(
            &format!("'{name}'"),
            &format!("{field}.indexName"),
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ));
    }
    Ok(name.to_string())
}

fn projection(spec: &Value, field: &str) -> Result<Projection, ApiError> {
    let projection = spec
        .get("Projection")
        .filter(|p| p.is_object())
        .ok_or_else(|| ApiError::missing(&format!("{field}.projection")))?;
    let non_key = match projection.get("NonKeyAttributes").filter(|v| !v.is_null()) {
        None => None,
        Some(Value::Array(names)) if names.is_empty() => {
            return Err(ApiError::constraint(
                "[]",
                &format!("{field}.projection.nonKeyAttributes"),
                "Member must have length greater than or equal to 1",
            ));
        }
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .map(|n| n.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ApiError::serialization("NonKeyAttributes must be a list of strings"))?,
        ),
        Some(_) => return Err(ApiError::serialization("NonKeyAttributes must be a list of strings")),
    };
    let kind = match projection.get("ProjectionType").and_then(Value::as_str) {
        None => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Unknown ProjectionType: null",
            ));
        }
        Some(kind @ ("ALL" | "KEYS_ONLY" | "INCLUDE")) => kind,
        Some(other) => {
            return Err(ApiError::constraint(
                &format!("'{other}'"),
                &format!("{field}.projection.projectionType"),
                "Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]",
            ));
        }
    };
    match (kind, non_key) {
        ("INCLUDE", Some(names)) => Ok(Projection::Include(names)),
        ("INCLUDE", None) => Err(ApiError::validation(
            "One or more parameter values were invalid: ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
        )),
        (kind, Some(_)) => Err(ApiError::validation(format!(
            "One or more parameter values were invalid: ProjectionType is {kind}, but NonKeyAttributes is specified"
        ))),
        ("ALL", None) => Ok(Projection::All),
        _ => Ok(Projection::KeysOnly),
    }
}

/// An index's ProvisionedThroughput, as the table's billing mode wants it.
fn index_throughput(spec: &Value, name: &str, billing: &BillingMode) -> Result<Option<(u64, u64)>, ApiError> {
    let given = spec.get("ProvisionedThroughput").filter(|v| !v.is_null());
    match (billing, given) {
        (BillingMode::PayPerRequest, None) => Ok(None),
        (BillingMode::PayPerRequest, Some(_)) => Err(ApiError::validation(format!(
            "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST"
        ))),
        (BillingMode::Provisioned { .. }, None) => Err(ApiError::validation(format!(
            "One or more parameter values were invalid: ProvisionedThroughput is not specified for index: {name}"
        ))),
        (BillingMode::Provisioned { .. }, Some(throughput)) => {
            let units = |member: &str| -> Result<u64, ApiError> {
                match throughput.get(member).and_then(Value::as_i64) {
                    Some(v) if v >= 1 => Ok(v as u64),
                    Some(v) => Err(ApiError::constraint(
                        &format!("'{v}'"),
                        &format!("provisionedThroughput.{}", super::request::lower_first(member)),
                        "Member must have value greater than or equal to 1",
                    )),
                    None => Err(ApiError::missing(&format!(
                        "provisionedThroughput.{}",
                        super::request::lower_first(member)
                    ))),
                }
            };
            Ok(Some((units("ReadCapacityUnits")?, units("WriteCapacityUnits")?)))
        }
    }
}

/// One index of CreateTable (or a `Create` of UpdateTable).
fn parse_index(
    spec: &Value,
    field: &str,
    kind: IndexKind,
    definitions: &[KeyAttribute],
    billing: &BillingMode,
) -> Result<SecondaryIndex, ApiError> {
    let name = index_name(spec, field)?;
    let elements = spec["KeySchema"]
        .as_array()
        .ok_or_else(|| ApiError::missing(&format!("{field}.keySchema")))?;
    let attrs = key_elements(elements, &format!("{field}.keySchema"))?;
    let key_schema = resolve_keys(&attrs, definitions)?;
    check_key_order(&attrs)?;
    let projection = projection(spec, field)?;
    let throughput = match kind {
        IndexKind::Global => index_throughput(spec, &name, billing)?,
        IndexKind::Local => None,
    };
    Ok(SecondaryIndex {
        name,
        kind,
        key_schema,
        projection,
        throughput,
        storage_id: Default::default(),
        backfilling: false,
        item_count: 0,
        size_bytes: 0,
    })
}

/// The LSI rules: the table has a sort key, the index has one too and the
/// table's partition key.
fn check_local(index: &SecondaryIndex, table: &KeySchema) -> Result<(), ApiError> {
    if index.key_schema.range.is_none() {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Index KeySchema does not have a range key for index: {}",
            index.name
        )));
    }
    if index.key_schema.hash.name != table.hash.name {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
            index.name, index.key_schema.hash.name, table.hash.name
        )));
    }
    Ok(())
}

/// The indexes of a CreateTable request, validated as DynamoDB validates
/// them (in its order), including that every attribute definition is used.
pub fn parse_create(
    global: Option<&Vec<Value>>,
    local: Option<&Vec<Value>>,
    table: &KeySchema,
    definitions: &[KeyAttribute],
    billing: &BillingMode,
) -> Result<Vec<SecondaryIndex>, ApiError> {
    let indexes = parse_lists(global, local, table, definitions, billing)?;
    check_definitions_used(table, &indexes, definitions)?;
    Ok(indexes)
}

/// The indexes of a restore: the source's, with `GlobalSecondaryIndexOverride`
/// and `LocalSecondaryIndexOverride` (each replacing the source's indexes of
/// its kind; an empty list removes them) resolved against the source's
/// attribute definitions. `None` without overrides.
pub fn parse_overrides(
    global: Option<&Vec<Value>>,
    local: Option<&Vec<Value>>,
    source: &TableMeta,
    billing: &BillingMode,
) -> Result<Option<Vec<SecondaryIndex>>, ApiError> {
    if global.is_none() && local.is_none() {
        return Ok(None);
    }
    let (table, definitions) = (&source.key_schema, &source.attribute_definitions);
    let kept = |kind: IndexKind| source.indexes.iter().filter(move |i| i.kind == kind).cloned();
    let mut indexes = match local.filter(|l| !l.is_empty()) {
        Some(list) => parse_lists(None, Some(list), table, definitions, billing)?,
        None if local.is_some() => Vec::new(),
        None => kept(IndexKind::Local).collect(),
    };
    match global.filter(|g| !g.is_empty()) {
        Some(list) => indexes.extend(parse_lists(Some(list), None, table, definitions, billing)?),
        None if global.is_some() => {}
        None => indexes.extend(kept(IndexKind::Global)),
    }
    Ok(Some(indexes))
}

fn parse_lists(
    global: Option<&Vec<Value>>,
    local: Option<&Vec<Value>>,
    table: &KeySchema,
    definitions: &[KeyAttribute],
    billing: &BillingMode,
) -> Result<Vec<SecondaryIndex>, ApiError> {
    let mut indexes: Vec<SecondaryIndex> = Vec::new();
    let mut add = |index: SecondaryIndex| {
        if indexes.iter().any(|i| i.name == index.name) {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: Duplicate index name: {}",
                index.name
            )));
        }
        indexes.push(index);
        Ok(())
    };
    if let Some(local) = local {
        if local.is_empty() {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: List of LocalSecondaryIndexes is empty",
            ));
        }
        if table.range.is_none() {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
            ));
        }
        for (n, spec) in local.iter().enumerate() {
            let field = format!("localSecondaryIndexes.{}.member", n + 1);
            let index = parse_index(spec, &field, IndexKind::Local, definitions, billing)?;
            check_local(&index, table)?;
            add(index)?;
        }
        if local.len() > MAX_LOCAL_INDEXES {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5",
            ));
        }
    }
    if let Some(global) = global {
        if global.is_empty() {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: List of GlobalSecondaryIndexes is empty",
            ));
        }
        for (n, spec) in global.iter().enumerate() {
            let field = format!("globalSecondaryIndexes.{}.member", n + 1);
            add(parse_index(spec, &field, IndexKind::Global, definitions, billing)?)?;
        }
        if global.len() > MAX_GLOBAL_INDEXES {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20",
            ));
        }
    }
    check_projected_count(&indexes)?;
    Ok(indexes)
}

/// At most 100 projected non-key attributes over all of a table's indexes.
fn check_projected_count(indexes: &[SecondaryIndex]) -> Result<(), ApiError> {
    let count: usize = indexes
        .iter()
        .map(|i| match &i.projection {
            Projection::Include(names) => names.len(),
            _ => 0,
        })
        .sum();
    if count > MAX_PROJECTED_ATTRIBUTES {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Number of projected attributes in all indexes exceeds limit of {MAX_PROJECTED_ATTRIBUTES}, number of projected attributes: {count}"
        )));
    }
    Ok(())
}

/// Every attribute definition must be a key of the table or of an index.
pub fn check_definitions_used(
    table: &KeySchema,
    indexes: &[SecondaryIndex],
    definitions: &[KeyAttribute],
) -> Result<(), ApiError> {
    let mut used: Vec<&str> = table.names().collect();
    for name in indexes.iter().flat_map(|i| i.key_schema.names()) {
        if !used.contains(&name) {
            used.push(name);
        }
    }
    if definitions.iter().all(|d| used.contains(&d.name.as_str())) {
        return Ok(());
    }
    let defined: Vec<&str> = definitions.iter().map(|d| d.name.as_str()).collect();
    Err(ApiError::validation(format!(
        "One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [{}], keys used: [{}]",
        defined.join(", "),
        used.join(", ")
    )))
}

/// UpdateTable's `GlobalSecondaryIndexUpdates`: one `Create`, `Update` or
/// `Delete` each; new index keys resolved against `definitions` (the
/// request's, with the table's types for attributes it already has).
pub fn parse_updates(
    updates: &[Value],
    definitions: &[KeyAttribute],
    billing: &BillingMode,
) -> Result<Vec<IndexUpdate>, ApiError> {
    let mut out = Vec::new();
    for (n, update) in updates.iter().enumerate() {
        let field = format!("globalSecondaryIndexUpdates.{}.member", n + 1);
        let present = |action: &str| update.get(action).filter(|v| !v.is_null());
        let parsed = match (present("Create"), present("Update"), present("Delete")) {
            (Some(spec), None, None) => IndexUpdate::Create(parse_index(
                spec,
                &format!("{field}.create"),
                IndexKind::Global,
                definitions,
                billing,
            )?),
            (None, Some(spec), None) => {
                let name = index_name(spec, &format!("{field}.update"))?;
                if spec.get("ProvisionedThroughput").is_none_or(Value::is_null) && spec.get("WarmThroughput").is_some()
                {
                    // Only the warm throughput changes (`table_settings`).
                    continue;
                }
                let throughput = index_throughput(spec, &name, billing)?;
                IndexUpdate::Update { name, throughput }
            }
            (None, None, Some(spec)) => IndexUpdate::Delete(index_name(spec, &format!("{field}.delete"))?),
            _ => {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Update, or GlobalSecondaryIndexUpdate.Delete must be specified",
                ));
            }
        };
        out.push(parsed);
    }
    Ok(out)
}

fn key_schema_json(schema: &KeySchema) -> Value {
    let mut out = vec![json!({"AttributeName": schema.hash.name, "KeyType": "HASH"})];
    if let Some(range) = &schema.range {
        out.push(json!({"AttributeName": range.name, "KeyType": "RANGE"}));
    }
    Value::Array(out)
}

/// One index's description, as DescribeTable shows it in `region`.
fn describe_index(meta: &TableMeta, index: &SecondaryIndex, region: &str) -> Value {
    let mut projection = json!({ "ProjectionType": index.projection.type_name() });
    if let Projection::Include(names) = &index.projection
        && !names.is_empty()
    {
        projection["NonKeyAttributes"] = json!(names);
    }
    let mut description = json!({
        "IndexName": index.name,
        "KeySchema": key_schema_json(&index.key_schema),
        "Projection": projection,
        "IndexSizeBytes": index.size_bytes,
        "ItemCount": index.item_count,
        "IndexArn": format!("{}/index/{}", meta.arn(region), index.name),
    });
    if index.kind == IndexKind::Global {
        let (read, write) = index.throughput.unwrap_or((0, 0));
        description["IndexStatus"] = json!(if index.backfilling { "CREATING" } else { "ACTIVE" });
        description["Backfilling"] = json!(index.backfilling);
        description["ProvisionedThroughput"] = json!({
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": read,
            "WriteCapacityUnits": write,
        });
        let status = if index.backfilling { "UPDATING" } else { "ACTIVE" };
        description["WarmThroughput"] = super::table_settings::warm_json(meta.index_warm(index), status);
    }
    description
}

/// Adds `GlobalSecondaryIndexes` / `LocalSecondaryIndexes` to a table
/// description when the table has them.
pub fn describe_into(description: &mut Value, meta: &TableMeta, region: &str) {
    for (kind, member) in [
        (IndexKind::Global, "GlobalSecondaryIndexes"),
        (IndexKind::Local, "LocalSecondaryIndexes"),
    ] {
        let of_kind: Vec<Value> = meta
            .indexes
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| describe_index(meta, i, region))
            .collect();
        if !of_kind.is_empty() {
            description[member] = Value::Array(of_kind);
        }
    }
}

/// Marks the index a `Delete` removed as DELETING in a response (it is
/// gone from the stored description, as in DynamoDB once deleted).
pub fn describe_deleted(description: &mut Value, deleted: &SecondaryIndex, meta: &TableMeta, region: &str) {
    let mut entry = describe_index(meta, deleted, region);
    entry["IndexStatus"] = json!("DELETING");
    entry["Backfilling"] = json!(false);
    match description
        .get_mut("GlobalSecondaryIndexes")
        .and_then(Value::as_array_mut)
    {
        Some(list) => list.push(entry),
        None => description["GlobalSecondaryIndexes"] = json!([entry]),
    }
}
