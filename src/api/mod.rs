//! The DynamoDB JSON 1.0 HTTP API: `POST /` with `X-Amz-Target`, parsed once
//! into an `Operation` and dispatched to one `handle_*` per operation.
//! Responses carry `x-amz-crc32` (the SDKs check it) and a request id.

mod admin;
mod backups;
mod capacity;
mod connections;
pub mod error;
mod exports;
mod expressions;
mod items;
mod query;
mod request;
mod streams;
mod tables;
mod ttl;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::Value;
use tracing::Instrument;

use crate::chaos::LinkControl;
use crate::config::NodeConfig;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::replication::status::PeerStatus;
use error::{ApiError, ErrorKind};
use request::Request;

/// What the HTTP handlers share.
pub struct ApiState {
    pub engine: Engine,
    pub config: NodeConfig,
    /// The address clients reach this region at (DescribeEndpoints).
    pub endpoint: String,
    /// Replication state, when the region has peers.
    pub peers: Option<Arc<PeerStatus>>,
    /// Every region of the topology (where replicas can be created).
    pub regions: Vec<String>,
    /// The region's metrics.
    pub metrics: Arc<Metrics>,
    /// Simulated conditions of the links leaving this region, when it has peers.
    pub links: Option<Arc<LinkControl>>,
    /// Point-in-time recovery, backups and exports (set by `Node`).
    pub pitr: Option<crate::pitr::Pitr>,
    /// What the TTL sweeper has done, when one runs (for `/status`).
    pub ttl: Option<Arc<crate::ttl::SweeperStatus>>,
    pub trimmer: Option<Arc<crate::retention::TrimmerStatus>>,
    requests: AtomicU64,
}

impl ApiState {
    /// State for serving `engine` with `config`.
    pub fn new(engine: Engine, config: NodeConfig, endpoint: String) -> ApiState {
        let regions = vec![engine.region().to_string()];
        let metrics = Arc::new(Metrics::new(engine.clone(), None));
        ApiState {
            engine,
            config,
            endpoint,
            peers: None,
            regions,
            metrics,
            links: None,
            pitr: None,
            ttl: None,
            trimmer: None,
            requests: AtomicU64::new(0),
        }
    }
}

/// Every DynamoDB operation Meridian answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateTable,
    DescribeTable,
    ListTables,
    DeleteTable,
    UpdateTable,
    DescribeEndpoints,
    TagResource,
    UntagResource,
    ListTagsOfResource,
    PutItem,
    GetItem,
    DeleteItem,
    UpdateItem,
    BatchGetItem,
    BatchWriteItem,
    Query,
    Scan,
    UpdateContinuousBackups,
    DescribeContinuousBackups,
    RestoreTableToPointInTime,
    CreateBackup,
    DescribeBackup,
    ListBackups,
    DeleteBackup,
    RestoreTableFromBackup,
    ExportTableToPointInTime,
    DescribeExport,
    ListExports,
    UpdateTimeToLive,
    DescribeTimeToLive,
    ListStreams,
    DescribeStream,
    GetShardIterator,
    GetRecords,
}

impl Operation {
    /// The operation's name as DynamoDB spells it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateTable => "CreateTable",
            Operation::DescribeTable => "DescribeTable",
            Operation::ListTables => "ListTables",
            Operation::DeleteTable => "DeleteTable",
            Operation::UpdateTable => "UpdateTable",
            Operation::DescribeEndpoints => "DescribeEndpoints",
            Operation::TagResource => "TagResource",
            Operation::UntagResource => "UntagResource",
            Operation::ListTagsOfResource => "ListTagsOfResource",
            Operation::PutItem => "PutItem",
            Operation::GetItem => "GetItem",
            Operation::DeleteItem => "DeleteItem",
            Operation::UpdateItem => "UpdateItem",
            Operation::BatchGetItem => "BatchGetItem",
            Operation::BatchWriteItem => "BatchWriteItem",
            Operation::Query => "Query",
            Operation::Scan => "Scan",
            Operation::UpdateContinuousBackups => "UpdateContinuousBackups",
            Operation::DescribeContinuousBackups => "DescribeContinuousBackups",
            Operation::RestoreTableToPointInTime => "RestoreTableToPointInTime",
            Operation::CreateBackup => "CreateBackup",
            Operation::DescribeBackup => "DescribeBackup",
            Operation::ListBackups => "ListBackups",
            Operation::DeleteBackup => "DeleteBackup",
            Operation::RestoreTableFromBackup => "RestoreTableFromBackup",
            Operation::ExportTableToPointInTime => "ExportTableToPointInTime",
            Operation::DescribeExport => "DescribeExport",
            Operation::ListExports => "ListExports",
            Operation::UpdateTimeToLive => "UpdateTimeToLive",
            Operation::DescribeTimeToLive => "DescribeTimeToLive",
            Operation::ListStreams => "ListStreams",
            Operation::DescribeStream => "DescribeStream",
            Operation::GetShardIterator => "GetShardIterator",
            Operation::GetRecords => "GetRecords",
        }
    }

    /// Parses an `X-Amz-Target` header value.
    pub fn from_target(target: &str) -> Option<Operation> {
        if let Some(name) = target.strip_prefix("DynamoDBStreams_20120810.") {
            return match name {
                "ListStreams" => Some(Operation::ListStreams),
                "DescribeStream" => Some(Operation::DescribeStream),
                "GetShardIterator" => Some(Operation::GetShardIterator),
                "GetRecords" => Some(Operation::GetRecords),
                _ => None,
            };
        }
        let name = target.strip_prefix("DynamoDB_20120810.")?;
        Some(match name {
            "CreateTable" => Operation::CreateTable,
            "DescribeTable" => Operation::DescribeTable,
            "ListTables" => Operation::ListTables,
            "DeleteTable" => Operation::DeleteTable,
            "UpdateTable" => Operation::UpdateTable,
            "DescribeEndpoints" => Operation::DescribeEndpoints,
            "TagResource" => Operation::TagResource,
            "UntagResource" => Operation::UntagResource,
            "ListTagsOfResource" => Operation::ListTagsOfResource,
            "PutItem" => Operation::PutItem,
            "GetItem" => Operation::GetItem,
            "DeleteItem" => Operation::DeleteItem,
            "UpdateItem" => Operation::UpdateItem,
            "BatchGetItem" => Operation::BatchGetItem,
            "BatchWriteItem" => Operation::BatchWriteItem,
            "Query" => Operation::Query,
            "Scan" => Operation::Scan,
            "UpdateContinuousBackups" => Operation::UpdateContinuousBackups,
            "DescribeContinuousBackups" => Operation::DescribeContinuousBackups,
            "RestoreTableToPointInTime" => Operation::RestoreTableToPointInTime,
            "CreateBackup" => Operation::CreateBackup,
            "DescribeBackup" => Operation::DescribeBackup,
            "ListBackups" => Operation::ListBackups,
            "DeleteBackup" => Operation::DeleteBackup,
            "RestoreTableFromBackup" => Operation::RestoreTableFromBackup,
            "ExportTableToPointInTime" => Operation::ExportTableToPointInTime,
            "DescribeExport" => Operation::DescribeExport,
            "ListExports" => Operation::ListExports,
            "UpdateTimeToLive" => Operation::UpdateTimeToLive,
            "DescribeTimeToLive" => Operation::DescribeTimeToLive,
            _ => return None,
        })
    }
}

/// The router for one region's API.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/", post(handle))
        .route("/status", get(admin::handle_status))
        .route("/metrics", get(admin::handle_metrics))
        .route("/admin/conflicts", get(admin::handle_conflicts))
        .route("/admin/links", get(admin::handle_links).post(admin::handle_set_link))
        .route("/admin/clock", get(admin::handle_clock).post(admin::handle_set_clock))
        .route("/admin/pitr", get(backups::handle_admin_status))
        .with_state(state)
}

/// Serves the API on `listener` within the `[connections]` limits (see
/// `connections`) until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<ApiState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = connections::ConnectionLimits::new(&state.config.connections, state.config.limits.max_request_bytes);
    let region = state.engine.region().to_string();
    connections::serve(listener, router(state), limits, region, shutdown).await
}

/// Takes the whole request rather than a `HeaderMap` extractor, which would
/// copy every header of every request to read one.
async fn handle(State(state): State<Arc<ApiState>>, request: axum::extract::Request) -> Response {
    let id = state.requests.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("{:016X}{:016X}", crc32fast::hash(state.engine.region().as_bytes()), id);
    let (parts, body) = request.into_parts();
    let operation = operation(&parts.headers);
    // The header values are slices of hyper's read buffer: let go of them
    // before the request is served, so that hyper reads the connection's
    // next request into the same buffer rather than allocating another.
    // (While a write waited for its group, that allocation took about 3% of
    // the CPU in a profile under PutItem.)
    drop(parts);
    let (operation, result) = match operation {
        Ok(operation) => (Some(operation), handle_operation(&state, operation, body).await),
        Err(error) => (None, Err(error)),
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err(error) => error.kind.wire_type().rsplit('#').next().unwrap_or("error"),
    };
    state
        .metrics
        .count_request(operation.map(|o| o.name()).unwrap_or("Unknown"), outcome);
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(error) => (error.kind.status(), error.body()),
    };
    json_response(status, &body, &request_id)
}

/// The operation `X-Amz-Target` names.
fn operation(headers: &HeaderMap) -> Result<Operation, ApiError> {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    Operation::from_target(target)
        .ok_or_else(|| ApiError::new(ErrorKind::UnknownOperation, format!("Unknown operation: {target}")))
}

async fn handle_operation(state: &ApiState, operation: Operation, body: Body) -> Result<Value, ApiError> {
    let limit = state.config.limits.max_request_bytes;
    let bytes = http_body_util::Limited::new(body, limit).collect().await.map_err(|_| {
        ApiError::new(
            ErrorKind::RequestTooLarge,
            format!("Request size exceeded {limit} bytes"),
        )
    })?;
    let request = Request::parse(&bytes.to_bytes())?;
    let span = tracing::debug_span!("request", region = %state.engine.region(), op = ?operation);
    dispatch(state, operation, request).instrument(span).await
}

async fn dispatch(state: &ApiState, operation: Operation, req: Request) -> Result<Value, ApiError> {
    let engine = &state.engine;
    match operation {
        Operation::CreateTable => tables::handle_create_table(engine, &state.config, req).await,
        Operation::DescribeTable => tables::handle_describe_table(engine, req).await,
        Operation::ListTables => tables::handle_list_tables(engine, req).await,
        Operation::DeleteTable => tables::handle_delete_table(engine, req).await,
        Operation::UpdateTable => tables::handle_update_table(engine, &state.config, &state.regions, req).await,
        Operation::DescribeEndpoints => Ok(tables::handle_describe_endpoints(&state.endpoint)),
        Operation::TagResource => tables::handle_tag_resource(engine, req).await,
        Operation::UntagResource => tables::handle_untag_resource(engine, req).await,
        Operation::ListTagsOfResource => tables::handle_list_tags(engine, req).await,
        Operation::PutItem => items::handle_put_item(engine, req).await,
        Operation::GetItem => items::handle_get_item(engine, req).await,
        Operation::DeleteItem => items::handle_delete_item(engine, req).await,
        Operation::UpdateItem => items::handle_update_item(engine, req).await,
        Operation::BatchGetItem => items::handle_batch_get_item(engine, req).await,
        Operation::BatchWriteItem => items::handle_batch_write_item(engine, req).await,
        Operation::Query => query::handle_query(engine, req).await,
        Operation::Scan => query::handle_scan(engine, req).await,
        Operation::UpdateTimeToLive => ttl::handle_update_time_to_live(engine, req).await,
        Operation::DescribeTimeToLive => ttl::handle_describe_time_to_live(engine, req).await,
        Operation::ListStreams => streams::handle_list_streams(engine, &state.config.streams, req).await,
        Operation::DescribeStream => streams::handle_describe_stream(engine, &state.config.streams, req).await,
        Operation::GetShardIterator => streams::handle_get_shard_iterator(engine, &state.config.streams, req).await,
        Operation::GetRecords => streams::handle_get_records(engine, &state.config.streams, req).await,
        _ => dispatch_pitr(state, operation, req).await,
    }
}

/// The PITR, backup and export operations.
async fn dispatch_pitr(state: &ApiState, operation: Operation, req: Request) -> Result<Value, ApiError> {
    let Some(pitr) = &state.pitr else {
        return Err(ApiError::new(
            ErrorKind::InternalServerError,
            "Point-in-time recovery is not running in this region",
        ));
    };
    match operation {
        Operation::UpdateContinuousBackups => backups::handle_update_continuous_backups(pitr, req).await,
        Operation::DescribeContinuousBackups => backups::handle_describe_continuous_backups(pitr, req).await,
        Operation::RestoreTableToPointInTime => backups::handle_restore_to_point_in_time(pitr, req).await,
        Operation::CreateBackup => backups::handle_create_backup(pitr, req).await,
        Operation::DescribeBackup => backups::handle_describe_backup(pitr, req).await,
        Operation::ListBackups => backups::handle_list_backups(pitr, req).await,
        Operation::DeleteBackup => backups::handle_delete_backup(pitr, req).await,
        Operation::RestoreTableFromBackup => backups::handle_restore_from_backup(pitr, req).await,
        Operation::ExportTableToPointInTime => exports::handle_export(pitr, req).await,
        Operation::DescribeExport => exports::handle_describe_export(pitr, req).await,
        Operation::ListExports => exports::handle_list_exports(pitr, req).await,
        other => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!("Unknown operation: {}", other.name()),
        )),
    }
}

fn json_response(status: StatusCode, body: &Value, request_id: &str) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let crc = crc32fast::hash(&bytes);
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    headers.insert("x-amz-crc32", HeaderValue::from(crc));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
