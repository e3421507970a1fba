//! The admin surface (`/admin/*`, `/status`, `/metrics`) answers trusted
//! networks (loopback by default) when the `Host` names an address and the
//! `Origin`, if any, is that same host; anything else needs the admin token.
//! "Not loopback" is tested honestly by configuring trusted networks that
//! exclude loopback, so that the test's own 127.0.0.1 peer is untrusted.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::TestRegion;
use meridian::config::{AdminConfig, NodeConfig, StorageConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends one request with `headers` (a `Host` among them, or none) and
/// returns its status and JSON body (`Null` when not JSON).
async fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn in_memory(admin: AdminConfig) -> NodeConfig {
    NodeConfig {
        admin,
        storage: StorageConfig {
            in_memory: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn write_private(path: &Path, text: &str, mode: u32) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

async fn clock_offset(addr: SocketAddr) -> i64 {
    let host = addr.to_string();
    let (status, body) = send(addr, "GET", "/admin/clock", &[("Host", &host)], "").await;
    assert_eq!(status, 200, "{body}");
    body["offset_ms"].as_i64().unwrap()
}

#[tokio::test]
async fn loopback_with_an_address_host_is_served() {
    let region = TestRegion::start_with(in_memory(AdminConfig::default())).await;
    let host = region.addr.to_string();
    for path in ["/status", "/metrics", "/admin/clock", "/admin/links"] {
        let (status, _) = send(region.addr, "GET", path, &[("Host", &host)], "").await;
        assert_eq!(status, 200, "{path}");
    }
    let port = region.addr.port().to_string();
    let localhost = format!("localhost:{port}");
    let (status, _) = send(region.addr, "GET", "/status", &[("Host", &localhost)], "").await;
    assert_eq!(status, 200);
    let same_origin = format!("http://{host}");
    let headers = [("Host", host.as_str()), ("Origin", same_origin.as_str())];
    let (status, body) = send(region.addr, "POST", "/admin/clock", &headers, r#"{"offset_ms": 5}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(clock_offset(region.addr).await, 5);
}

#[tokio::test]
async fn a_rebound_host_or_a_foreign_origin_is_refused() {
    let region = TestRegion::start_with(in_memory(AdminConfig::default())).await;
    let host = region.addr.to_string();
    let rebound = format!("attacker.example:{}", region.addr.port());
    // DNS rebinding: the browser sends the attacker's name as Host.
    for (method, path) in [
        ("GET", "/status"),
        ("GET", "/admin/conflicts"),
        ("POST", "/admin/clock"),
    ] {
        let (status, body) = send(
            region.addr,
            method,
            path,
            &[("Host", &rebound)],
            r#"{"offset_ms": 1000}"#,
        )
        .await;
        assert_eq!(status, 403, "{method} {path}");
        assert!(body["error"].as_str().unwrap().contains("DNS rebinding"), "{body}");
    }
    let (status, _) = send(region.addr, "GET", "/status", &[], "").await;
    assert_eq!(status, 403, "no Host at all");
    // A cross-site request from a page the user's browser shows.
    let headers = [("Host", host.as_str()), ("Origin", "http://attacker.example")];
    let (status, body) = send(region.addr, "POST", "/admin/clock", &headers, r#"{"offset_ms": 2000}"#).await;
    assert_eq!(status, 403);
    assert!(body["error"].as_str().unwrap().contains("cross-site"), "{body}");
    let link = r#"{"to": "x", "partitioned": true}"#;
    let (status, _) = send(region.addr, "POST", "/admin/links", &headers, link).await;
    assert_eq!(status, 403);
    assert_eq!(clock_offset(region.addr).await, 0, "a refused request changed nothing");
}

#[tokio::test]
async fn an_untrusted_peer_needs_the_admin_token() {
    let secrets = tempfile::tempdir().unwrap();
    let token_file = write_private(&secrets.path().join("admin-token"), "t0ken-123\n", 0o600);
    let admin = AdminConfig {
        token_file,
        // Loopback excluded: the test's own connections are untrusted.
        trusted_networks: vec!["10.0.0.0/8".into()],
    };
    let region = TestRegion::start_with(in_memory(admin)).await;
    let host = region.addr.to_string();
    for (method, path) in [
        ("GET", "/status"),
        ("GET", "/metrics"),
        ("GET", "/admin/conflicts"),
        ("POST", "/admin/clock"),
    ] {
        let (status, body) = send(region.addr, method, path, &[("Host", &host)], r#"{"offset_ms": 7}"#).await;
        assert_eq!(status, 403, "{method} {path}");
        assert!(body["error"].as_str().unwrap().contains("trusted networks"), "{body}");
        let wrong = [("Host", host.as_str()), ("Authorization", "Bearer guess")];
        let (status, _) = send(region.addr, method, path, &wrong, r#"{"offset_ms": 7}"#).await;
        assert_eq!(status, 403, "{method} {path} with a wrong token");
    }
    // With the token, from anywhere and under any name.
    let token = [("Host", "db.internal.example"), ("Authorization", "Bearer t0ken-123")];
    let (status, body) = send(region.addr, "POST", "/admin/clock", &token, r#"{"offset_ms": 7}"#).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(region.addr, "GET", "/admin/clock", &token, "").await;
    assert_eq!((status, body["offset_ms"].as_i64()), (200, Some(7)));
    // Out-of-range offsets are still refused with a 400 behind the gate.
    for offset in ["9223372036854775807", "-9223372036854775808", "1000000000000000"] {
        let body = format!(r#"{{"offset_ms": {offset}}}"#);
        let (status, _) = send(region.addr, "POST", "/admin/clock", &token, &body).await;
        assert_eq!(status, 400, "{offset}");
    }
    // The DynamoDB API itself is not behind the admin gate.
    let tables = region.client.list_tables().send().await.unwrap();
    assert!(tables.table_names().is_empty());
}

#[tokio::test]
async fn a_token_file_others_can_read_stops_the_region() {
    let secrets = tempfile::tempdir().unwrap();
    let token_file = write_private(&secrets.path().join("admin-token"), "t0ken", 0o644);
    let config = in_memory(AdminConfig {
        token_file,
        ..Default::default()
    });
    let error = common::start_refused(config).await;
    assert!(error.contains("chmod 600"), "{error}");
}

#[tokio::test]
async fn cli_commands_send_the_admin_token_from_the_environment_or_the_config() {
    let secrets = tempfile::tempdir().unwrap();
    let token_file = write_private(&secrets.path().join("admin-token"), "t0ken-123\n", 0o600);
    let region = TestRegion::start_with(in_memory(AdminConfig {
        token_file: token_file.clone(),
        // Loopback excluded: the commands' own connections are untrusted.
        trusted_networks: vec!["10.0.0.0/8".into()],
    }))
    .await;
    let topology = secrets.path().join("topology.toml");
    let region_name = common::REGION;
    std::fs::write(
        &topology,
        format!(
            "cluster = \"test\"\n[[region]]\nname = \"{region_name}\"\napi = \"{}\"\npeer = \"127.0.0.1:9\"\n",
            region.addr
        ),
    )
    .unwrap();
    let config = secrets.path().join("node.toml");
    std::fs::write(
        &config,
        format!("[admin]\ntoken_file = \"{token_file}\"\ntrusted_networks = [\"10.0.0.0/8\"]\n"),
    )
    .unwrap();
    let (topology, config) = (topology.display().to_string(), config.display().to_string());
    let home = secrets.path();

    // Without a token the region refuses, and the command says how to
    // send one.
    let (ok, out) = common::meridian_cli(&["status", "--topology", &topology], &[], home).await;
    assert!(!ok, "{out}");
    assert!(out.contains("DOWN") && out.contains("403"), "{out}");
    let (ok, out) =
        common::meridian_cli(&["clock", "skew", region_name, "5", "--topology", &topology], &[], home).await;
    assert!(!ok, "{out}");
    assert!(out.contains("MERIDIAN_ADMIN_TOKEN"), "{out}");
    // A wrong token is refused as such.
    let wrong = [("MERIDIAN_ADMIN_TOKEN", "nope")];
    let (ok, out) = common::meridian_cli(
        &["clock", "skew", region_name, "5", "--topology", &topology],
        &wrong,
        home,
    )
    .await;
    assert!(!ok && out.contains("the admin token is not valid"), "{out}");

    // From the environment.
    let right = [("MERIDIAN_ADMIN_TOKEN", "t0ken-123")];
    let (ok, out) = common::meridian_cli(&["status", "--topology", &topology], &right, home).await;
    assert!(ok && out.contains(region_name) && !out.contains("DOWN"), "{out}");
    let (ok, out) = common::meridian_cli(
        &["clock", "skew", region_name, "1234", "--topology", &topology],
        &right,
        home,
    )
    .await;
    assert!(ok, "{out}");
    // From the node config's admin.token_file.
    let (ok, out) = common::meridian_cli(
        &["link", "show", "--topology", &topology, "--config", &config],
        &[],
        home,
    )
    .await;
    assert!(ok && !out.contains("unreachable"), "{out}");
    let (ok, out) = common::meridian_cli(
        &[
            "clock",
            "skew",
            region_name,
            "-77",
            "--topology",
            &topology,
            "--config",
            &config,
        ],
        &[],
        home,
    )
    .await;
    assert!(ok, "{out}");
    let token = [("Host", "db.internal.example"), ("Authorization", "Bearer t0ken-123")];
    let (status, body) = send(region.addr, "GET", "/admin/clock", &token, "").await;
    assert_eq!((status, body["offset_ms"].as_i64()), (200, Some(-77)), "{body}");
}
