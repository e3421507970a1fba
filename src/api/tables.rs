//! Control plane: CreateTable, DescribeTable, ListTables, DeleteTable,
//! UpdateTable, DescribeEndpoints and the tagging operations.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::error::{ApiError, ErrorKind};
use super::request::{Request, validate_table_name};
use crate::capacity::Capacity;
use crate::config::NodeConfig;
use crate::engine::{
    Engine, EngineError, IndexUpdate, NewTable, ReplicaOverride, ReplicaUpdate, TableUpdate, TagUpdate,
};
use crate::model::table::{ACCOUNT_ID, BillingMode, TableStatus};
use crate::model::{KeyAttribute, KeySchema, ScalarType, SecondaryIndex, TableMeta};

/// Most table names one ListTables page returns.
const MAX_LIST_TABLES: i64 = 100;

/// DynamoDB's TableDescription of `meta` as seen in `region`.
pub fn describe(meta: &TableMeta, region: &str) -> Value {
    let mut key_schema = vec![json!({"AttributeName": meta.key_schema.hash.name, "KeyType": "HASH"})];
    if let Some(range) = &meta.key_schema.range {
        key_schema.push(json!({"AttributeName": range.name, "KeyType": "RANGE"}));
    }
    let definitions: Vec<Value> = meta
        .attribute_definitions
        .iter()
        .map(|d| json!({"AttributeName": d.name, "AttributeType": d.ty.as_str()}))
        .collect();
    let created = meta.created_at_ms as f64 / 1000.0;
    let (read, write) = match meta.billing {
        BillingMode::PayPerRequest => (0, 0),
        BillingMode::Provisioned { read, write } => (read, write),
    };
    let mut description = json!({
        "TableName": meta.name,
        "TableStatus": meta.status.as_str(),
        "KeySchema": key_schema,
        "AttributeDefinitions": definitions,
        "CreationDateTime": created,
        "ItemCount": meta.item_count,
        "TableSizeBytes": meta.size_bytes,
        "TableArn": meta.arn(region),
        "TableId": meta.table_id,
        "ProvisionedThroughput": {
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": read,
            "WriteCapacityUnits": write,
        },
        "DeletionProtectionEnabled": false,
    });
    let others: Vec<Value> = meta
        .replicas
        .iter()
        .filter(|r| r.region != region)
        .map(|r| json!({"RegionName": r.region, "ReplicaStatus": r.status.as_str()}))
        .collect();
    if !others.is_empty() {
        description["GlobalTableVersion"] = json!("2019.11.21");
        description["Replicas"] = Value::Array(others);
    }
    if meta.billing == BillingMode::PayPerRequest {
        description["BillingModeSummary"] =
            json!({"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": created});
    } else {
        description["BillingModeSummary"] = json!({"BillingMode": "PROVISIONED"});
    }
    super::streams::describe_stream_fields(&mut description, meta, region);
    super::indexes::describe_into(&mut description, meta, region);
    super::on_demand::describe_into(&mut description, meta);
    super::table_settings::describe_into(&mut description, meta, region);
    description
}

/// The table's KeySchema. The count check against the definitions applies
/// only without indexes (with them, every definition must be a key of the
/// table or of an index: see `indexes::check_definitions_used`).
fn parse_key_schema(req: &Request, definitions: &[KeyAttribute], has_indexes: bool) -> Result<KeySchema, ApiError> {
    let elements = req
        .opt_array("KeySchema")?
        .ok_or_else(|| ApiError::missing("keySchema"))?;
    let attrs = super::indexes::key_elements(elements, "keySchema")?;
    super::indexes::check_key_order(&attrs)?;
    let schema = super::indexes::resolve_keys(&attrs, definitions)?;
    if !has_indexes && definitions.len() != attrs.len() {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    Ok(schema)
}

fn parse_definitions(req: &Request) -> Result<Vec<KeyAttribute>, ApiError> {
    let raw = req
        .opt_array("AttributeDefinitions")?
        .ok_or_else(|| ApiError::missing("attributeDefinitions"))?;
    let mut definitions: Vec<KeyAttribute> = Vec::new();
    for (i, element) in raw.iter().enumerate() {
        let name = element["AttributeName"]
            .as_str()
            .ok_or_else(|| ApiError::missing("attributeDefinitions.member.attributeName"))?;
        super::indexes::check_key_name(name, &format!("attributeDefinitions.{}.member.attributeName", i + 1))?;
        let ty = element["AttributeType"]
            .as_str()
            .ok_or_else(|| ApiError::missing("attributeDefinitions.member.attributeType"))?;
        let ty = ScalarType::parse(ty).ok_or_else(|| {
            ApiError::constraint(
                &format!("'{ty}'"),
                &format!("attributeDefinitions.{}.member.attributeType", i + 1),
                "Member must satisfy enum value set: [B, N, S]",
            )
        })?;
        if definitions.iter().any(|d| d.name == name) {
            return Err(ApiError::validation(format!("Attribute Name is duplicated: {name}")));
        }
        definitions.push(KeyAttribute {
            name: name.to_string(),
            ty,
        });
    }
    Ok(definitions)
}

fn parse_billing(req: &Request, current: Option<&BillingMode>) -> Result<Option<BillingMode>, ApiError> {
    let mode = req.opt_enum("BillingMode", &["PROVISIONED", "PAY_PER_REQUEST"])?;
    let throughput = req.opt_object("ProvisionedThroughput")?;
    let units = |name: &str| -> Result<u64, ApiError> {
        let t = throughput.ok_or_else(|| ApiError::missing("provisionedThroughput"))?;
        let value = t.get(name).and_then(Value::as_i64).ok_or_else(|| {
            ApiError::missing(&format!("provisionedThroughput.{}", super::request::lower_first(name)))
        })?;
        if value < 1 {
            return Err(ApiError::constraint(
                &format!("'{value}'"),
                &format!("provisionedThroughput.{}", super::request::lower_first(name)),
                "Member must have value greater than or equal to 1",
            ));
        }
        Ok(value as u64)
    };
    let effective = mode.as_deref().or(match current {
        None => Some("PROVISIONED"),
        Some(BillingMode::PayPerRequest) if throughput.is_some() => Some("PAY_PER_REQUEST"),
        Some(BillingMode::Provisioned { .. }) if throughput.is_some() => Some("PROVISIONED"),
        Some(_) => None,
    });
    match effective {
        None => Ok(None),
        Some("PAY_PER_REQUEST") => {
            if throughput.is_some() {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ));
            }
            Ok(Some(BillingMode::PayPerRequest))
        }
        Some(_) => {
            if throughput.is_none() {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
                ));
            }
            Ok(Some(BillingMode::Provisioned {
                read: units("ReadCapacityUnits")?,
                write: units("WriteCapacityUnits")?,
            }))
        }
    }
}

/// Longest tag key and value, in characters.
const MAX_TAG_KEY_CHARS: usize = 128;
const MAX_TAG_VALUE_CHARS: usize = 256;

/// A request's Tags, checked as DynamoDB checks them: lengths first (the
/// model's constraints), then the character set, the reserved `aws:`
/// prefix, keys given twice and the count, with DynamoDB's messages.
fn parse_tags(tags: &[Value]) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (i, tag) in tags.iter().enumerate() {
        let key = tag["Key"]
            .as_str()
            .ok_or_else(|| ApiError::missing("tags.member.key"))?;
        let value = tag["Value"]
            .as_str()
            .ok_or_else(|| ApiError::missing("tags.member.value"))?;
        check_tag_length(key, &format!("tags.{}.member.key", i + 1), 1, MAX_TAG_KEY_CHARS)?;
        check_tag_length(value, &format!("tags.{}.member.value", i + 1), 0, MAX_TAG_VALUE_CHARS)?;
        if !key.chars().all(tag_char) {
            return Err(ApiError::validation(format!(
                "The Tag Key provided is invalid, Key: {key}"
            )));
        }
        if !value.chars().all(tag_char) {
            return Err(ApiError::validation(format!(
                "The Tag Value provided is invalid, Value: {value}"
            )));
        }
        if key.starts_with("aws:") {
            return Err(ApiError::validation(format!(
                "Tag Key cannot be prefixed with aws:, Key: {key}"
            )));
        }
        if out.insert(key.to_string(), value.to_string()).is_some() {
            return Err(ApiError::validation(format!(
                "Duplicate Tag Keys provided as input: Duplicate Tag Key found {key}"
            )));
        }
    }
    if out.len() > crate::engine::MAX_TAGS {
        return Err(ApiError::validation(
            "Number of Tags exceed the current limit for the provided ResourceArn",
        ));
    }
    Ok(out)
}

/// A tag key's or value's length, in characters, against its bounds, with
/// the constraint message of the service model.
fn check_tag_length(text: &str, member: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let chars = text.chars().count();
    let constraint = if chars < min {
        format!("Member must have length greater than or equal to {min}")
    } else if chars > max {
        format!("Member must have length less than or equal to {max}")
    } else {
        return Ok(());
    };
    Err(ApiError::constraint(&format!("'{text}'"), member, &constraint))
}

/// The characters DynamoDB's tagging restrictions allow in tags: letters,
/// white space and numbers (Unicode ones too), and `+ - = . _ : /`.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "+-=._:/".contains(c)
}

/// The name of a table to create: unlike the other operations' TableName
/// (which may be an ARN), 3 to 255 characters, and required with a
/// message of its own.
fn new_table_name(req: &Request) -> Result<String, ApiError> {
    let name = req.opt_str("TableName")?.ok_or_else(|| {
        ApiError::validation("The parameter 'TableName' is required but was not present in the request")
    })?;
    validate_table_name(name, "tableName")?;
    Ok(name.to_string())
}

/// The table a CreateTable-shaped request describes (also ImportTable's
/// TableCreationParameters) in `region`: name, keys, billing, indexes and
/// encryption; no tags and no stream.
pub(super) fn parse_table_spec(req: &Request, region: &str) -> Result<NewTable, ApiError> {
    super::unsupported::check_create(req)?;
    let name = new_table_name(req)?;
    let definitions = parse_definitions(req)?;
    let (global, local) = (
        req.opt_array("GlobalSecondaryIndexes")?,
        req.opt_array("LocalSecondaryIndexes")?,
    );
    let key_schema = parse_key_schema(req, &definitions, global.is_some() || local.is_some())?;
    let billing = parse_billing(req, None)?.unwrap_or(BillingMode::PayPerRequest);
    let indexes = super::indexes::parse_create(global, local, &key_schema, &definitions, &billing)?;
    let on_demand = super::on_demand::for_create(req, global)?;
    let settings = super::table_settings::sse_for_create(req, region)?;
    Ok(NewTable {
        name,
        key_schema,
        attribute_definitions: definitions,
        billing,
        tags: BTreeMap::new(),
        stream: None,
        indexes,
        on_demand,
        settings,
    })
}

/// Creates the table a CreateTable request describes (its
/// ResourcePolicy is `policies::handle_create_table`'s).
pub(super) async fn create_table(engine: &Engine, config: &NodeConfig, req: &Request) -> Result<TableMeta, ApiError> {
    let region = engine.region();
    let mut spec = parse_table_spec(req, region)?;
    spec.tags = parse_tags(req.opt_array("Tags")?.map(Vec::as_slice).unwrap_or(&[]))?;
    let stream = super::streams::parse_stream_for_create(req)?;
    spec.stream = super::streams::stream_for_create(stream, &config.streams);
    spec.settings = super::table_settings::for_create(req, region, &spec.billing, spec.settings.take())?;
    Ok(engine.create_table(spec).await?)
}

/// DescribeTable.
pub async fn handle_describe_table(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let meta = engine.describe_table(req.table_name()?).await?;
    Ok(json!({ "Table": describe(&meta, engine.region()) }))
}

/// ListTables, paginated by ExclusiveStartTableName / LastEvaluatedTableName.
pub async fn handle_list_tables(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let limit = req
        .opt_i64_in("Limit", "limit", 1..=MAX_LIST_TABLES)?
        .unwrap_or(MAX_LIST_TABLES);
    let start = req.opt_str("ExclusiveStartTableName")?.map(str::to_string);
    if let Some(start) = &start {
        validate_table_name(start, "exclusiveStartTableName")?;
    }
    let mut names = engine.list_tables(start, limit as usize + 1).await?;
    let more = names.len() > limit as usize;
    names.truncate(limit as usize);
    let mut body = json!({ "TableNames": names });
    if more && let Some(last) = names.last() {
        body["LastEvaluatedTableName"] = json!(last);
    }
    Ok(body)
}

/// DeleteTable.
pub async fn handle_delete_table(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let meta = engine.delete_table(req.table_name()?).await?;
    Ok(json!({ "TableDescription": describe(&meta, engine.region()) }))
}

/// The members of a replica's `Create` or `Update` Meridian does not have.
const REPLICA_UNSUPPORTED: [&str; 3] = [
    "ProvisionedThroughputOverride",
    "OnDemandThroughputOverride",
    "GlobalSecondaryIndexes",
];

/// UpdateTable's ReplicaUpdates: the replicas to add and remove, and the
/// table class and KMS key of those added or updated.
fn parse_replica_updates(
    req: &Request,
    regions: &[String],
) -> Result<(Vec<ReplicaUpdate>, Vec<ReplicaOverride>), ApiError> {
    let Some(updates) = req.opt_array("ReplicaUpdates")? else {
        return Ok(Default::default());
    };
    let (mut out, mut overrides) = (Vec::new(), Vec::new());
    for (n, update) in updates.iter().enumerate() {
        let present = |action: &str| update.get(action).filter(|v| !v.is_null());
        let (action, spec) = match (present("Create"), present("Update"), present("Delete")) {
            (Some(spec), None, None) => ("Create", spec),
            (None, Some(spec), None) => ("Update", spec),
            (None, None, Some(spec)) => ("Delete", spec),
            _ => {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: Only one of Create, Update or Delete can be specified per replica update",
                ));
            }
        };
        let name = replica_region(spec, action, regions)?;
        if action == "Delete" {
            out.push(ReplicaUpdate::Delete(name));
            continue;
        }
        if let Some(members) = spec.as_object() {
            super::unsupported::refuse_members(&Request::from_map(members.clone()), &REPLICA_UNSUPPORTED)?;
        }
        let field = format!(
            "replicaUpdates.{}.member.{}.tableClassOverride",
            n + 1,
            action.to_lowercase()
        );
        overrides.push(ReplicaOverride {
            class: super::table_settings::parse_class(spec.get("TableClassOverride"), &field)?,
            kms_key: spec
                .get("KMSMasterKeyId")
                .and_then(Value::as_str)
                .and_then(|key| super::table_settings::resolve_key(key, &name)),
            region: name.clone(),
        });
        if action == "Create" {
            out.push(ReplicaUpdate::Create(name));
        }
    }
    Ok((out, overrides))
}

/// The RegionName of a replica update's `action`, which must be a region
/// of this cluster.
fn replica_region(spec: &Value, action: &str, regions: &[String]) -> Result<String, ApiError> {
    let name = spec["RegionName"]
        .as_str()
        .ok_or_else(|| ApiError::missing(&format!("replicaUpdates.member.{}.regionName", action.to_lowercase())))?;
    if !regions.iter().any(|r| r == name) {
        return Err(ApiError::validation(format!(
            "Region {name} is not part of this cluster's topology; regions: [{}]",
            regions.join(", ")
        )));
    }
    Ok(name.to_string())
}

/// UpdateTable: billing mode, provisioned throughput and ReplicaUpdates
/// (global tables version 2019.11.21).
pub async fn handle_update_table(
    engine: &Engine,
    config: &NodeConfig,
    regions: &[String],
    capacity: &Capacity,
    req: Request,
) -> Result<Value, ApiError> {
    super::unsupported::check_update(&req)?;
    let name = req.table_name()?;
    let has_update = [
        "TableClass",
        "WarmThroughput",
        "SSESpecification",
        "GlobalSecondaryIndexUpdates",
        "BillingMode",
        "ProvisionedThroughput",
        "OnDemandThroughput",
        "DeletionProtectionEnabled",
        "ReplicaUpdates",
        "StreamSpecification",
    ];
    if !has_update.iter().any(|m| req.has(m)) {
        return Err(ApiError::validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
        ));
    }
    let current = engine.describe_table(name.clone()).await?;
    let billing = parse_billing(&req, Some(&current.billing))?;
    if let Some(requested) = &billing {
        let now_ms = engine.hlc().wall_now_ns() / 1_000_000;
        capacity.change_billing(&name, &current.billing, requested, now_ms)?;
    }
    let (replica_updates, replica_overrides) = parse_replica_updates(&req, regions)?;
    let mut settings = super::table_settings::for_update(&req, engine.region())?;
    settings.replicas = replica_overrides;
    let warm_asked = settings.warm.is_some();
    let stream = super::streams::parse_stream_specification(&req)?;
    let index_updates = parse_index_updates(&req, &current, billing.as_ref())?;
    let on_demand = super::on_demand::for_update(&req, &current)?;
    let deleted: Vec<SecondaryIndex> = index_updates
        .iter()
        .filter_map(|u| match u {
            IndexUpdate::Delete(name) => current.index(name).cloned(),
            _ => None,
        })
        .collect();
    let update = TableUpdate {
        billing,
        indexes: index_updates,
        stream: stream.map(|s| super::streams::stream_update(s, &config.streams)),
        replicas: replica_updates,
        on_demand,
        settings,
        ..TableUpdate::default()
    };
    let capacity_changed = update.billing.as_ref().is_some_and(|b| *b != current.billing);
    let meta = engine.update_table(name, update).await?;
    capacity.reconfigure(&meta);
    let mut description = describe(&meta, engine.region());
    for index in &deleted {
        super::indexes::describe_deleted(&mut description, index, &meta, engine.region());
    }
    if capacity_changed {
        // DynamoDB answers a capacity change with the table UPDATING until
        // it applies; here it applies at once, so DescribeTable is ACTIVE.
        description["TableStatus"] = json!(TableStatus::Updating.as_str());
    }
    if warm_asked && meta.warm() != current.warm() {
        // Pre-warming takes DynamoDB a while; here it is done at once.
        description["WarmThroughput"] = super::table_settings::warm_json(meta.warm(), "UPDATING");
    }
    Ok(json!({ "TableDescription": description }))
}

/// UpdateTable's GlobalSecondaryIndexUpdates, as DynamoDB reconciles their
/// AttributeDefinitions (observed against AWS by the conformance suite,
/// eu-west-2, 2026-07-12): a new index's keys must all be among the
/// request's own definitions, the table's stored ones do not count; a
/// definition the table already has keeps its stored type whatever the
/// request says (no rejection, no overwrite); and one that no key uses is
/// dropped, as the engine keeps exactly the keys in use.
fn parse_index_updates(
    req: &Request,
    current: &TableMeta,
    billing: Option<&BillingMode>,
) -> Result<Vec<IndexUpdate>, ApiError> {
    let Some(updates) = req.opt_array("GlobalSecondaryIndexUpdates")? else {
        return Ok(Vec::new());
    };
    let mut definitions = Vec::new();
    if req.has("AttributeDefinitions") {
        definitions = parse_definitions(req)?
            .into_iter()
            .map(|given| {
                let stored = current.attribute_definitions.iter().find(|d| d.name == given.name);
                stored.cloned().unwrap_or(given)
            })
            .collect();
    }
    super::indexes::parse_updates(updates, &definitions, billing.unwrap_or(&current.billing))
}

/// DescribeEndpoints: this region is its own endpoint.
pub fn handle_describe_endpoints(endpoint: &str) -> Value {
    json!({ "Endpoints": [{ "Address": endpoint, "CachePeriodInMinutes": 1440 }] })
}

/// The table named by a ResourceArn in this region, or DynamoDB's error
/// for an ARN that is not one (not an ARN, not DynamoDB's, another
/// region's or account's, or not a table's). `action` is the IAM action
/// of the request, which another account's ARN is refused for.
fn table_from_arn(engine: &Engine, arn: &str, action: &str) -> Result<String, ApiError> {
    if !arn.starts_with("arn:") {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: ARNs must start with 'arn:': {arn}"
        )));
    }
    let Some(resource) = arn.strip_prefix("arn:aws:dynamodb:") else {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: {arn}"
        )));
    };
    let Some(resource) = resource.strip_prefix(&format!("{}:", engine.region())) else {
        return Err(ApiError::validation(format!(
            "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
        )));
    };
    let Some(resource) = resource.strip_prefix(&format!("{ACCOUNT_ID}:")) else {
        return Err(other_account(arn, action));
    };
    match resource.strip_prefix("table/") {
        Some(name) if !name.contains('/') && validate_table_name(name, "resourceArn").is_ok() => Ok(name.to_string()),
        Some(name) if !name.contains('/') => Err(ApiError::new(
            ErrorKind::ResourceNotFound,
            format!("Requested resource not found: ResourcArn: {arn} not found"),
        )),
        _ => Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {arn}"
        ))),
    }
}

/// Another account's resource: DynamoDB answers AccessDeniedException, as
/// IAM does for a cross-account call no resource-based policy allows
/// (real AWS, conformance suite tier2 tags/basic). Meridian serves one
/// account, so no policy can allow it; the caller is named as the account.
fn other_account(arn: &str, action: &str) -> ApiError {
    ApiError::new(
        ErrorKind::AccessDenied,
        format!(
            "User: arn:aws:iam::{ACCOUNT_ID}:root is not authorized to perform: {action} on resource: {arn} \
             because no resource-based policy allows the {action} action"
        ),
    )
}

fn not_found_arn(arn: &str) -> impl Fn(EngineError) -> ApiError + '_ {
    move |e| match e {
        EngineError::TableNotFound(_) => ApiError::new(
            ErrorKind::ResourceNotFound,
            format!("Requested resource not found: ResourcArn: {arn} not found"),
        ),
        other => other.into(),
    }
}

/// TagResource.
pub async fn handle_tag_resource(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let arn = req.str("ResourceArn")?;
    let table = table_from_arn(engine, arn, "dynamodb:TagResource")?;
    let tags = parse_tags(req.opt_array("Tags")?.ok_or_else(|| ApiError::missing("tags"))?)?;
    if tags.is_empty() {
        return Err(ApiError::validation("Atleast one Tag needs to be provided as Input."));
    }
    let update = TableUpdate {
        tags: TagUpdate {
            add: tags,
            remove: Vec::new(),
        },
        ..TableUpdate::default()
    };
    engine.update_table(table, update).await.map_err(not_found_arn(arn))?;
    Ok(json!({}))
}

/// UntagResource.
pub async fn handle_untag_resource(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let arn = req.str("ResourceArn")?;
    let table = table_from_arn(engine, arn, "dynamodb:UntagResource")?;
    let keys = req.opt_array("TagKeys")?.ok_or_else(|| ApiError::missing("tagKeys"))?;
    let remove: Vec<String> = keys.iter().filter_map(|k| k.as_str().map(str::to_string)).collect();
    if remove.is_empty() {
        return Err(ApiError::validation(
            "Atleast one Tag Key needs to be provided as Input.",
        ));
    }
    let update = TableUpdate {
        tags: TagUpdate {
            add: Default::default(),
            remove,
        },
        ..TableUpdate::default()
    };
    engine.update_table(table, update).await.map_err(not_found_arn(arn))?;
    Ok(json!({}))
}

/// ListTagsOfResource.
pub async fn handle_list_tags(engine: &Engine, req: Request) -> Result<Value, ApiError> {
    let arn = req.str("ResourceArn")?;
    let table = table_from_arn(engine, arn, "dynamodb:ListTagsOfResource")?;
    let meta = engine.describe_table(table).await.map_err(not_found_arn(arn))?;
    let tags: Vec<Value> = meta.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    Ok(json!({ "Tags": tags }))
}
