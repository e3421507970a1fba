//! A small JSON-over-HTTP client for the admin and control endpoints
//! (`/status`, `/admin/links`, `/admin/clock`, `meridian up`'s control), and
//! for DynamoDB requests from drills.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tokio::net::TcpStream;

/// Longest an admin request may take (a paused region never answers).
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A keep-alive HTTP/1 connection to one address.
pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Opens a connection to `addr`.
pub async fn connect(addr: &str) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Sends `method path` with an optional JSON body and extra headers on
/// `sender`; returns the status and the body parsed as JSON (`Null` if it
/// is not JSON).
pub async fn send(
    sender: &mut Sender,
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut builder = hyper::Request::builder().method(method).uri(path).header("host", addr);
    if !headers.iter().any(|(name, _)| *name == "content-type") {
        builder = builder.header("content-type", "application/json");
    }
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    sender.ready().await?;
    let response = sender.send_request(builder.body(Full::new(bytes))?).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// `send` on a new connection.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut sender = connect(addr).await?;
    send(&mut sender, addr, method, path, headers, body).await
}

/// GETs `path` from `addr` as JSON, with the admin `token` if any,
/// failing on a non-2xx status or timeout.
pub async fn get_json(addr: &str, path: &str, token: Option<&str>) -> anyhow::Result<Value> {
    admin_json(addr, "GET", path, token, None).await
}

/// POSTs JSON `body` to `path` on `addr`, with the admin `token` if any,
/// failing on a non-2xx status or timeout.
pub async fn post_json(addr: &str, path: &str, body: &Value, token: Option<&str>) -> anyhow::Result<Value> {
    admin_json(addr, "POST", path, token, Some(body)).await
}

/// An admin request: `Authorization: Bearer TOKEN` when there is a token;
/// a refusal says how to send one.
async fn admin_json(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let headers: Vec<(&str, String)> = token
        .map(|t| ("authorization", format!("Bearer {t}")))
        .into_iter()
        .collect();
    let (status, answer) = tokio::time::timeout(ADMIN_TIMEOUT, request(addr, method, path, &headers, body)).await??;
    if status == 403 && token.is_none() {
        anyhow::bail!(
            "{method} {path} on {addr}: 403 {answer}; give the admin token in {} or the node config \
             (--config FILE with admin.token_file)",
            super::locate::ADMIN_TOKEN_ENV
        );
    }
    anyhow::ensure!(
        (200..300).contains(&status),
        "{method} {path} on {addr}: {status} {answer}"
    );
    Ok(answer)
}

/// The headers of a DynamoDB JSON 1.0 request for `operation`.
pub fn dynamodb_headers(operation: &str) -> [(&'static str, String); 2] {
    [
        ("content-type", "application/x-amz-json-1.0".to_string()),
        ("x-amz-target", format!("DynamoDB_20120810.{operation}")),
    ]
}

/// Sends a DynamoDB JSON 1.0 request on a new connection; returns the
/// status and body.
pub async fn dynamodb(addr: &str, operation: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
    request(addr, "POST", "/", &dynamodb_headers(operation), Some(body)).await
}
