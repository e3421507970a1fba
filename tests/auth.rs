//! `auth = "sigv4"`: requests signed by the official SDK with the right
//! credentials work for every operation group; a wrong secret, an unknown
//! key, a wrong session token, an expired signature, a tampered body and a
//! presigned URL past its expiry each get DynamoDB's error; policies allow
//! and deny exactly as written (`LeadingKeys`, `Attributes`, `Select`,
//! `ReturnValues`, `EnclosingOperation`, `FullTableScan`, explicit deny),
//! and a denied request changes nothing.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, ScalarAttributeType, WriteRequest};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use bytes::Bytes;
use common::{Keys, REGION, RawResponse, TestRegion, create_table};
use http_body_util::{BodyExt, Full};
use meridian::config::NodeConfig;

const ALLOW_ALL: &str =
    r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}"#;

/// The users every test region accepts.
fn credentials_file(dir: &Path) -> std::path::PathBuf {
    let leading_keys = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchWriteItem"],
        "Resource": "arn:aws:dynamodb:*:*:table/Items",
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}}]}"#;
    let attributes = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        "Resource": "arn:aws:dynamodb:*:*:table/Items",
        "Condition": {
            "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "shown"]},
            "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES", "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"]}}}]}"#;
    let deny = r#"{"Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:Delete*", "Resource": "arn:aws:dynamodb:*:*:table/Items"}]}"#;
    std::fs::write(dir.join("erin.json"), deny).unwrap();
    // PartiQL and transactions: own or shared partitions, never a full
    // table scan, updates and PutItem only inside transactions.
    let frank = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "dynamodb:PartiQLSelect", "Resource": "arn:aws:dynamodb:*:*:table/Items",
         "Condition": {"Bool": {"dynamodb:FullTableScan": ["true"]}}},
        {"Effect": "Allow", "Action": ["dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert"],
         "Resource": "arn:aws:dynamodb:*:*:table/Items",
         "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}", "shared"]}}},
        {"Effect": "Allow", "Action": "dynamodb:PartiQLUpdate", "Resource": "arn:aws:dynamodb:*:*:table/Items",
         "Condition": {"StringEquals": {"dynamodb:EnclosingOperation": "ExecuteTransaction"}}},
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "arn:aws:dynamodb:*:*:table/Items",
         "Condition": {"StringEquals": {"dynamodb:EnclosingOperation": "TransactWriteItems"}}}]}"#;
    std::fs::write(dir.join("frank.json"), frank).unwrap();
    let text = format!(
        r#"
[[user]]
name = "alice"
access_key_id = "AKIDALICE"
secret_access_key = "alice-secret"
policy = '{ALLOW_ALL}'

[[user]]
name = "bob"
access_key_id = "AKIDBOB"
secret_access_key = "bob-secret"
session_token = "bob-session"
policy = '{ALLOW_ALL}'

[[user]]
name = "carol"
access_key_id = "AKIDCAROL"
secret_access_key = "carol-secret"
policy = '''{leading_keys}'''

[[user]]
name = "dave"
access_key_id = "AKIDDAVE"
secret_access_key = "dave-secret"
policy = '''{attributes}'''

[[user]]
name = "erin"
access_key_id = "AKIDERIN"
secret_access_key = "erin-secret"
policy = "erin.json"

[[user]]
name = "frank"
access_key_id = "AKIDFRANK"
secret_access_key = "frank-secret"
policy = "frank.json"

[[user]]
name = "nobody"
access_key_id = "AKIDNOBODY"
secret_access_key = "nobody-secret"
"#
    );
    write_private(&dir.join("users.toml"), &text)
}

fn write_private(path: &Path, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_path_buf()
}

/// A region with `auth = "sigv4"`, and the directory of its credentials.
async fn start() -> (TestRegion, tempfile::TempDir) {
    let secrets = tempfile::tempdir().unwrap();
    let config = sigv4_config(&credentials_file(secrets.path()));
    (TestRegion::start_with(config).await, secrets)
}

/// In-memory settings with `auth = "sigv4"` and the users in `path`.
fn sigv4_config(path: &Path) -> NodeConfig {
    NodeConfig {
        auth: "sigv4".into(),
        auth_credentials: path.display().to_string(),
        storage: meridian::config::StorageConfig {
            in_memory: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn signed_client(addr: SocketAddr, key: &str, secret: &str, token: Option<&str>) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(format!("http://{addr}"))
        .credentials_provider(Credentials::new(key, secret, token.map(str::to_string), None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(http_client())
        .build();
    Client::from_conf(config)
}

fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

fn alice(addr: SocketAddr) -> Client {
    signed_client(addr, "AKIDALICE", "alice-secret", None)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The code and message of an SDK error.
fn error_of<E: ProvideErrorMetadata>(error: E) -> (String, String) {
    (
        error.code().unwrap_or("").to_string(),
        error.message().unwrap_or("").to_string(),
    )
}

async fn make_items_table(region: &TestRegion) {
    create_table(&alice(region.addr), "Items", Keys::Hash("pk", ScalarAttributeType::S)).await;
}

async fn get(client: &Client, pk: &str) -> Option<HashMap<String, AttributeValue>> {
    client
        .get_item()
        .table_name("Items")
        .key("pk", s(pk))
        .send()
        .await
        .unwrap()
        .item
}

#[tokio::test]
async fn signed_requests_work_for_every_operation_group() {
    let (region, _secrets) = start().await;
    let client = alice(region.addr);
    make_items_table(&region).await;
    client.describe_table().table_name("Items").send().await.unwrap();
    assert_eq!(client.list_tables().send().await.unwrap().table_names().len(), 1);
    client
        .put_item()
        .table_name("Items")
        .item("pk", s("a"))
        .send()
        .await
        .unwrap();
    client
        .update_item()
        .table_name("Items")
        .key("pk", s("a"))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", s("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&client, "a").await.unwrap()["v"], s("1"));
    let query = client
        .query()
        .table_name("Items")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(query.count, 1);
    assert_eq!(client.scan().table_name("Items").send().await.unwrap().count, 1);
    let put_b = WriteRequest::builder()
        .put_request(PutRequest::builder().item("pk", s("b")).build().unwrap())
        .build();
    client
        .batch_write_item()
        .request_items("Items", vec![put_b])
        .send()
        .await
        .unwrap();
    let keys = KeysAndAttributes::builder()
        .keys(HashMap::from([("pk".to_string(), s("b"))]))
        .build()
        .unwrap();
    let batch = client
        .batch_get_item()
        .request_items("Items", keys)
        .send()
        .await
        .unwrap();
    assert_eq!(batch.responses.unwrap()["Items"].len(), 1);
    client
        .delete_item()
        .table_name("Items")
        .key("pk", s("b"))
        .send()
        .await
        .unwrap();
    client.describe_time_to_live().table_name("Items").send().await.unwrap();
    client
        .describe_continuous_backups()
        .table_name("Items")
        .send()
        .await
        .unwrap();
    client.list_backups().send().await.unwrap();
    // DynamoDB Streams signs with the same signing name.
    let streams = aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::Config::builder()
            .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodbstreams::config::Region::new(REGION))
            .endpoint_url(format!("http://{}", region.addr))
            .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
                "AKIDALICE",
                "alice-secret",
                None,
                None,
                "test",
            ))
            .http_client(http_client())
            .build(),
    );
    streams.list_streams().send().await.unwrap();
    // A user with a session token, sending it.
    let bob = signed_client(region.addr, "AKIDBOB", "bob-secret", Some("bob-session"));
    assert_eq!(get(&bob, "a").await.unwrap()["v"], s("1"));
    client.delete_table().table_name("Items").send().await.unwrap();
}

#[tokio::test]
async fn bad_credentials_get_dynamodbs_errors() {
    let (region, _secrets) = start().await;
    make_items_table(&region).await;
    let list =
        |client: Client| async move { error_of(client.list_tables().send().await.unwrap_err().into_service_error()) };

    let (code, message) = list(signed_client(region.addr, "AKIDALICE", "wrong", None)).await;
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        message.starts_with("The request signature we calculated does not match"),
        "{message}"
    );

    let (code, message) = list(signed_client(region.addr, "AKIDWHO", "x", None)).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid."
        )
    );

    // A session token where none is expected, a missing or wrong one.
    for (key, secret, token) in [
        ("AKIDALICE", "alice-secret", Some("t")),
        ("AKIDBOB", "bob-secret", None),
        ("AKIDBOB", "bob-secret", Some("other")),
    ] {
        let (code, _) = list(signed_client(region.addr, key, secret, token)).await;
        assert_eq!(code, "UnrecognizedClientException", "{key} {token:?}");
    }

    // Unsigned.
    let raw = region.raw_json("ListTables", serde_json::json!({})).await;
    assert_eq!(
        (raw.status, raw.error_type()),
        (400, "MissingAuthenticationTokenException")
    );
    assert_eq!(raw.message(), "Request is missing Authentication Token");
}

/// Signs `body` for `target` as alice at `at`, with the signature in the
/// header or the query string, then sends `sent` (the body, or a tampered
/// one) over one HTTP/1.1 connection.
async fn send_signed(
    addr: SocketAddr,
    target: &str,
    body: &str,
    sent: &str,
    at: SystemTime,
    location: SignatureLocation,
) -> RawResponse {
    let identity = Credentials::new("AKIDALICE", "alice-secret", None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = location;
    settings.expires_in = Some(Duration::from_secs(60));
    let params: SigningParams<'_, SigningSettings> = SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("dynamodb")
        .time(at)
        .settings(settings)
        .build()
        .unwrap();
    let host = addr.to_string();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", target),
    ];
    let signable = SignableRequest::new(
        "POST",
        format!("http://{addr}/"),
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params.into()).unwrap().into_parts();
    let mut request = hyper::Request::post(format!("http://{addr}/"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut request = request.body(Full::new(Bytes::from(sent.to_string()))).unwrap();
    instructions.apply_to_request_http1x(&mut request);
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    // hyper sends the path and query only.
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    *request.uri_mut() = path.parse().unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    RawResponse {
        status,
        headers: HashMap::new(),
        body: serde_json::from_slice(&bytes).unwrap(),
    }
}

#[tokio::test]
async fn expired_tampered_and_presigned_requests() {
    let (region, _secrets) = start().await;
    make_items_table(&region).await;
    let put = |v: &str| format!(r#"{{"TableName": "Items", "Item": {{"pk": {{"S": "{v}"}}}}}}"#);
    let target = "DynamoDB_20120810.PutItem";
    let now = SystemTime::now();

    let fresh = send_signed(
        region.addr,
        target,
        &put("ok"),
        &put("ok"),
        now,
        SignatureLocation::Headers,
    )
    .await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.body);

    let old = now - Duration::from_secs(20 * 60);
    let expired = send_signed(
        region.addr,
        target,
        &put("old"),
        &put("old"),
        old,
        SignatureLocation::Headers,
    )
    .await;
    assert_eq!(
        (expired.status, expired.error_type()),
        (400, "InvalidSignatureException")
    );
    assert!(
        expired.message().starts_with("Signature expired: "),
        "{}",
        expired.message()
    );
    assert!(expired.message().ends_with("- 15 min.)"), "{}", expired.message());

    let future = now + Duration::from_secs(20 * 60);
    let early = send_signed(
        region.addr,
        target,
        &put("new"),
        &put("new"),
        future,
        SignatureLocation::Headers,
    )
    .await;
    assert_eq!(early.error_type(), "InvalidSignatureException");
    assert!(
        early.message().starts_with("Signature not yet current: "),
        "{}",
        early.message()
    );

    let tampered = send_signed(
        region.addr,
        target,
        &put("x"),
        &put("evil"),
        now,
        SignatureLocation::Headers,
    )
    .await;
    assert_eq!(
        (tampered.status, tampered.error_type()),
        (400, "InvalidSignatureException")
    );

    let presigned = send_signed(
        region.addr,
        target,
        &put("pre"),
        &put("pre"),
        now,
        SignatureLocation::QueryParams,
    )
    .await;
    assert_eq!(presigned.status, 200, "{:?}", presigned.body);

    // Signed two minutes ago for 60 seconds.
    let lapsed = now - Duration::from_secs(120);
    let past = send_signed(
        region.addr,
        target,
        &put("late"),
        &put("late"),
        lapsed,
        SignatureLocation::QueryParams,
    )
    .await;
    assert_eq!((past.status, past.error_type()), (400, "InvalidSignatureException"));
    assert!(past.message().starts_with("Signature expired: "), "{}", past.message());

    let client = alice(region.addr);
    for (pk, present) in [
        ("ok", true),
        ("pre", true),
        ("old", false),
        ("new", false),
        ("x", false),
        ("evil", false),
        ("late", false),
    ] {
        assert_eq!(get(&client, pk).await.is_some(), present, "{pk}");
    }
}

#[tokio::test]
async fn leading_keys_confine_a_user_to_their_partition() {
    let (region, _secrets) = start().await;
    make_items_table(&region).await;
    let carol = signed_client(region.addr, "AKIDCAROL", "carol-secret", None);
    carol
        .put_item()
        .table_name("Items")
        .item("pk", s("carol"))
        .send()
        .await
        .unwrap();
    assert!(get(&carol, "carol").await.is_some());

    let error = carol
        .put_item()
        .table_name("Items")
        .item("pk", s("bob"))
        .send()
        .await
        .unwrap_err();
    let (code, message) = error_of(error.into_service_error());
    assert_eq!(code, "AccessDeniedException");
    assert_eq!(
        message,
        "User: arn:aws:iam::000000000000:user/carol is not authorized to perform: dynamodb:PutItem on resource: \
         arn:aws:dynamodb:us-east-1:000000000000:table/Items because no identity-based policy allows the dynamodb:PutItem action"
    );
    let error = carol
        .get_item()
        .table_name("Items")
        .key("pk", s("alice"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(error.into_service_error()).0, "AccessDeniedException");
    let own = carol
        .query()
        .table_name("Items")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("carol"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.count, 1);
    let other = carol
        .query()
        .table_name("Items")
        .key_condition_expression("#k = :p")
        .expression_attribute_names("#k", "pk")
        .expression_attribute_values(":p", s("alice"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(other.into_service_error()).0, "AccessDeniedException");
    // One foreign key in a batch refuses the whole batch: nothing written.
    let put = |pk: &str| {
        WriteRequest::builder()
            .put_request(PutRequest::builder().item("pk", s(pk)).build().unwrap())
            .build()
    };
    let batch = carol
        .batch_write_item()
        .request_items("Items", vec![put("carol"), put("mallory")])
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(batch.into_service_error()).0, "AccessDeniedException");
    assert!(get(&alice(region.addr), "bob").await.is_none());
    assert!(get(&alice(region.addr), "mallory").await.is_none());
    // Not granted at all: Scan and other tables.
    let scan = carol.scan().table_name("Items").send().await.unwrap_err();
    assert_eq!(error_of(scan.into_service_error()).0, "AccessDeniedException");
}

#[tokio::test]
async fn attributes_select_and_return_values_limit_what_a_user_touches() {
    let (region, _secrets) = start().await;
    make_items_table(&region).await;
    let admin = alice(region.addr);
    admin
        .put_item()
        .table_name("Items")
        .item("pk", s("k"))
        .item("shown", s("p0"))
        .item("hidden", s("s0"))
        .send()
        .await
        .unwrap();
    let dave = signed_client(region.addr, "AKIDDAVE", "dave-secret", None);
    let denied = |error: String| assert_eq!(error, "AccessDeniedException");

    let visible = dave
        .get_item()
        .table_name("Items")
        .key("pk", s("k"))
        .projection_expression("shown")
        .send()
        .await
        .unwrap();
    assert_eq!(visible.item.unwrap(), HashMap::from([("shown".to_string(), s("p0"))]));
    // Without a projection the request asks for every attribute.
    let all = dave
        .get_item()
        .table_name("Items")
        .key("pk", s("k"))
        .send()
        .await
        .unwrap_err();
    denied(error_of(all.into_service_error()).0);
    let hidden = dave
        .get_item()
        .table_name("Items")
        .key("pk", s("k"))
        .projection_expression("shown, hidden")
        .send()
        .await
        .unwrap_err();
    denied(error_of(hidden.into_service_error()).0);

    dave.update_item()
        .table_name("Items")
        .key("pk", s("k"))
        .update_expression("SET shown = :v")
        .expression_attribute_values(":v", s("p1"))
        .send()
        .await
        .unwrap();
    let write_secret = dave
        .update_item()
        .table_name("Items")
        .key("pk", s("k"))
        .update_expression("SET #s = :v")
        .expression_attribute_names("#s", "hidden")
        .expression_attribute_values(":v", s("s1"))
        .send()
        .await
        .unwrap_err();
    denied(error_of(write_secret.into_service_error()).0);
    let return_all = dave
        .update_item()
        .table_name("Items")
        .key("pk", s("k"))
        .update_expression("SET shown = :v")
        .expression_attribute_values(":v", s("p2"))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
        .send()
        .await
        .unwrap_err();
    denied(error_of(return_all.into_service_error()).0);
    let put_secret = dave
        .put_item()
        .table_name("Items")
        .item("pk", s("k"))
        .item("hidden", s("s2"))
        .send()
        .await
        .unwrap_err();
    denied(error_of(put_secret.into_service_error()).0);

    let item = get(&admin, "k").await.unwrap();
    assert_eq!((&item["shown"], &item["hidden"]), (&s("p1"), &s("s0")));
}

#[tokio::test]
async fn explicit_deny_wins_and_no_policy_allows_nothing() {
    let (region, _secrets) = start().await;
    make_items_table(&region).await;
    let erin = signed_client(region.addr, "AKIDERIN", "erin-secret", None);
    erin.put_item()
        .table_name("Items")
        .item("pk", s("e"))
        .send()
        .await
        .unwrap();
    let error = erin.delete_table().table_name("Items").send().await.unwrap_err();
    let (code, message) = error_of(error.into_service_error());
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.ends_with("table/Items with an explicit deny in an identity-based policy"),
        "{message}"
    );
    let error = erin
        .delete_item()
        .table_name("Items")
        .key("pk", s("e"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(error.into_service_error()).0, "AccessDeniedException");
    assert!(get(&erin, "e").await.is_some());
    alice(region.addr)
        .describe_table()
        .table_name("Items")
        .send()
        .await
        .unwrap();

    let nobody = signed_client(region.addr, "AKIDNOBODY", "nobody-secret", None);
    let error = nobody.list_tables().send().await.unwrap_err();
    let (code, message) = error_of(error.into_service_error());
    assert_eq!(code, "AccessDeniedException");
    assert!(message.contains("dynamodb:ListTables on resource: *"), "{message}");
}

#[tokio::test]
async fn a_credentials_file_others_can_read_stops_the_region() {
    use std::os::unix::fs::PermissionsExt;
    let secrets = tempfile::tempdir().unwrap();
    let path = credentials_file(secrets.path());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let error = common::start_refused(sigv4_config(&path)).await;
    assert!(
        error.contains("readable by group or others") && error.contains("chmod 600"),
        "{error}"
    );
}

/// A put of item `pk` into Items by `client`: Ok, or the error's code and
/// message.
async fn put(client: &Client, pk: &str) -> Result<(), (String, String)> {
    client
        .put_item()
        .table_name("Items")
        .item("pk", s(pk))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| error_of(e.into_service_error()))
}

#[tokio::test]
async fn resource_policies_allow_and_deny_beside_identity_policies() {
    let (region, _secrets) = start().await;
    make_items_table(&region).await;
    let (alice, nobody) = (
        alice(region.addr),
        signed_client(region.addr, "AKIDNOBODY", "nobody-secret", None),
    );
    put(&alice, "a").await.unwrap();
    let table = format!("arn:aws:dynamodb:{REGION}:000000000000:table/Items");
    let denied = |message: &str, action: &str, why: &str| {
        assert_eq!(
            message,
            format!(
                "User: arn:aws:iam::000000000000:user/nobody is not authorized to perform: dynamodb:{action} on resource: {table} {why}"
            )
        )
    };
    let nobody_get = || nobody.get_item().table_name("Items").key("pk", s("a")).send();
    let (code, message) = error_of(nobody_get().await.unwrap_err().into_service_error());
    assert_eq!(code, "AccessDeniedException");
    denied(
        &message,
        "GetItem",
        "because no identity-based policy allows the dynamodb:GetItem action",
    );

    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/nobody"},
         "Action": "dynamodb:GetItem", "Resource": table},
        {"Effect": "Deny", "Principal": "*", "Action": "dynamodb:PutItem", "Resource": table,
         "Condition": {"ForAnyValue:StringEquals": {"dynamodb:LeadingKeys": ["locked"]}}},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
         "Action": "dynamodb:Scan", "Resource": table},
    ]});
    alice
        .put_resource_policy()
        .resource_arn(&table)
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutResourcePolicy");

    // The table's policy allows nobody's GetItem, which their own policy
    // (none) does not.
    let item = nobody_get()
        .await
        .expect("allowed by the resource policy")
        .item
        .unwrap();
    assert_eq!(item["pk"], s("a"));
    // An allow to the account delegates to the users' own policies: it
    // grants nobody nothing.
    let (code, message) = error_of(
        nobody
            .scan()
            .table_name("Items")
            .send()
            .await
            .unwrap_err()
            .into_service_error(),
    );
    assert_eq!(code, "AccessDeniedException");
    denied(
        &message,
        "Scan",
        "because no identity-based policy allows the dynamodb:Scan action",
    );
    let (_, message) = put(&nobody, "n").await.unwrap_err();
    denied(
        &message,
        "PutItem",
        "because no identity-based policy allows the dynamodb:PutItem action",
    );
    // An explicit deny in the table's policy wins over alice's allow, and
    // the denied put writes nothing.
    let (code, message) = put(&alice, "locked").await.unwrap_err();
    assert_eq!(code, "AccessDeniedException");
    assert_eq!(
        message,
        format!(
            "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: dynamodb:PutItem on resource: {table} with an explicit deny in a resource-based policy"
        )
    );
    assert!(get(&alice, "locked").await.is_none());
    put(&alice, "open").await.expect("outside the deny's condition");

    // A statement without a Principal is not a resource-based policy.
    let malformed = r#"{"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}"#;
    let (code, message) = error_of(
        alice
            .put_resource_policy()
            .resource_arn(&table)
            .policy(malformed)
            .send()
            .await
            .unwrap_err()
            .into_service_error(),
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Invalid policy document: a statement of a resource-based policy needs a Principal"
    );
    // Still the policy put before: once it is deleted, nothing it said
    // applies.
    assert!(nobody_get().await.is_ok());
    alice
        .delete_resource_policy()
        .resource_arn(&table)
        .send()
        .await
        .expect("DeleteResourcePolicy");
    assert!(nobody_get().await.is_err());
    put(&alice, "locked").await.expect("no resource policy denies it now");
}

#[tokio::test]
async fn each_action_of_a_transaction_is_authorized_as_its_single_item_operation() {
    use aws_sdk_dynamodb::types::{Delete, Get, Put, TransactGetItem, TransactWriteItem, Update};
    let (region, _secrets) = start().await;
    make_items_table(&region).await;
    let carol = signed_client(region.addr, "AKIDCAROL", "carol-secret", None);
    let put = |pk: &str| {
        TransactWriteItem::builder()
            .put(Put::builder().table_name("Items").item("pk", s(pk)).build().unwrap())
            .build()
    };
    // Carol may PutItem and GetItem her own partition: so may her transactions.
    carol
        .transact_write_items()
        .transact_items(put("carol"))
        .send()
        .await
        .unwrap();
    let read = carol
        .transact_get_items()
        .transact_items(
            TransactGetItem::builder()
                .get(
                    Get::builder()
                        .table_name("Items")
                        .key("pk", s("carol"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(read.responses()[0].item().is_some());
    // Another partition in one action refuses the whole transaction.
    let foreign = carol
        .transact_write_items()
        .transact_items(put("carol2"))
        .transact_items(put("mallory"))
        .send()
        .await
        .unwrap_err();
    let (code, message) = error_of(foreign.into_service_error());
    assert_eq!(code, "AccessDeniedException");
    assert!(message.contains("dynamodb:PutItem"), "{message}");
    // An Update needs dynamodb:UpdateItem, which carol lacks.
    let update = TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name("Items")
                .key("pk", s("carol"))
                .update_expression("SET shown = :v")
                .expression_attribute_values(":v", s("x"))
                .build()
                .unwrap(),
        )
        .build();
    let refused = carol
        .transact_write_items()
        .transact_items(update)
        .send()
        .await
        .unwrap_err();
    let (_, message) = error_of(refused.into_service_error());
    assert!(message.contains("dynamodb:UpdateItem"), "{message}");
    // Erin's explicit deny of dynamodb:Delete* reaches a transaction's Delete.
    let erin = signed_client(region.addr, "AKIDERIN", "erin-secret", None);
    let delete = TransactWriteItem::builder()
        .delete(
            Delete::builder()
                .table_name("Items")
                .key("pk", s("carol"))
                .build()
                .unwrap(),
        )
        .build();
    let denied = erin
        .transact_write_items()
        .transact_items(delete)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(denied.into_service_error()).0, "AccessDeniedException");
    assert!(
        get(&alice(region.addr), "carol").await.is_some(),
        "nothing refused was applied"
    );
    assert!(get(&alice(region.addr), "carol2").await.is_none());
}

/// The error code of a PartiQL statement `frank` runs, alone or as a
/// one-statement transaction; empty when it succeeds.
async fn frank_runs(frank: &Client, statement: &str, transaction: bool) -> String {
    use aws_sdk_dynamodb::types::ParameterizedStatement;
    let result = if transaction {
        let statement = ParameterizedStatement::builder().statement(statement).build().unwrap();
        let sent = frank.execute_transaction().transact_statements(statement).send().await;
        sent.map(drop).map_err(|e| error_of(e.into_service_error()).0)
    } else {
        let sent = frank.execute_statement().statement(statement).send().await;
        sent.map(drop).map_err(|e| error_of(e.into_service_error()).0)
    };
    result.err().unwrap_or_default()
}

#[tokio::test]
async fn partiql_and_transactions_carry_their_condition_keys() {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
    let (region, _secrets) = start().await;
    make_items_table(&region).await;
    let frank = signed_client(region.addr, "AKIDFRANK", "frank-secret", None);
    let denied = "AccessDeniedException";
    // dynamodb:LeadingKeys from an INSERT's item and a SELECT's WHERE.
    assert_eq!(
        frank_runs(&frank, "INSERT INTO Items VALUE {'pk': 'frank'}", false).await,
        ""
    );
    assert_eq!(
        frank_runs(&frank, "INSERT INTO Items VALUE {'pk': 'mallory'}", false).await,
        denied
    );
    assert!(get(&alice(region.addr), "mallory").await.is_none());
    assert_eq!(
        frank_runs(&frank, "SELECT * FROM Items WHERE pk = 'frank'", false).await,
        ""
    );
    assert_eq!(
        frank_runs(&frank, "SELECT * FROM Items WHERE pk IN ['frank', 'shared']", false).await,
        ""
    );
    let foreign = "SELECT * FROM Items WHERE pk = 'frank' OR pk = 'alice'";
    assert_eq!(frank_runs(&frank, foreign, false).await, denied);
    // dynamodb:FullTableScan: a SELECT that scans is denied outright.
    assert_eq!(frank_runs(&frank, "SELECT * FROM Items", false).await, denied);
    let scan = "SELECT * FROM Items WHERE pk = 'frank' OR v = 1";
    assert_eq!(frank_runs(&frank, scan, false).await, denied);
    // dynamodb:EnclosingOperation: updates only inside ExecuteTransaction,
    // PutItem only inside TransactWriteItems.
    let update = "UPDATE Items SET v = 1 WHERE pk = 'frank'";
    assert_eq!(frank_runs(&frank, update, false).await, denied);
    assert_eq!(frank_runs(&frank, update, true).await, "");
    let plain = frank.put_item().table_name("Items").item("pk", s("frank")).send().await;
    assert_eq!(error_of(plain.unwrap_err().into_service_error()).0, denied);
    let put = Put::builder()
        .table_name("Items")
        .item("pk", s("frank2"))
        .build()
        .unwrap();
    let item = TransactWriteItem::builder().put(put).build();
    frank.transact_write_items().transact_items(item).send().await.unwrap();
    assert!(get(&alice(region.addr), "frank2").await.is_some());
}
