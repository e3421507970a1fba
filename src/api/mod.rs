//! The DynamoDB JSON 1.0 HTTP API: `POST /` with `X-Amz-Target`, parsed once
//! into an `Operation` and dispatched to one `handle_*` per operation.
//! Responses carry `x-amz-crc32` (the SDKs check it) and a request id.

mod account;
mod admin;
mod auth_hook;
mod backups;
mod capacity;
mod connections;
mod console;
pub mod drill_store;
mod drills;
pub mod error;
mod exports;
mod expressions;
mod global_tables;
mod http;
mod imports;
mod indexes;
mod insights;
mod items;
mod on_demand;
mod partiql;
mod partiql_txn;
mod policies;
mod query;
mod request;
pub mod settings;
mod shapes;
mod state;
mod streams;
mod table_settings;
mod tables;
mod throttle;
mod transactions;
mod ttl;
mod unsupported;
mod up_control;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::Value;
use tracing::Instrument;

use error::{ApiError, ErrorKind};
pub use policies::load as load_resource_policies;
use request::Request;
pub use state::ApiState;

/// Declares the operations once, as `Variant => Service "WireName"`: the
/// `Operation` enum, its wire names, its `X-Amz-Target` parsing and the list
/// of all of them come from this one list, and `dispatch` matches every
/// variant, so an operation listed without a handler does not compile.
macro_rules! operations {
    ($($variant:ident => $service:ident $wire:literal,)+) => {
        /// Every DynamoDB operation Meridian answers.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Operation {
            $(
                #[doc = concat!("`", $wire, "`.")]
                $variant,
            )+
        }

        impl Operation {
            /// Every operation, in the order they are declared.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant,)+];

            /// The operation's name as DynamoDB spells it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Operation::$variant => $wire,)+
                }
            }

            /// The API the operation belongs to (its `X-Amz-Target` prefix).
            pub fn service(self) -> Service {
                match self {
                    $(Operation::$variant => Service::$service,)+
                }
            }

            /// Parses an `X-Amz-Target` header value: the service's prefix,
            /// a dot, and the name of one of that service's operations.
            pub fn from_target(target: &str) -> Option<Operation> {
                let (prefix, name) = target.split_once('.')?;
                let service = Service::from_prefix(prefix)?;
                match (service, name) {
                    $((Service::$service, $wire) => Some(Operation::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

/// The APIs a region answers, each with its own `X-Amz-Target` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// DynamoDB itself: `DynamoDB_20120810.*`.
    Dynamo,
    /// DynamoDB Streams: `DynamoDBStreams_20120810.*`.
    Streams,
}

impl Service {
    /// The `X-Amz-Target` prefix, without the dot.
    pub fn prefix(self) -> &'static str {
        match self {
            Service::Dynamo => "DynamoDB_20120810",
            Service::Streams => "DynamoDBStreams_20120810",
        }
    }

    fn from_prefix(prefix: &str) -> Option<Service> {
        [Service::Dynamo, Service::Streams]
            .into_iter()
            .find(|s| s.prefix() == prefix)
    }
}

operations! {
    CreateTable => Dynamo "CreateTable",
    DescribeTable => Dynamo "DescribeTable",
    ListTables => Dynamo "ListTables",
    DeleteTable => Dynamo "DeleteTable",
    UpdateTable => Dynamo "UpdateTable",
    DescribeEndpoints => Dynamo "DescribeEndpoints",
    TagResource => Dynamo "TagResource",
    UntagResource => Dynamo "UntagResource",
    ListTagsOfResource => Dynamo "ListTagsOfResource",
    PutItem => Dynamo "PutItem",
    GetItem => Dynamo "GetItem",
    DeleteItem => Dynamo "DeleteItem",
    UpdateItem => Dynamo "UpdateItem",
    BatchGetItem => Dynamo "BatchGetItem",
    BatchWriteItem => Dynamo "BatchWriteItem",
    TransactWriteItems => Dynamo "TransactWriteItems",
    TransactGetItems => Dynamo "TransactGetItems",
    Query => Dynamo "Query",
    Scan => Dynamo "Scan",
    ExecuteStatement => Dynamo "ExecuteStatement",
    BatchExecuteStatement => Dynamo "BatchExecuteStatement",
    ExecuteTransaction => Dynamo "ExecuteTransaction",
    UpdateContinuousBackups => Dynamo "UpdateContinuousBackups",
    DescribeContinuousBackups => Dynamo "DescribeContinuousBackups",
    RestoreTableToPointInTime => Dynamo "RestoreTableToPointInTime",
    CreateBackup => Dynamo "CreateBackup",
    DescribeBackup => Dynamo "DescribeBackup",
    ListBackups => Dynamo "ListBackups",
    DeleteBackup => Dynamo "DeleteBackup",
    RestoreTableFromBackup => Dynamo "RestoreTableFromBackup",
    ExportTableToPointInTime => Dynamo "ExportTableToPointInTime",
    DescribeExport => Dynamo "DescribeExport",
    ListExports => Dynamo "ListExports",
    ImportTable => Dynamo "ImportTable",
    DescribeImport => Dynamo "DescribeImport",
    ListImports => Dynamo "ListImports",
    UpdateTimeToLive => Dynamo "UpdateTimeToLive",
    DescribeTimeToLive => Dynamo "DescribeTimeToLive",
    DescribeLimits => Dynamo "DescribeLimits",
    ListGlobalTables => Dynamo "ListGlobalTables",
    DescribeGlobalTable => Dynamo "DescribeGlobalTable",
    DescribeGlobalTableSettings => Dynamo "DescribeGlobalTableSettings",
    DescribeTableReplicaAutoScaling => Dynamo "DescribeTableReplicaAutoScaling",
    DescribeContributorInsights => Dynamo "DescribeContributorInsights",
    ListContributorInsights => Dynamo "ListContributorInsights",
    UpdateContributorInsights => Dynamo "UpdateContributorInsights",
    DescribeKinesisStreamingDestination => Dynamo "DescribeKinesisStreamingDestination",
    EnableKinesisStreamingDestination => Dynamo "EnableKinesisStreamingDestination",
    DisableKinesisStreamingDestination => Dynamo "DisableKinesisStreamingDestination",
    UpdateKinesisStreamingDestination => Dynamo "UpdateKinesisStreamingDestination",
    PutResourcePolicy => Dynamo "PutResourcePolicy",
    GetResourcePolicy => Dynamo "GetResourcePolicy",
    DeleteResourcePolicy => Dynamo "DeleteResourcePolicy",
    ListStreams => Streams "ListStreams",
    DescribeStream => Streams "DescribeStream",
    GetShardIterator => Streams "GetShardIterator",
    GetRecords => Streams "GetRecords",
}

/// The router for one region's API.
pub fn router(state: Arc<ApiState>) -> Router {
    let guard = axum::middleware::from_fn_with_state(state.clone(), auth_hook::guard_admin);
    Router::new()
        .route("/status", get(admin::handle_status))
        .route("/metrics", get(admin::handle_metrics))
        .route("/admin/conflicts", get(admin::handle_conflicts))
        .route("/admin/links", get(admin::handle_links).post(admin::handle_set_link))
        .route("/admin/clock", get(admin::handle_clock).post(admin::handle_set_clock))
        .route("/admin/pitr", get(backups::handle_admin_status))
        .route("/admin/regions", get(up_control::handle_regions))
        .route("/admin/drills", get(drills::handle_list).post(drills::handle_add))
        .route("/admin/drills/{id}", get(drills::handle_get))
        .route(
            "/admin/regions/{name}/{action}",
            post(up_control::handle_region_command),
        )
        .route_layer(guard)
        .route("/", post(handle).get(handle_health))
        .route("/console", get(console::handle_page))
        .route("/console/console.js", get(console::handle_script))
        .route("/console/console.css", get(console::handle_style))
        .with_state(state)
}

/// Serves the API on `listener` within the `[connections]` limits (see
/// `connections`), over TLS when the state has a TLS configuration, until
/// `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<ApiState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = connections::ConnectionLimits::new(&state.config.connections, state.config.limits.max_request_bytes);
    let region = state.engine.region().to_string();
    let tls = state.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    connections::serve(listener, router(state), limits, region, tls, shutdown).await
}

/// Takes the whole request rather than a `HeaderMap` extractor, which would
/// copy every header of every request to read one.
async fn handle(State(state): State<Arc<ApiState>>, request: axum::extract::Request) -> Response {
    let id = state.requests.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("{:016X}{:016X}", crc32fast::hash(state.engine.region().as_bytes()), id);
    let (parts, body) = request.into_parts();
    let operation = operation(&parts.headers);
    let negotiation = http::Negotiation::from_headers(&parts.headers);
    let signed = auth_hook::capture(&state, &parts);
    // The header values are slices of hyper's read buffer: let go of them
    // before the request is served, so that hyper reads the connection's
    // next request into the same buffer rather than allocating another.
    // (While a write waited for its group, that allocation took about 3% of
    // the CPU in a profile under PutItem.)
    drop(parts);
    let started = std::time::Instant::now();
    let (operation, result) = match operation {
        Ok(operation) => (
            Some(operation),
            handle_operation(&state, operation, &negotiation, body, signed).await,
        ),
        Err(error) => (None, Err(error)),
    };
    let name = operation.map(|o| o.name()).unwrap_or("Unknown");
    let outcome = match &result {
        Ok(_) => {
            state.metrics.observe_latency(name, started.elapsed());
            "ok"
        }
        Err(error) => error.kind.wire_type().rsplit('#').next().unwrap_or("error"),
    };
    let server_error = result.as_ref().is_err_and(|e| e.kind.status().is_server_error());
    state.metrics.count_request(name, outcome, server_error);
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(error) => (error.kind.status(), error.body()),
    };
    json_response(status, &body, &request_id, negotiation.response_coding)
}

/// `GET /`: the health check load balancers and tools call.
async fn handle_health(State(state): State<Arc<ApiState>>) -> Response {
    http::health(state.engine.region())
}

/// The operation `X-Amz-Target` names. An operation of DynamoDB's API that
/// Meridian does not serve gets an UnknownOperationException saying so
/// (the error tools already handle for operations an endpoint lacks, e.g.
/// against DynamoDB Local), rather than "unknown operation".
fn operation(headers: &HeaderMap) -> Result<Operation, ApiError> {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    Operation::from_target(target).ok_or_else(|| match target.split_once('.') {
        Some((prefix, name)) if shapes::is_api_operation(prefix, name) => ApiError::new(
            ErrorKind::UnknownOperation,
            format!("Meridian does not support the {name} operation"),
        ),
        _ => ApiError::new(ErrorKind::UnknownOperation, format!("Unknown operation: {target}")),
    })
}

async fn handle_operation(
    state: &ApiState,
    operation: Operation,
    negotiation: &http::Negotiation,
    body: Body,
    signed: auth_hook::Captured,
) -> Result<Value, ApiError> {
    let limit = state.config.limits.max_request_bytes;
    let bytes = http_body_util::Limited::new(body, limit).collect().await.map_err(|_| {
        ApiError::new(
            ErrorKind::RequestTooLarge,
            format!("Request size exceeded {limit} bytes"),
        )
    })?;
    let bytes = bytes.to_bytes();
    // The signature covers the body as sent (compressed, if it is).
    let user = auth_hook::authenticate(state, signed, &bytes)?;
    let bytes = http::decode_body(&negotiation.request_codings, bytes, limit).await?;
    let mut request = match operation {
        Operation::PutItem if !auth_hook::reads_items(state, user.as_deref()) => {
            Request::parse_with_item(&bytes, "Item")?
        }
        _ => Request::parse(&bytes)?,
    };
    shapes::check_request(operation.service().prefix(), operation.name(), request.body_mut())?;
    auth_hook::authorize(state, user.as_deref(), operation, &request)?;
    let span = tracing::debug_span!("request", region = %state.engine.region(), op = ?operation);
    dispatch(state, operation, request).instrument(span).await
}

/// Every operation to its handler. No arm is a wildcard: an operation
/// added to `operations!` without a handler here is a compile error.
async fn dispatch(state: &ApiState, operation: Operation, req: Request) -> Result<Value, ApiError> {
    let engine = &state.engine;
    let capacity = &state.capacity;
    let settings = &state.settings;
    let stream_config = &state.config.streams;
    match operation {
        Operation::CreateTable => {
            policies::handle_create_table(engine, &state.config, settings, state.auth.as_deref(), req).await
        }
        Operation::DescribeTable => tables::handle_describe_table(engine, req).await,
        Operation::ListTables => tables::handle_list_tables(engine, req).await,
        Operation::DeleteTable => tables::handle_delete_table(engine, req).await,
        Operation::UpdateTable => {
            tables::handle_update_table(engine, &state.config, &state.regions, capacity, req).await
        }
        Operation::DescribeEndpoints => Ok(tables::handle_describe_endpoints(&state.endpoint)),
        Operation::TagResource => tables::handle_tag_resource(engine, req).await,
        Operation::UntagResource => tables::handle_untag_resource(engine, req).await,
        Operation::ListTagsOfResource => tables::handle_list_tags(engine, req).await,
        Operation::PutItem => items::handle_put_item(engine, capacity, req).await,
        Operation::GetItem => items::handle_get_item(engine, capacity, req).await,
        Operation::DeleteItem => items::handle_delete_item(engine, capacity, req).await,
        Operation::UpdateItem => items::handle_update_item(engine, capacity, req).await,
        Operation::BatchGetItem => items::handle_batch_get_item(engine, capacity, req).await,
        Operation::BatchWriteItem => items::handle_batch_write_item(engine, capacity, req).await,
        Operation::TransactWriteItems => transactions::handle_transact_write_items(engine, capacity, req).await,
        Operation::TransactGetItems => transactions::handle_transact_get_items(engine, capacity, req).await,
        Operation::Query => query::handle_query(engine, capacity, req).await,
        Operation::Scan => query::handle_scan(engine, capacity, req).await,
        Operation::ExecuteStatement => partiql::handle_execute_statement(engine, capacity, req).await,
        Operation::BatchExecuteStatement => partiql::handle_batch_execute_statement(engine, capacity, req).await,
        Operation::ExecuteTransaction => partiql_txn::handle_execute_transaction(engine, capacity, req).await,
        Operation::UpdateContinuousBackups => backups::handle_update_continuous_backups(pitr(state)?, req).await,
        Operation::DescribeContinuousBackups => backups::handle_describe_continuous_backups(pitr(state)?, req).await,
        Operation::RestoreTableToPointInTime => backups::handle_restore_to_point_in_time(pitr(state)?, req).await,
        Operation::CreateBackup => backups::handle_create_backup(pitr(state)?, req).await,
        Operation::DescribeBackup => backups::handle_describe_backup(pitr(state)?, req).await,
        Operation::ListBackups => backups::handle_list_backups(pitr(state)?, req).await,
        Operation::DeleteBackup => backups::handle_delete_backup(pitr(state)?, req).await,
        Operation::RestoreTableFromBackup => backups::handle_restore_from_backup(pitr(state)?, req).await,
        Operation::ExportTableToPointInTime => exports::handle_export(pitr(state)?, req).await,
        Operation::DescribeExport => exports::handle_describe_export(pitr(state)?, req).await,
        Operation::ListExports => exports::handle_list_exports(pitr(state)?, req).await,
        Operation::ImportTable => imports::handle_import_table(pitr(state)?, req).await,
        Operation::DescribeImport => imports::handle_describe_import(pitr(state)?, req).await,
        Operation::ListImports => imports::handle_list_imports(pitr(state)?, req).await,
        Operation::UpdateTimeToLive => ttl::handle_update_time_to_live(engine, req).await,
        Operation::DescribeTimeToLive => ttl::handle_describe_time_to_live(engine, req).await,
        Operation::DescribeLimits => Ok(account::handle_describe_limits()),
        Operation::ListGlobalTables => global_tables::handle_list_global_tables(req),
        Operation::DescribeGlobalTable | Operation::DescribeGlobalTableSettings => {
            global_tables::handle_describe_global_table(req)
        }
        Operation::DescribeTableReplicaAutoScaling => {
            global_tables::handle_describe_table_replica_auto_scaling(engine, req).await
        }
        Operation::DescribeContributorInsights => {
            insights::handle_describe_contributor_insights(engine, settings, req).await
        }
        Operation::ListContributorInsights => insights::handle_list_contributor_insights(engine, settings, req).await,
        Operation::UpdateContributorInsights => {
            insights::handle_update_contributor_insights(engine, settings, req).await
        }
        Operation::DescribeKinesisStreamingDestination => {
            insights::handle_describe_kinesis_streaming_destination(engine, req).await
        }
        Operation::EnableKinesisStreamingDestination
        | Operation::DisableKinesisStreamingDestination
        | Operation::UpdateKinesisStreamingDestination => {
            insights::handle_change_kinesis_streaming_destination(engine, req).await
        }
        Operation::PutResourcePolicy => {
            policies::handle_put_resource_policy(engine, settings, state.auth.as_deref(), req).await
        }
        Operation::GetResourcePolicy => policies::handle_get_resource_policy(engine, settings, req).await,
        Operation::DeleteResourcePolicy => {
            policies::handle_delete_resource_policy(engine, settings, state.auth.as_deref(), req).await
        }
        Operation::ListStreams => streams::handle_list_streams(engine, stream_config, req).await,
        Operation::DescribeStream => streams::handle_describe_stream(engine, stream_config, req).await,
        Operation::GetShardIterator => streams::handle_get_shard_iterator(engine, stream_config, req).await,
        Operation::GetRecords => streams::handle_get_records(engine, stream_config, req).await,
    }
}

/// The region's point-in-time recovery, which the PITR, backup and export
/// operations need.
fn pitr(state: &ApiState) -> Result<&crate::pitr::Pitr, ApiError> {
    state.pitr.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorKind::InternalServerError,
            "Point-in-time recovery is not running in this region",
        )
    })
}

/// A JSON response, compressed with `coding` when it is large, with the
/// `x-amz-crc32` of the bytes sent (the SDKs check it on the bytes as
/// received, before inflating them).
fn json_response(status: StatusCode, body: &Value, request_id: &str, coding: Option<http::Coding>) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let (bytes, coding) = http::encode_body(bytes, coding);
    let crc = crc32fast::hash(&bytes);
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    headers.insert("x-amz-crc32", HeaderValue::from(crc));
    http::set_content_encoding(headers, coding);
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_round_trips_through_its_target() {
        for &operation in Operation::ALL {
            let target = format!("{}.{}", operation.service().prefix(), operation.name());
            assert_eq!(Operation::from_target(&target), Some(operation), "{target}");
        }
    }

    #[test]
    fn every_operation_is_in_the_api_reference() {
        for &operation in Operation::ALL {
            let prefix = operation.service().prefix();
            assert!(shapes::is_api_operation(prefix, operation.name()), "{operation:?}");
        }
    }

    #[test]
    fn wire_names_are_distinct_within_a_service() {
        for (i, a) in Operation::ALL.iter().enumerate() {
            for b in &Operation::ALL[i + 1..] {
                assert!(
                    a.service() != b.service() || a.name() != b.name(),
                    "{a:?} and {b:?} share a target"
                );
            }
        }
    }

    #[test]
    fn targets_name_a_service_and_one_of_its_operations() {
        assert_eq!(
            Operation::from_target("DynamoDB_20120810.PutItem"),
            Some(Operation::PutItem)
        );
        assert_eq!(
            Operation::from_target("DynamoDBStreams_20120810.GetRecords"),
            Some(Operation::GetRecords)
        );
        // A streams operation under DynamoDB's prefix, and the reverse.
        assert_eq!(Operation::from_target("DynamoDB_20120810.GetRecords"), None);
        assert_eq!(Operation::from_target("DynamoDBStreams_20120810.PutItem"), None);
        for target in [
            "",
            "PutItem",
            "DynamoDB_20120810",
            "DynamoDB_20120810.",
            "DynamoDB_20120810.FlyToTheMoon",
            "DynamoDB_20120810.putitem",
            "DynamoDB_20120810.PutItem.",
            "SomethingElse.PutItem",
            "DynamoDB_20111205.PutItem",
        ] {
            assert_eq!(Operation::from_target(target), None, "{target:?}");
        }
    }
}
