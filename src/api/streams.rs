//! The DynamoDB Streams API (`DynamoDBStreams_20120810.*` on the same
//! endpoint): ListStreams, DescribeStream, GetShardIterator, GetRecords,
//! and the stream parts of CreateTable, UpdateTable and DescribeTable.

use serde_json::{Value, json};

use super::error::ApiError;
use super::request::{Request, validate_table_name};
use crate::config::StreamsConfig;
use crate::engine::{Engine, NewStream, StreamUpdate};
use crate::ids::Seq;
use crate::model::table_features::{StreamState, StreamViewType};
use crate::model::{Item, TableMeta, item_size, item_to_json};
use crate::store::{ChangeCause, ItemChange};
use crate::streams::{IteratorStart, Streams, parse_sequence_number, sequence_number, shard_id, stream_arn};

/// Most streams one ListStreams page returns, and its default.
const MAX_LIST_STREAMS: i64 = 100;
/// Most shards one DescribeStream page returns, and its default.
const MAX_DESCRIBE_SHARDS: i64 = 100;
/// Most records one GetRecords call returns, and its default.
const MAX_GET_RECORDS: i64 = 1000;

/// What a StreamSpecification asks for.
pub enum StreamRequest {
    Enable(StreamViewType),
    Disable,
}

/// Parses `StreamSpecification` (CreateTable, UpdateTable).
pub fn parse_stream_specification(req: &Request) -> Result<Option<StreamRequest>, ApiError> {
    let Some(spec) = req.opt_object("StreamSpecification")? else {
        return Ok(None);
    };
    let enabled = match spec.get("StreamEnabled") {
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::serialization(
                "STRING_VALUE can not be converted to a Boolean",
            ));
        }
        None => return Err(ApiError::missing("streamSpecification.streamEnabled")),
    };
    let view = spec.get("StreamViewType").and_then(Value::as_str);
    if !enabled {
        if view.is_some() {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Disabling streams while specifying a StreamViewType is not allowed",
            ));
        }
        return Ok(Some(StreamRequest::Disable));
    }
    let Some(view) = view else {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: Enabled streams must specify a StreamViewType",
        ));
    };
    let view_type = StreamViewType::parse(view).ok_or_else(|| {
        ApiError::constraint(
            &format!("'{view}'"),
            "streamSpecification.streamViewType",
            "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]",
        )
    })?;
    Ok(Some(StreamRequest::Enable(view_type)))
}

/// Parses CreateTable's `StreamSpecification`: as UpdateTable's, but a
/// disabled stream with a view type has a message of its own.
pub fn parse_stream_for_create(req: &Request) -> Result<Option<StreamRequest>, ApiError> {
    let disabled_with_view = req.opt_object("StreamSpecification")?.is_some_and(|spec| {
        spec.get("StreamEnabled") == Some(&Value::Bool(false))
            && spec.get("StreamViewType").is_some_and(|v| !v.is_null())
    });
    if disabled_with_view {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: Table is being created with a stream disabled, UpdateViewType should not be specified",
        ));
    }
    parse_stream_specification(req)
}

/// The stream a CreateTable asks for.
pub fn stream_for_create(spec: Option<StreamRequest>, config: &StreamsConfig) -> Option<NewStream> {
    match spec {
        Some(StreamRequest::Enable(view_type)) => Some(NewStream {
            view_type,
            shard_span: config.shard_log_span,
            retention_ms: config.retention_secs.saturating_mul(1000),
        }),
        _ => None,
    }
}

/// The change an UpdateTable StreamSpecification asks of the table.
pub fn stream_update(request: StreamRequest, config: &StreamsConfig) -> StreamUpdate {
    match request {
        StreamRequest::Enable(view_type) => StreamUpdate::Enable(NewStream {
            view_type,
            shard_span: config.shard_log_span,
            retention_ms: config.retention_secs.saturating_mul(1000),
        }),
        StreamRequest::Disable => StreamUpdate::Disable,
    }
}

/// Adds StreamSpecification, LatestStreamArn and LatestStreamLabel to a
/// TableDescription.
pub fn describe_stream_fields(description: &mut Value, meta: &TableMeta, region: &str) {
    let Some(stream) = &meta.stream else { return };
    description["LatestStreamArn"] = json!(stream_arn(region, &meta.name, &stream.label));
    description["LatestStreamLabel"] = json!(stream.label);
    description["StreamSpecification"] = if stream.enabled {
        json!({"StreamEnabled": true, "StreamViewType": stream.view_type.as_str()})
    } else {
        json!({"StreamEnabled": false})
    };
}

fn stream_arn_param(req: &Request) -> Result<&str, ApiError> {
    let arn = req.str("StreamArn")?;
    if !(37..=1024).contains(&arn.len()) {
        return Err(ApiError::constraint(
            &format!("'{arn}'"),
            "streamArn",
            "Member must have length greater than or equal to 37",
        ));
    }
    Ok(arn)
}

/// A shard id member: 28 to 65 characters (the model's ShardId), checked
/// before any stream is looked up, as DynamoDB does.
fn check_shard_id<'a>(id: &'a str, member: &str) -> Result<&'a str, ApiError> {
    check_length(id, member, 28, 65)
}

/// A member's length against the model's bounds, with its constraint message.
fn check_length<'a>(text: &'a str, member: &str, min: usize, max: usize) -> Result<&'a str, ApiError> {
    let constraint = match text.chars().count() {
        n if n < min => format!("Member must have length greater than or equal to {min}"),
        n if n > max => format!("Member must have length less than or equal to {max}"),
        _ => return Ok(text),
    };
    Err(ApiError::constraint(&format!("'{text}'"), member, &constraint))
}

fn limit_param(req: &Request, max: i64) -> Result<usize, ApiError> {
    Ok(req.opt_i64_in("Limit", "limit", 1..=max)?.unwrap_or(max) as usize)
}

/// ListStreams, paginated by ExclusiveStartStreamArn / LastEvaluatedStreamArn.
pub async fn handle_list_streams(engine: &Engine, config: &StreamsConfig, req: Request) -> Result<Value, ApiError> {
    let table = match req.opt_str("TableName")? {
        Some(name) => {
            validate_table_name(name, "tableName")?;
            Some(name.to_string())
        }
        None => None,
    };
    let limit = limit_param(&req, MAX_LIST_STREAMS)?;
    let start = req
        .opt_str("ExclusiveStartStreamArn")?
        .map(|arn| check_length(arn, "exclusiveStartStreamArn", 37, 1024))
        .transpose()?;
    let streams = Streams::new(engine, config).list(table).await?;
    let page: Vec<_> = streams
        .iter()
        .filter(|(arn, _, _)| start.is_none_or(|s| arn.as_str() > s))
        .collect();
    let more = page.len() > limit;
    let page = &page[..page.len().min(limit)];
    let list: Vec<Value> = page
        .iter()
        .map(|(arn, meta, stream)| json!({"StreamArn": arn, "TableName": meta.name, "StreamLabel": stream.label}))
        .collect();
    let mut body = json!({ "Streams": list });
    if more && let Some((arn, _, _)) = page.last() {
        body["LastEvaluatedStreamArn"] = json!(arn);
    }
    Ok(body)
}

/// The parent shard of DescribeStream's `ShardFilter` (whose one `Type`
/// is CHILD_SHARDS), if the request has one.
fn child_shards_of(req: &Request) -> Result<Option<&str>, ApiError> {
    let Some(filter) = req.opt_object("ShardFilter")? else {
        return Ok(None);
    };
    match filter.get("Type").and_then(Value::as_str) {
        Some("CHILD_SHARDS") => {}
        Some(other) => {
            return Err(ApiError::constraint(
                &format!("'{other}'"),
                "shardFilter.type",
                "Member must satisfy enum value set: [CHILD_SHARDS]",
            ));
        }
        None => return Err(ApiError::missing("shardFilter.type")),
    }
    let parent = filter
        .get("ShardId")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing("shardFilter.shardId"))?;
    Ok(Some(check_shard_id(parent, "shardFilter.shardId")?))
}

/// DescribeStream, with shards paginated by ExclusiveStartShardId.
pub async fn handle_describe_stream(engine: &Engine, config: &StreamsConfig, req: Request) -> Result<Value, ApiError> {
    let arn = stream_arn_param(&req)?;
    let limit = limit_param(&req, MAX_DESCRIBE_SHARDS)?;
    let after = req
        .opt_str("ExclusiveStartShardId")?
        .map(|id| check_shard_id(id, "exclusiveStartShardId"))
        .transpose()?;
    let streams = Streams::new(engine, config);
    let view = match child_shards_of(&req)? {
        Some(parent) => streams.child_shards(arn, parent).await?,
        None => streams.describe(arn, after, limit).await?,
    };
    let (meta, stream) = (&view.meta, &view.stream);
    let shards: Vec<Value> = view
        .shards
        .iter()
        .map(|shard| {
            let mut range = json!({ "StartingSequenceNumber": sequence_number(shard.first) });
            if let Some(last) = shard.last {
                range["EndingSequenceNumber"] = json!(sequence_number(last));
            }
            let mut out = json!({
                "ShardId": shard_id(&meta.name, stream, shard.first),
                "SequenceNumberRange": range,
            });
            if shard.index > 0 {
                out["ParentShardId"] = json!(shard_id(&meta.name, stream, shard.first - stream.shard_span));
            }
            out
        })
        .collect();
    let mut key_schema = vec![json!({"AttributeName": meta.key_schema.hash.name, "KeyType": "HASH"})];
    if let Some(range) = &meta.key_schema.range {
        key_schema.push(json!({"AttributeName": range.name, "KeyType": "RANGE"}));
    }
    let mut description = json!({
        "StreamArn": view.arn,
        "StreamLabel": stream.label,
        "StreamStatus": if stream.enabled { "ENABLED" } else { "DISABLED" },
        "StreamViewType": stream.view_type.as_str(),
        "CreationRequestDateTime": stream.created_ms as f64 / 1000.0,
        "TableName": meta.name,
        "KeySchema": key_schema,
        "Shards": shards,
    });
    if let Some(last) = view.more_after {
        description["LastEvaluatedShardId"] = json!(last);
    }
    Ok(json!({ "StreamDescription": description }))
}

/// GetShardIterator.
pub async fn handle_get_shard_iterator(
    engine: &Engine,
    config: &StreamsConfig,
    req: Request,
) -> Result<Value, ApiError> {
    let arn = stream_arn_param(&req)?;
    let shard = check_shard_id(req.str("ShardId")?, "shardId")?;
    let kind = req.str("ShardIteratorType")?;
    let sequence = || -> Result<Seq, ApiError> {
        let text = req.opt_str("SequenceNumber")?.ok_or_else(|| {
            ApiError::validation(format!("A SequenceNumber is required for ShardIteratorType {kind}"))
        })?;
        parse_sequence_number(text).ok_or_else(|| ApiError::validation(format!("Invalid SequenceNumber: {text}")))
    };
    let start = match kind {
        "TRIM_HORIZON" => IteratorStart::TrimHorizon,
        "LATEST" => IteratorStart::Latest,
        "AT_SEQUENCE_NUMBER" => IteratorStart::AtSequence(sequence()?),
        "AFTER_SEQUENCE_NUMBER" => IteratorStart::AfterSequence(sequence()?),
        other => {
            return Err(ApiError::constraint(
                &format!("'{other}'"),
                "shardIteratorType",
                "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
            ));
        }
    };
    let token = Streams::new(engine, config).shard_iterator(arn, shard, start).await?;
    Ok(json!({ "ShardIterator": token }))
}

/// GetRecords.
pub async fn handle_get_records(engine: &Engine, config: &StreamsConfig, req: Request) -> Result<Value, ApiError> {
    let token = req.str("ShardIterator")?;
    if token.is_empty() || token.len() > 2048 {
        return Err(ApiError::constraint(
            "'***'",
            "shardIterator",
            "Member must have length less than or equal to 2048",
        ));
    }
    let limit = limit_param(&req, MAX_GET_RECORDS)?;
    let page = Streams::new(engine, config).records(token, limit).await?;
    let region = engine.region();
    let records: Vec<Value> = page
        .changes
        .iter()
        .map(|(seq, change)| record(region, &page.meta, &page.stream, *seq, change))
        .collect();
    let mut body = json!({ "Records": records });
    if let Some(next) = page.next {
        body["NextShardIterator"] = json!(next);
    }
    Ok(body)
}

/// One stream record in the Streams API's shape.
fn record(region: &str, meta: &TableMeta, stream: &StreamState, seq: Seq, change: &ItemChange) -> Value {
    let event = match (&change.old, &change.new) {
        (None, _) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
    };
    let image = change.new.as_ref().or(change.old.as_ref());
    let keys: Item = image
        .map(|item| {
            meta.key_schema
                .names()
                .filter_map(|name| item.get(name).map(|v| (name.to_string(), v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut size = item_size(&keys);
    let mut data = json!({
        "ApproximateCreationDateTime": change.version.ts.wall_ns / 1_000_000_000,
        "Keys": item_to_json(&keys),
        "SequenceNumber": sequence_number(seq),
        "StreamViewType": stream.view_type.as_str(),
    });
    if stream.view_type.has_new()
        && let Some(new) = &change.new
    {
        size += item_size(new);
        data["NewImage"] = item_to_json(new);
    }
    if stream.view_type.has_old()
        && let Some(old) = &change.old
    {
        size += item_size(old);
        data["OldImage"] = item_to_json(old);
    }
    data["SizeBytes"] = json!(size);
    let id = crc32fast::hash(format!("{region}/{}/{}", meta.name, stream.label).as_bytes());
    let mut out = json!({
        "eventID": format!("{id:08x}{:024x}", seq.get()),
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": change.version.region,
        "dynamodb": data,
    });
    if change.cause == ChangeCause::TimeToLive {
        out["userIdentity"] = json!({"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"});
    }
    out
}
