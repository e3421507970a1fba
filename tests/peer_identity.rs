//! Peers bound to their certificates (issue 33): a region's certificate
//! names it, and a peer whose hello claims a region its certificate does not
//! name, or whose certificate another cluster's CA signed, is refused by the
//! real QUIC link code of a running region; snapshots are served only to
//! regions of the topology.

mod cluster;
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cluster::Cluster;
use meridian::ids::Incarnation;
use meridian::replication::tls::{ClusterCa, RegionTls};
use meridian::replication::wire::{Frame, PROTOCOL_VERSION, read_frame, write_frame};

/// Longest a refused or accepted exchange may take before the test fails
/// (a generous bound against a hang, never a timing assertion).
const EXCHANGE: Duration = Duration::from_secs(30);

/// A QUIC connection to `target` (a region dialled by its certificate name)
/// presenting `identity`.
async fn connect(identity: &RegionTls, target: SocketAddr, server: &str) -> anyhow::Result<quinn::Connection> {
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(identity.client.clone())?;
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse()?)?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let server = meridian::replication::tls::region_dns_name(server);
    Ok(endpoint.connect(target, &server)?.await?)
}

/// Opens a stream on `conn`, sends `first` and returns the answer.
async fn exchange(conn: &quinn::Connection, first: Frame) -> anyhow::Result<Option<Frame>> {
    let (mut send, mut recv) = conn.open_bi().await?;
    write_frame(&mut send, &first).await?;
    Ok(read_frame(&mut recv).await?)
}

/// A shipping stream's hello claiming to be `region` of cluster "test".
fn hello(region: &str) -> Frame {
    Frame::HelloV2 {
        protocol: PROTOCOL_VERSION,
        cluster: "test".into(),
        region: region.into(),
        incarnation: Incarnation(7),
    }
}

/// What a region answers a peer presenting `identity` that sends `first`.
async fn answer(identity: &RegionTls, target: SocketAddr, first: Frame) -> anyhow::Result<Option<Frame>> {
    let attempt = async {
        let conn = connect(identity, target, "us-east-1").await?;
        exchange(&conn, first).await
    };
    tokio::time::timeout(EXCHANGE, attempt).await?
}

/// The reason of a refusal, or a panic saying what came instead.
fn refusal(answer: anyhow::Result<Option<Frame>>) -> String {
    match answer {
        Ok(Some(Frame::RefuseV1 { reason })) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_claiming_a_region_the_certificate_does_not_name_is_refused() {
    // Three regions in the topology, ap-southeast-2 not running: its
    // certificate is a real member's, so the positive control below can
    // speak as it without disturbing a running link.
    let cluster = Cluster::start_some(3, &[], 2).await;
    let target = cluster.node(0).peer_addr.unwrap();

    // A certificate of the cluster's CA for a name outside the topology,
    // claiming to be eu-west-1.
    let rogue = cluster.ca.region_identity("rogue").unwrap();
    let reason = refusal(answer(&rogue, target, hello("eu-west-1")).await);
    assert!(reason.contains("certificate names no region"), "{reason}");
    // Claiming its own name: not a region of the topology.
    let reason = refusal(answer(&rogue, target, hello("rogue")).await);
    assert!(reason.contains("not in the topology"), "{reason}");

    // A member's certificate claiming another member's name; issued as
    // `meridian init --region-certs` issues it, loaded as `serve` loads it.
    let files = tempfile::tempdir().unwrap();
    cluster.ca.write_region_files(files.path(), "ap-southeast-2").unwrap();
    let member = RegionTls::load(files.path(), "ap-southeast-2").unwrap().unwrap();
    let reason = refusal(answer(&member, target, hello("eu-west-1")).await);
    assert!(reason.contains("certificate names \"ap-southeast-2\""), "{reason}");

    // The same certificate with its own name is accepted: the region
    // answers where to ship from.
    let accepted = answer(&member, target, hello("ap-southeast-2")).await;
    assert!(
        matches!(accepted, Ok(Some(Frame::StartV2 { ref region, .. })) if region == "us-east-1"),
        "{accepted:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_served_only_to_regions_of_the_topology() {
    let cluster = Cluster::start_some(3, &[], 2).await;
    cluster::create_local_table(&cluster, 0, "secret").await;
    let target = cluster.node(0).peer_addr.unwrap();
    let request = || Frame::SnapshotRequestV1 { table: "secret".into() };

    let rogue = cluster.ca.region_identity("rogue").unwrap();
    let reason = refusal(answer(&rogue, target, request()).await);
    assert!(reason.contains("only to regions of the topology"), "{reason}");

    // A region of the topology gets the snapshot.
    let member = cluster.ca.region_identity("ap-southeast-2").unwrap();
    let served = answer(&member, target, request()).await;
    assert!(
        matches!(
            served,
            Ok(Some(
                Frame::SnapshotChunkV1 { .. } | Frame::SnapshotEndV1 { found: true }
            ))
        ),
        "{served:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_clusters_ca_is_refused() {
    let cluster = Cluster::start_some(3, &[], 2).await;
    let target = cluster.node(0).peer_addr.unwrap();
    // Another cluster's CA issues a certificate with a member's name; the
    // client trusts our CA, so only the region's check of the client
    // certificate can refuse it. TLS 1.3 clients finish the handshake
    // before the server checks their certificate: the refusal shows on the
    // first exchange.
    let other = ClusterCa::generate("other").unwrap();
    let stranger = other.identity_trusting("ap-southeast-2", &cluster.ca).unwrap();
    let outcome = answer(&stranger, target, hello("ap-southeast-2")).await;
    assert!(
        outcome.is_err(),
        "a foreign certificate must not be answered: {outcome:?}"
    );
    let outcome = answer(&stranger, target, Frame::SnapshotRequestV1 { table: "t".into() }).await;
    assert!(outcome.is_err(), "nor served a snapshot: {outcome:?}");

    // A region dialled with a certificate from another cluster's CA is
    // refused by the dialler too: our member trusts only our CA.
    let member = cluster.ca.region_identity("ap-southeast-2").unwrap();
    let foreign_server = other.region_identity("us-east-1").unwrap();
    let server_crypto = quinn::crypto::rustls::QuicServerConfig::try_from(foreign_server.server.clone()).unwrap();
    let server = quinn::ServerConfig::with_crypto(Arc::new(server_crypto));
    let endpoint = quinn::Endpoint::server(server, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    // The foreign server accepts, so that the handshake runs to the
    // client's check of its certificate.
    let accepting = endpoint.clone();
    tokio::spawn(async move {
        while let Some(incoming) = accepting.accept().await {
            let _ = incoming.await;
        }
    });
    let dialled = tokio::time::timeout(EXCHANGE, connect(&member, addr, "us-east-1")).await;
    assert!(matches!(dialled, Ok(Err(_))), "{dialled:?}");
    endpoint.close(0u32.into(), b"done");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_certificate_issued_by_init_needs_no_ca_key() {
    let ca = ClusterCa::generate("test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    ca.write_region_files(dir.path(), "eu-west-1").unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["cluster-ca.pem", "region-eu-west-1.key", "region-eu-west-1.pem"]
    );
    use std::os::unix::fs::PermissionsExt;
    let key = dir.path().join("region-eu-west-1.key");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(RegionTls::load(dir.path(), "eu-west-1").unwrap().is_some());
    assert!(RegionTls::load(dir.path(), "us-east-1").unwrap().is_none());
    // A key others can read stops the region, as the CA key does.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let refused = RegionTls::load(dir.path(), "eu-west-1").err().unwrap().to_string();
    assert!(refused.contains("chmod 600"), "{refused}");
}
