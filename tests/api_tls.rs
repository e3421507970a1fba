//! TLS on the API (`[api_tls]`): with a certificate issued by the cluster
//! CA, the official SDK works over `https://` when it trusts that CA, and
//! fails when it does not; plain HTTP gets no answer; a key file others can
//! read stops the region with a message saying so.

mod common;

use std::path::Path;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::ScalarAttributeType;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use common::{Keys, REGION, TestRegion, s};
use meridian::config::{ApiTlsConfig, NodeConfig, StorageConfig};
use meridian::replication::tls::ClusterCa;

/// Writes the API certificate and key `meridian init --region-certs`
/// issues (for localhost and 127.0.0.1) into `dir`, the key then given
/// `mode`; the config serving them.
fn tls_config(ca: &ClusterCa, dir: &Path, mode: u32) -> NodeConfig {
    use std::os::unix::fs::PermissionsExt;
    ca.write_api_files(dir, REGION, "127.0.0.1").unwrap();
    let (cert_file, key_file) = (
        dir.join(format!("api-{REGION}.crt")),
        dir.join(format!("api-{REGION}.key")),
    );
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(mode)).unwrap();
    NodeConfig {
        api_tls: ApiTlsConfig {
            cert_file: cert_file.display().to_string(),
            key_file: key_file.display().to_string(),
        },
        storage: StorageConfig {
            in_memory: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// An SDK client for `endpoint` trusting only `trusted` (PEM), with no
/// retries.
fn client(endpoint: String, trusted: Option<&str>) -> Client {
    signed_client(endpoint, trusted, Credentials::new("k", "s", None, None, "test"))
}

/// `client`, signing with `credentials`.
fn signed_client(endpoint: String, trusted: Option<&str>, credentials: Credentials) -> Client {
    let mut store = TrustStore::empty();
    if let Some(pem) = trusted {
        store = store.with_pem_certificate(pem.as_bytes());
    }
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(TlsContext::builder().with_trust_store(store).build().unwrap())
        .build_https();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// The node config the CLI reads (the `api_tls` of `node`) written into
/// `dir`, and `ca`'s certificate beside the API certificate, as `meridian
/// init --region-certs` leaves it: their paths.
fn cli_config(ca: &ClusterCa, dir: &Path, node: &NodeConfig) -> (std::path::PathBuf, std::path::PathBuf) {
    let config = dir.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[api_tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            node.api_tls.cert_file, node.api_tls.key_file
        ),
    )
    .unwrap();
    let ca_file = dir.join(meridian::replication::tls::CA_CERT_FILE);
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();
    (config, ca_file)
}

#[tokio::test]
async fn the_sdk_works_over_https_trusting_the_cluster_ca() {
    let ca = ClusterCa::generate("test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let region = TestRegion::start_with(tls_config(&ca, dir.path(), 0o600)).await;
    let https = format!("https://127.0.0.1:{}", region.addr.port());

    let trusting = client(https.clone(), Some(ca.cert_pem()));
    common::create_table(&trusting, "tls_items", Keys::Hash("pk", ScalarAttributeType::S)).await;
    trusting
        .put_item()
        .table_name("tls_items")
        .item("pk", s("a"))
        .item("v", s("over TLS"))
        .send()
        .await
        .expect("PutItem over https");
    let item = trusting
        .get_item()
        .table_name("tls_items")
        .key("pk", s("a"))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem over https")
        .item
        .unwrap();
    assert_eq!(item["v"], s("over TLS"));

    // A client that does not trust the cluster CA refuses the server.
    let stranger = client(https, None);
    let error = stranger.list_tables().send().await.unwrap_err();
    assert!(
        matches!(error, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
        "{error:?}"
    );
    // Plain HTTP is not served on a TLS port.
    let plain = common::client(region.addr);
    assert!(plain.list_tables().send().await.is_err());
    // The region still serves after both.
    assert_eq!(
        trusting.list_tables().send().await.unwrap().table_names(),
        ["tls_items".to_string()]
    );
}

#[tokio::test]
async fn a_key_file_others_can_read_stops_the_region() {
    let ca = ClusterCa::generate("test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let message = common::start_refused(tls_config(&ca, dir.path(), 0o644)).await;
    assert!(message.starts_with("invalid configuration: api_tls: "), "{message}");
    assert!(message.contains("chmod 600"), "{message}");
    assert!(message.contains("api-us-east-1.key"), "{message}");
}

#[tokio::test]
async fn cli_admin_commands_reach_a_region_serving_https_only() {
    let ca = ClusterCa::generate("test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let node = tls_config(&ca, dir.path(), 0o600);
    let region = TestRegion::start_with(node.clone()).await;
    // The node config the commands read, and the topology naming the
    // region; the cluster CA's certificate beside the API certificate, as
    // `meridian init --region-certs` leaves it.
    let (config, ca_file) = cli_config(&ca, dir.path(), &node);
    let topology = dir.path().join("topology.toml");
    std::fs::write(
        &topology,
        format!(
            "cluster = \"test\"\n[[region]]\nname = \"{REGION}\"\napi = \"{}\"\npeer = \"127.0.0.1:9\"\n",
            region.addr
        ),
    )
    .unwrap();
    let (config, topology) = (config.display().to_string(), topology.display().to_string());
    let home = tempfile::tempdir().unwrap();
    let cli = |args: Vec<&'static str>| {
        let mut args: Vec<String> = args.into_iter().map(str::to_string).collect();
        args.extend(["--topology".into(), topology.clone(), "--config".into(), config.clone()]);
        let home = home.path().to_path_buf();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            common::meridian_cli(&args, &[], &home).await
        }
    };

    let (ok, out) = cli(vec!["status"]).await;
    let https = format!("{REGION}  https://{}  up", region.addr);
    assert!(ok && out.contains(&https), "{out}");
    let (ok, out) = cli(vec!["clock", "skew", REGION, "1234"]).await;
    assert!(ok, "{out}");
    assert_eq!(out.trim(), format!("{REGION}: wall clock offset now 1234 ms"));
    let (ok, out) = cli(vec!["status"]).await;
    assert!(ok && out.contains("clock offset 1234 ms"), "{out}");
    let (ok, out) = cli(vec!["link", "show"]).await;
    assert!(ok && !out.contains("unreachable"), "{out}");

    // Without a CA certificate to trust, the command says what it looked for.
    std::fs::remove_file(&ca_file).unwrap();
    let (ok, out) = cli(vec!["status"]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("the regions serve HTTPS (api_tls), but no cluster CA certificate to trust was found")
            && out.contains(&ca_file.display().to_string()),
        "{out}"
    );
    // Without the config, plain HTTP gets no answer from the TLS port.
    let args = ["status", "--topology", topology.as_str()];
    let (ok, out) = common::meridian_cli(&args, &[], home.path()).await;
    assert!(!ok && out.contains("DOWN"), "{out}");
}

#[tokio::test]
async fn cli_restore_reaches_a_region_serving_https_and_requiring_sigv4() {
    use common::pitr::{active_items, enable_pitr, fill, mark, wait_restorable};
    use std::os::unix::fs::PermissionsExt;
    let ca = ClusterCa::generate("test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut node = tls_config(&ca, dir.path(), 0o600);
    let users = dir.path().join("users.toml");
    std::fs::write(
        &users,
        "[[user]]\nname = \"ops\"\naccess_key_id = \"AKIDOPS\"\nsecret_access_key = \"ops-secret\"\n\
         session_token = \"ops-token\"\n\
         policy = '{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"dynamodb:*\", \"Resource\": \"*\"}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o600)).unwrap();
    node.auth = "sigv4".into();
    node.auth_credentials = users.display().to_string();
    let region = TestRegion::start_with(node.clone()).await;
    let credentials = Credentials::new("AKIDOPS", "ops-secret", Some("ops-token".into()), None, "test");
    let sdk = signed_client(format!("https://{}", region.addr), Some(ca.cert_pem()), credentials);
    common::create_table(&sdk, "orders", Keys::Hash("pk", ScalarAttributeType::S)).await;
    enable_pitr(&sdk, "orders").await;
    let expected = fill(&sdk, "orders", 3, "good").await;
    // `latest` then takes in the three items.
    wait_restorable(&sdk, "orders", mark().await).await;
    let (config, _) = cli_config(&ca, dir.path(), &node);
    let (endpoint, config) = (region.addr.to_string(), config.display().to_string());
    let home = tempfile::tempdir().unwrap();
    let restore = |target: &'static str, env: Vec<(&'static str, &'static str)>| {
        let args = [
            "restore",
            "--table",
            "orders",
            "--to",
            "latest",
            "--as",
            target,
            "--endpoint",
            &endpoint,
            "--config",
            &config,
        ]
        .map(str::to_string);
        let home = home.path().to_path_buf();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            common::meridian_cli(&args, &env, &home).await
        }
    };
    let credentials = vec![
        ("AWS_ACCESS_KEY_ID", "AKIDOPS"),
        ("AWS_SECRET_ACCESS_KEY", "ops-secret"),
        ("AWS_SESSION_TOKEN", "ops-token"),
    ];

    let (ok, out) = restore("orders-copy", credentials).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("into orders-copy at https://{}", region.addr)),
        "{out}"
    );
    assert!(out.contains("orders-copy is ACTIVE with 3 items"), "{out}");
    assert_eq!(active_items(&sdk, "orders-copy").await, expected);

    // Without credentials the region's refusal says what to set.
    let (ok, out) = restore("orders-unsigned", Vec::new()).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "MissingAuthenticationTokenException: Request is missing Authentication Token \
             (the region requires SigV4: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        ),
        "{out}"
    );
    // A wrong secret is DynamoDB's signature error.
    let wrong = vec![
        ("AWS_ACCESS_KEY_ID", "AKIDOPS"),
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
        ("AWS_SESSION_TOKEN", "ops-token"),
    ];
    let (ok, out) = restore("orders-wrong", wrong).await;
    assert!(!ok && out.contains("InvalidSignatureException: "), "{out}");
    region.shutdown().await;
}
