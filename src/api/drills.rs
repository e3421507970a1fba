//! `/admin/drills`: the reports of past drills, for the console. `meridian
//! drill` runs its own cluster and, when it is done, posts its JSON report
//! to the regions of the running cluster (see `cli/drill`), which keep them
//! (`drill_store.rs`).
//!
//! - `GET /admin/drills`: a summary of each report, newest first.
//! - `GET /admin/drills/{id}`: one report, as the drill wrote it.
//! - `POST /admin/drills`: stores a report; the same report posted again
//!   replaces itself (its id is its finishing time and the drill's name).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::drill_store::parse;
use super::state::ApiState;

/// GET /admin/drills.
pub async fn handle_list(State(state): State<Arc<ApiState>>) -> Json<Value> {
    Json(json!({ "region": state.engine.region(), "drills": state.drills.list().await }))
}

/// GET /admin/drills/{id}.
pub async fn handle_get(State(state): State<Arc<ApiState>>, Path(id): Path<String>) -> (StatusCode, Json<Value>) {
    match state.drills.get(&id).await {
        Some(report) => (StatusCode::OK, Json(report)),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no drill report {id} in this region") })),
        ),
    }
}

/// POST /admin/drills: keeps the report in the body.
pub async fn handle_add(State(state): State<Arc<ApiState>>, body: Bytes) -> (StatusCode, Json<Value>) {
    let report = match parse(&body) {
        Ok(report) => report,
        Err(error) => return (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))),
    };
    match state.drills.add(report).await {
        Ok(id) => (
            StatusCode::OK,
            Json(json!({ "region": state.engine.region(), "id": id })),
        ),
        Err(error) => {
            tracing::error!(%error, "cannot keep a drill report");
            let error = format!("cannot keep the report: {error}");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": error })))
        }
    }
}
