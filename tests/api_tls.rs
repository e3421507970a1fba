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
        .credentials_provider(Credentials::new("k", "s", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(http)
        .build();
    Client::from_conf(config)
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
