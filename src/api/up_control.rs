//! `/admin/regions`: the regions of the topology, and for a region that
//! `meridian up` runs, its region commands (stop, kill, start, pause)
//! passed on to `up`'s control endpoint. The console cannot call that
//! endpoint itself: it is another origin, and its gate refuses requests
//! from web pages. Here the request has already passed this region's admin
//! gate, and is sent on from this process, on loopback, with no `Origin`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::{Value, json};

use super::state::ApiState;

/// The commands passed on; `wipe` (which deletes a region's data) stays
/// with the command line.
const ACTIONS: [&str; 4] = ["stop", "kill", "start", "pause"];

/// How long `up` may take to carry out a command: a stop waits up to its
/// supervisor's stop timeout (15 s) before it kills.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// GET /admin/regions: the topology's regions, and whether region commands
/// can be sent from here.
pub async fn handle_regions(State(state): State<Arc<ApiState>>) -> Json<Value> {
    Json(json!({
        "region": state.engine.region(),
        "regions": state.regions,
        "up_control": state.up_control.is_some(),
        "actions": ACTIONS,
    }))
}

/// POST /admin/regions/{name}/{action}: passes the command to `meridian
/// up` and answers with what it said (`message`, or `error`).
pub async fn handle_region_command(
    State(state): State<Arc<ApiState>>,
    Path((name, action)): Path<(String, String)>,
) -> (StatusCode, Json<Value>) {
    let Some(control) = state.up_control else {
        let error = "this region does not run under `meridian up`: start, stop and pause it where it runs";
        return (StatusCode::CONFLICT, Json(json!({ "error": error })));
    };
    if !ACTIONS.contains(&action.as_str()) {
        let error = format!("unknown action {action}: use {}", ACTIONS.join(", "));
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": error })));
    }
    if !state.regions.contains(&name) {
        let error = format!("no region {name} in this cluster");
        return (StatusCode::NOT_FOUND, Json(json!({ "error": error })));
    }
    let path = format!("/regions/{name}/{action}");
    match tokio::time::timeout(COMMAND_TIMEOUT, post(control, &path)).await {
        Ok(Ok((status, answer))) => {
            tracing::info!(region = %state.engine.region(), target = %name, %action, %status, "region command passed to meridian up");
            (status, Json(answer))
        }
        Ok(Err(error)) => {
            let error = format!("`meridian up` does not answer at {control}: {error}");
            (StatusCode::BAD_GATEWAY, Json(json!({ "error": error })))
        }
        Err(_) => {
            let error = format!("`meridian up` did not carry out {action} within {COMMAND_TIMEOUT:?}");
            (StatusCode::GATEWAY_TIMEOUT, Json(json!({ "error": error })))
        }
    }
}

/// POSTs an empty body to `path` at `addr` over one HTTP/1.1 connection.
async fn post(addr: SocketAddr, path: &str) -> Result<(StatusCode, Value), Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    let answer = serde_json::from_slice(&body).unwrap_or_else(|_| json!({ "error": "`meridian up` answered no JSON" }));
    Ok((status, answer))
}
