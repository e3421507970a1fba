//! Active-active replication between in-process regions over real QUIC on
//! loopback, driven through the AWS SDK.

mod cluster;

use meridian::ids::Seq;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use cluster::settle::settled;
use cluster::{Cluster, converged, create_table, eventually};
use meridian::model::key::encode_primary_key;
use meridian::model::{AttributeValue, Item};
use meridian::store::{Change, Version};

const CONVERGE: Duration = Duration::from_secs(60);

/// A key's expected stored version and item (`None` item: a tombstone).
type Expected = Option<(Version, Option<Item>)>;

fn key(pk: &str) -> Item {
    Item::from([("pk".to_string(), AttributeValue::S(pk.to_string()))])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_conflicting_writes_converge_to_the_highest_version() {
    let cluster = Cluster::start(3, &[]).await;
    create_table(&cluster, 0, "conflicts").await;
    let keys: Vec<String> = (0..12).map(|k| format!("k{k}")).collect();
    let keys = Arc::new(keys);
    let mut writers = Vec::new();
    for region in 0..3 {
        let client = cluster.client(region);
        let keys = keys.clone();
        writers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for n in 0..120u32 {
                let pk = &keys[((n * 7 + region as u32 * 5) % keys.len() as u32) as usize];
                let sent = wall_ns();
                if n % 4 == 3 {
                    client
                        .delete_item()
                        .table_name("conflicts")
                        .key("pk", Av::S(pk.clone()))
                        .send()
                        .await
                        .unwrap();
                } else {
                    client
                        .put_item()
                        .table_name("conflicts")
                        .item("pk", Av::S(pk.clone()))
                        .item("writer", Av::S(format!("region{region}")))
                        .item("n", Av::N(n.to_string()))
                        .send()
                        .await
                        .unwrap();
                }
                made.push(TestWrite {
                    region,
                    pk: pk.clone(),
                    n,
                    sent,
                    answered: wall_ns(),
                });
            }
            made
        }));
    }
    let mut made = Vec::new();
    for writer in writers {
        made.extend(writer.await.unwrap());
    }
    assert_eq!(made.len(), 360);
    let items = converged(&cluster, "conflicts").await;
    assert!(!items.is_empty());
    let mut surviving = 0;

    // The survivor of every key, in every region, is the write with the
    // highest (HLC timestamp, origin region) among all writes to it.
    let mut writes: BTreeMap<Vec<u8>, Vec<(Version, Option<Item>)>> = BTreeMap::new();
    for i in 0..3 {
        let (changes, _) = cluster.node(i).engine().own_changes(Seq(1), usize::MAX).await.unwrap();
        for (_, change) in changes {
            if let Change::Item(change) = change {
                writes
                    .entry(change.key.clone())
                    .or_default()
                    .push((change.version, change.new));
            }
        }
    }
    // Equal scans can still hide a newer tombstone in flight (two deletes
    // look alike in a scan), so wait for the versions themselves.
    let mut expected = Vec::new();
    for pk in keys.iter() {
        let encoded = encode_primary_key(&AttributeValue::S(pk.clone()), None);
        let Some(all) = writes.get(&encoded) else { continue };
        let (max_version, max_item) = all.iter().max_by(|a, b| a.0.cmp(&b.0)).unwrap().clone();
        expected.push((pk.clone(), Some((max_version, max_item))));
    }
    let nodes = &cluster;
    let mismatch = |expected: Vec<(String, Expected)>| async move {
        for (pk, want) in &expected {
            for i in 0..3 {
                let stored = nodes
                    .node(i)
                    .engine()
                    .item_version("conflicts".into(), key(pk))
                    .await
                    .unwrap();
                if &stored != want {
                    return Some(format!("key {pk} in region {i}: {stored:?} != {want:?}"));
                }
            }
        }
        None
    };
    eventually(
        "every key to hold its highest version in every region",
        CONVERGE,
        || {
            let expected = expected.clone();
            async move { mismatch(expected).await.is_none().then_some(()) }
        },
    )
    .await;
    assert_eq!(mismatch(expected).await, None);

    // Each region's log holds exactly the 120 writes it was sent.
    for name in cluster::REGIONS {
        let logged: usize = writes
            .values()
            .flatten()
            .filter(|(version, _)| version.region == *name)
            .count();
        assert_eq!(logged, 120, "item changes originated by {name}");
    }
    // The winners again, now from the writes this test made rather than
    // from the logs: every key's stored version is exactly one of them.
    for pk in keys.iter() {
        let stored = cluster
            .node(0)
            .engine()
            .item_version("conflicts".into(), key(pk))
            .await
            .unwrap();
        let (version, item) = stored.unwrap_or_else(|| panic!("{pk} was written"));
        check_winner(pk, &version, item.as_ref(), &made);
        surviving += usize::from(item.is_some());
    }
    // The keys whose winner was a put, and only those, hold an item (read
    // again: every region now holds every key's final version).
    let items = converged(&cluster, "conflicts").await;
    assert_eq!(items.len(), surviving, "{items:?}");
    cluster.shutdown().await;
}

/// One write a test made: by region `region` (index), to `pk`, its `n`th
/// (a delete when `n % 4 == 3`, else a put of `writer = region<i>, n`),
/// between the system clock readings `sent` and `answered`.
#[derive(Clone, Debug)]
struct TestWrite {
    region: usize,
    pk: String,
    n: u32,
    sent: u64,
    answered: u64,
}

impl TestWrite {
    /// The item the write left, `None` for a delete.
    fn item(&self) -> Option<Item> {
        (self.n % 4 != 3).then(|| {
            let mut item = key(&self.pk);
            item.insert("writer".into(), AttributeValue::S(format!("region{}", self.region)));
            item.insert("n".into(), AttributeValue::N(self.n.to_string().parse().unwrap()));
            item
        })
    }
}

/// Nanoseconds since the epoch by the system clock, which every region of a
/// test cluster stamps writes with (none has an offset).
fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Checks that `pk`'s stored `version` and `item` are those of exactly one
/// of the test's writes `made`, and that LWW allows it to win. Regions share
/// the system clock, so a write is stamped within its send..answer window,
/// and one sent after another was answered has the higher stamp: the winner
/// is a write that no other write to its key was sent after.
fn check_winner(pk: &str, version: &Version, item: Option<&Item>, made: &[TestWrite]) {
    let to_key: Vec<&TestWrite> = made.iter().filter(|w| w.pk == pk).collect();
    let matching: Vec<&&TestWrite> = to_key
        .iter()
        .filter(|w| {
            cluster::REGIONS[w.region] == version.region
                && (w.sent..=w.answered).contains(&version.ts.wall_ns)
                && w.item().as_ref() == item
        })
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "{pk}: {version:?} {item:?} is one write of {to_key:?}"
    );
    let winner = matching[0];
    let later: Vec<&&TestWrite> = to_key.iter().filter(|w| w.sent > winner.answered).collect();
    assert!(later.is_empty(), "{pk}: {winner:?} won over the later {later:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_causally_later_write_wins_even_from_a_clock_behind() {
    // eu-west-1's wall clock runs 5 s behind.
    let cluster = Cluster::start(3, &[0, -5_000, 0]).await;
    create_table(&cluster, 0, "causal").await;
    let (us, eu) = (cluster.client(0), cluster.client(1));
    us.put_item()
        .table_name("causal")
        .item("pk", Av::S("k".into()))
        .item("v", Av::S("from-us".into()))
        .send()
        .await
        .unwrap();
    eventually("the us-east-1 write in eu-west-1", CONVERGE, || {
        let eu = eu.clone();
        async move {
            let item = eu
                .get_item()
                .table_name("causal")
                .key("pk", Av::S("k".into()))
                .send()
                .await
                .ok()?;
            (item.item()?.get("v")? == &Av::S("from-us".into())).then_some(())
        }
    })
    .await;
    eu.put_item()
        .table_name("causal")
        .item("pk", Av::S("k".into()))
        .item("v", Av::S("from-eu".into()))
        .send()
        .await
        .unwrap();
    let items = converged(&cluster, "causal").await;
    assert_eq!(items.len(), 1);
    assert!(items[0].contains("from-eu"), "{items:?}");
    assert_eq!(
        items,
        [format!("pk={:?},v={:?}", Av::S("k".into()), Av::S("from-eu".into()))]
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_region_catches_up_after_restart() {
    let mut cluster = Cluster::start(3, &[]).await;
    create_table(&cluster, 0, "catchup").await;
    cluster.stop(2).await;
    let us = cluster.client(0);
    for n in 0..200 {
        us.put_item()
            .table_name("catchup")
            .item("pk", Av::S(format!("k{n}")))
            .send()
            .await
            .unwrap();
    }
    cluster.restart(2).await;
    let items = converged(&cluster, "catchup").await;
    assert_eq!(items.len(), 200);
    // Its counters started again with it: it applied exactly the 200 puts,
    // all from us-east-1, each once, and nothing lost or was skipped.
    let peers = cluster.node(2).peer_status().unwrap();
    type Counts = (u64, u64, u64, u64);
    let counts = |peer: &str| -> Counts {
        let state = peers.state(peer).unwrap_or_default();
        (state.applied, state.superseded, state.skipped, state.conflicts)
    };
    let seen = settled(
        "ap-southeast-2's apply counts",
        CONVERGE,
        |c: &(Counts, Counts)| c.0.0 >= 200,
        || async { Some((counts("us-east-1"), counts("eu-west-1"))) },
    )
    .await;
    assert_eq!(seen, ((200, 0, 0, 0), (0, 0, 0, 0)));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_a_certificate_from_another_ca_is_refused() {
    let cluster = Cluster::start(2, &[]).await;
    // Signed by another CA, but trusting the cluster's: only the server's
    // check of the client certificate can refuse it.
    let other_ca = meridian::replication::tls::ClusterCa::generate("test").unwrap();
    let stranger = other_ca.identity_trusting("eu-west-1", &cluster.ca).unwrap();
    let member = cluster.ca.region_identity("eu-west-1").unwrap();
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(stranger.client.clone()).unwrap();
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let target = cluster.node(0).peer_addr.unwrap();
    let attempt = async {
        let conn = endpoint.connect(target, "us-east-1.meridian").unwrap().await?;
        // TLS 1.3 clients finish before the server checks their certificate;
        // a refused client sees the connection closed on first use.
        let (mut send, _recv) = conn.open_bi().await?;
        send.write_all(b"x").await?;
        conn.accept_uni().await.map(|_| ()).map_err(anyhow::Error::from)
    };
    // If the server wrongly accepted the certificate, the connection would
    // stay open and the wait would not end: bound it so the test fails.
    let outcome = tokio::time::timeout(Duration::from_secs(30), attempt).await;
    assert!(
        matches!(outcome, Ok(Err(_))),
        "a foreign certificate must not be accepted"
    );

    // The same client with a cluster certificate connects.
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(member.client.clone()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let conn = endpoint.connect(target, "us-east-1.meridian").unwrap().await;
    assert!(conn.is_ok(), "a cluster certificate is accepted: {conn:?}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_replica_of_a_large_table_is_backfilled_while_writes_continue() {
    use aws_sdk_dynamodb::types::{
        CreateReplicationGroupMemberAction, PutRequest, ReplicationGroupUpdate, WriteRequest,
    };
    const ITEMS: usize = 50_000;
    let cluster = Cluster::start(3, &[]).await;
    let us = cluster.client(0);
    cluster::create_local_table(&cluster, 0, "big").await;
    // Only us-east-1 has the table until replicas are added.
    let elsewhere = cluster.client(1).describe_table().table_name("big").send().await;
    assert!(elsewhere.is_err());
    assert_eq!(
        elsewhere.as_ref().err().and_then(ProvideErrorMetadata::code),
        Some("ResourceNotFoundException")
    );

    let mut loaders = Vec::new();
    for part in 0..4 {
        let us = us.clone();
        loaders.push(tokio::spawn(async move {
            for chunk in (part * ITEMS / 4..(part + 1) * ITEMS / 4)
                .collect::<Vec<_>>()
                .chunks(25)
            {
                let requests = chunk
                    .iter()
                    .map(|n| {
                        let put = PutRequest::builder()
                            .item("pk", Av::S(format!("item{n:06}")))
                            .item("v", Av::N(n.to_string()))
                            .build()
                            .unwrap();
                        WriteRequest::builder().put_request(put).build()
                    })
                    .collect();
                us.batch_write_item()
                    .request_items("big", requests)
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for loader in loaders {
        loader.await.unwrap();
    }

    // Writes continue in us-east-1 while the replicas are added and filled.
    let writer = {
        let us = us.clone();
        tokio::spawn(async move {
            for n in 0..400u32 {
                let pk = format!("item{:06}", (n as usize * 97) % ITEMS);
                if n % 5 == 0 {
                    us.delete_item()
                        .table_name("big")
                        .key("pk", Av::S(pk))
                        .send()
                        .await
                        .unwrap();
                } else {
                    let item = us
                        .put_item()
                        .table_name("big")
                        .item("pk", Av::S(pk))
                        .item("v", Av::S(format!("w{n}")));
                    item.send().await.unwrap();
                }
            }
        })
    };
    let mut update = us.update_table().table_name("big");
    for region in ["eu-west-1", "ap-southeast-2"] {
        let create = CreateReplicationGroupMemberAction::builder()
            .region_name(region)
            .build()
            .unwrap();
        update = update.replica_updates(ReplicationGroupUpdate::builder().create(create).build());
    }
    let described = update.send().await.unwrap().table_description.unwrap();
    assert_eq!(described.replicas().len(), 2);
    writer.await.unwrap();
    cluster::wait_replicas_active(&cluster, "big").await;
    let items = converged(&cluster, "big").await;
    assert!(
        items.len() > ITEMS - 400 && items.len() <= ITEMS,
        "{} items",
        items.len()
    );
    // The 400 writes went to 400 different keys (n * 97 < ITEMS), all
    // loaded: the 80 deletes removed one item each, the puts replaced one.
    assert_eq!(items.len(), ITEMS - 80);
    let rewritten = items.iter().filter(|i| i.contains("v=S(\"w")).count();
    assert_eq!(rewritten, 320);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_status_report_requests_links_and_lag() {
    let cluster = Cluster::start(2, &[]).await;
    create_table(&cluster, 0, "observed").await;
    for n in 0..20 {
        cluster
            .client(0)
            .put_item()
            .table_name("observed")
            .item("pk", Av::S(format!("k{n}")))
            .send()
            .await
            .unwrap();
    }
    let missing = cluster
        .client(0)
        .get_item()
        .table_name("nope")
        .key("pk", Av::S("x".into()))
        .send()
        .await;
    assert!(missing.is_err());
    assert_eq!(
        missing.as_ref().err().and_then(ProvideErrorMetadata::code),
        Some("ResourceNotFoundException")
    );
    converged(&cluster, "observed").await;
    let eu = cluster.topology.region[1].api;
    let metrics = eventually("eu-west-1 to report us-east-1's changes", CONVERGE, || async move {
        let body = cluster::http_get(eu, "/metrics").await;
        let series = "meridian_replication_applied_total{peer=\"us-east-1\"} ";
        let applied: u64 = body.lines().find_map(|l| l.strip_prefix(series))?.trim().parse().ok()?;
        // Every put, plus the table description that made eu-west-1 a replica.
        (applied >= 20).then_some(body)
    })
    .await;
    for series in [
        "meridian_replication_lag_p99_seconds{peer=\"us-east-1\"}",
        "meridian_replication_link_up{peer=\"us-east-1\"} 1",
        "meridian_conflicts_total{peer=\"us-east-1\"} 0",
        "meridian_clock_offset_alarms_total{peer=\"us-east-1\"} 0",
        "meridian_commits_total",
    ] {
        assert!(metrics.contains(series), "missing {series} in:\n{metrics}");
    }
    // Every change applied from us-east-1 is also in a lag histogram: its
    // unbounded bucket holds them all.
    let eu_value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
    };
    let lagged = eu_value("meridian_replication_lag_seconds_count{peer=\"us-east-1\"}");
    assert!(lagged >= 20.0, "{metrics}");
    // One lag sample per change shipped here, whether it was applied,
    // superseded or skipped; no more, no less, once nothing more arrives.
    let counts = settled(
        "eu-west-1's counts of us-east-1's changes",
        CONVERGE,
        |_| true,
        || async move {
            let body = cluster::http_get(eu, "/metrics").await;
            let value = |name: &str| -> Option<u64> {
                body.lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            };
            let status: serde_json::Value = serde_json::from_str(&cluster::http_get(eu, "/status").await).ok()?;
            let peer = &status["peers"][0];
            let shipped = ["applied", "superseded", "skipped"].map(|f| peer[f].as_u64());
            Some((
                value("meridian_replication_applied_total{peer=\"us-east-1\"}")?,
                value("meridian_replication_lag_seconds_count{peer=\"us-east-1\"}")?,
                shipped,
            ))
        },
    )
    .await;
    let (applied, samples, [status_applied, superseded, skipped]) = counts;
    assert_eq!(Some(applied), status_applied, "{counts:?}");
    assert_eq!(
        Some(samples),
        Some(applied).zip(superseded).zip(skipped).map(|((a, b), c)| a + b + c),
        "{counts:?}"
    );
    assert!(
        eu_value("meridian_replication_lag_seconds_sum{peer=\"us-east-1\"}") > 0.0,
        "{metrics}"
    );
    assert_eq!(
        eu_value("meridian_replication_lag_seconds_bucket{le=\"+Inf\",peer=\"us-east-1\"}"),
        lagged,
        "{metrics}"
    );
    let us = cluster::http_get(cluster.topology.region[0].api, "/metrics").await;
    assert!(
        us.contains("meridian_requests_total{operation=\"PutItem\",outcome=\"ok\"} 20"),
        "{us}"
    );
    assert!(
        us.contains("meridian_requests_total{operation=\"GetItem\",outcome=\"ResourceNotFoundException\"} 1"),
        "{us}"
    );
    // The 20 acknowledged puts were made durable by log syncs, and the time
    // their writes spent in each stage of the write path is counted.
    let value = |name: &str| -> f64 {
        us.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{us}"))
    };
    assert!(value("meridian_wal_syncs_total") >= 1.0, "{us}");
    assert!(value("meridian_wal_sync_seconds_total") > 0.0, "{us}");
    // Each sync is also counted in a histogram of how long it took: its
    // unbounded bucket holds every sync, as many as its count.
    let syncs = value("meridian_wal_sync_duration_seconds_count");
    assert!(syncs >= 1.0, "{us}");
    assert_eq!(syncs, value("meridian_wal_syncs_total"), "{us}");
    assert!(value("meridian_wal_sync_duration_seconds_sum") > 0.0, "{us}");
    assert_eq!(
        value("meridian_wal_sync_duration_seconds_bucket{le=\"+Inf\"}"),
        syncs,
        "{us}"
    );
    assert!(
        value("meridian_wal_sync_duration_seconds_bucket{le=\"1.0\"}") <= syncs,
        "{us}"
    );
    assert!(value("meridian_write_group_seconds_total") > 0.0, "{us}");
    assert!(value("meridian_write_durable_wait_seconds_total") > 0.0, "{us}");
    assert!(value("meridian_write_queue_wait_seconds_total") >= 0.0, "{us}");
    let status: serde_json::Value = serde_json::from_str(&cluster::http_get(eu, "/status").await).unwrap();
    assert_eq!(status["region"], "eu-west-1");
    assert_eq!(status["peers"][0]["peer"], "us-east-1");
    assert_eq!(status["peers"][0]["receiving"], true);
    // The checkpoint at start-up is made before the store counts them.
    assert!(status["checkpoints"]["count"].is_u64(), "{status}");
    cluster.shutdown().await;
}

/// Puts an item of key `pk` (and nothing else) into `table` in region `i`.
async fn put_key(cluster: &Cluster, i: usize, table: &str, pk: String) {
    cluster
        .client(i)
        .put_item()
        .table_name(table)
        .item("pk", Av::S(pk))
        .send()
        .await
        .unwrap();
}

/// How many times `peer` was resynchronised, once it was at least once
/// (its items can be in before the acknowledgement of the resync is back)
/// and the count has settled, so a second resync would be counted.
async fn resyncs(peers: &Arc<meridian::replication::status::PeerStatus>, peer: &str) -> u64 {
    let count = || peers.state(peer).map_or(0, |s| s.resyncs);
    settled(
        "the resyncs acknowledged",
        CONVERGE,
        |n: &u64| *n > 0,
        || async { Some(count()) },
    )
    .await
}

/// The position of our change log that `peer` acknowledged.
fn acked(peers: &meridian::replication::status::PeerStatus, peer: &str) -> Seq {
    peers.state(peer).map_or(Seq::ZERO, |s| s.acked_seq)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_trimmed_past_what_peers_acknowledged_and_a_peer_that_lost_its_data_is_resynchronised() {
    let mut config = meridian::config::NodeConfig::default();
    config.streams.retention_secs = 1;
    config.storage.log_trim_interval_ms = 100;
    let mut cluster = Cluster::start_configured(2, &[], 2, config).await;
    create_table(&cluster, 0, "trimmed").await;
    for n in 0..30 {
        put_key(&cluster, 0, "trimmed", format!("a{n}")).await;
    }
    converged(&cluster, "trimmed").await;
    // Acknowledged and older than the retention: trimmed up to what
    // eu-west-1 acknowledged (the last entry stays in any case).
    let trim = cluster.node(0).trim_status();
    let engine = cluster.node(0).engine().clone();
    let peers = cluster.node(0).peer_status().unwrap();
    eventually("us-east-1 to trim its change log", CONVERGE, || {
        let (trim, engine, peers) = (trim.clone(), engine.clone(), peers.clone());
        async move {
            let (first, last) = engine.change_log_bounds().await.ok()?;
            let trimmed = trim.trimmed.load(std::sync::atomic::Ordering::Relaxed);
            let acknowledged = acked(&peers, "eu-west-1");
            (trimmed > 0 && acknowledged >= Seq(30) && first >= acknowledged.min(last)).then_some(())
        }
    })
    .await;

    // With eu-west-1 down, what it has not acknowledged stays however old.
    cluster.stop(1).await;
    let acked_before = acked(&peers, "eu-west-1");
    for n in 0..20 {
        put_key(&cluster, 0, "trimmed", format!("b{n}")).await;
    }
    let written = std::time::Instant::now();
    let passes = trim.passes.load(std::sync::atomic::Ordering::Relaxed);
    eventually("trim passes after the retention", CONVERGE, || {
        let trim = trim.clone();
        async move {
            let now = trim.passes.load(std::sync::atomic::Ordering::Relaxed);
            (written.elapsed() > Duration::from_millis(1500) && now >= passes + 3).then_some(())
        }
    })
    .await;
    let (first, last) = engine.change_log_bounds().await.unwrap();
    assert!(
        first <= acked_before + 1,
        "trimmed to {first} past eu-west-1's acknowledged {acked_before}"
    );
    assert!(last >= acked_before + 20);

    // Back up, it catches up from its position, and the log is trimmed again.
    cluster.restart(1).await;
    let items = converged(&cluster, "trimmed").await;
    assert_eq!(items.len(), 50);
    eventually("us-east-1 to trim what eu-west-1 caught up on", CONVERGE, || {
        let engine = engine.clone();
        async move {
            // The 20 entries eu-west-1 missed are gone, but for the last
            // entry when it is the last of them.
            let (first, _) = engine.change_log_bounds().await.ok()?;
            (first >= acked_before + 20).then_some(())
        }
    })
    .await;

    // eu-west-1 overwrites one key many times, so its log runs well past
    // the entries its next incarnation will hold.
    for n in 0..60 {
        cluster
            .client(1)
            .put_item()
            .table_name("trimmed")
            .item("pk", Av::S("hot".into()))
            .item("n", Av::N(n.to_string()))
            .send()
            .await
            .unwrap();
    }
    let items = converged(&cluster, "trimmed").await;
    assert_eq!(items.len(), 51);

    // A peer that lost its data asks for changes from the start, which are
    // gone: it is resynchronised from a snapshot rather than sent the rest
    // with a gap, and gets the table and every item back.
    cluster.wipe_and_restart(1).await;
    assert_eq!(converged(&cluster, "trimmed").await, items);
    assert_eq!(resyncs(&peers, "eu-west-1").await, 1);
    // Its description came with the snapshot: a replica of us-east-1's.
    let described = cluster
        .client(1)
        .describe_table()
        .table_name("trimmed")
        .send()
        .await
        .unwrap();
    let replicas: Vec<&str> = described
        .table()
        .map(|t| t.replicas().iter().filter_map(|r| r.region_name()).collect())
        .unwrap_or_default();
    assert_eq!(replicas, ["us-east-1"]);

    // Its new log is numbered from 1 again: us-east-1 takes it as a new
    // incarnation and applies its new writes, though its old log had gone
    // further than the new one has.
    cluster
        .client(1)
        .put_item()
        .table_name("trimmed")
        .item("pk", Av::S("after-rebuild".into()))
        .send()
        .await
        .unwrap();
    let items = converged(&cluster, "trimmed").await;
    assert_eq!(items.len(), 52);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_away_longer_than_the_log_is_held_for_it_is_resynchronised_from_a_snapshot() {
    let mut config = meridian::config::NodeConfig::default();
    config.streams.retention_secs = 1;
    config.storage.log_trim_interval_ms = 100;
    config.storage.log_hold_max_secs = 1;
    let mut cluster = Cluster::start_configured(2, &[], 2, config).await;
    create_table(&cluster, 0, "held").await;
    create_table(&cluster, 0, "doomed").await;
    for n in 0..10 {
        put_key(&cluster, 0, "held", format!("a{n}")).await;
    }
    converged(&cluster, "held").await;
    let peers = cluster.node(0).peer_status().unwrap();
    let engine = cluster.node(0).engine().clone();

    // eu-west-1 away: past the hold, what it did not acknowledge is trimmed,
    // the deletion of "doomed" among it.
    cluster.stop(1).await;
    let acked_before = acked(&peers, "eu-west-1");
    // eu-west-1 may have applied more than it could acknowledge before it
    // stopped, but nothing past what our log held when it did.
    let (_, last_at_stop) = engine.change_log_bounds().await.unwrap();
    assert!(acked_before <= last_at_stop);
    cluster
        .client(0)
        .delete_table()
        .table_name("doomed")
        .send()
        .await
        .unwrap();
    for n in 0..20 {
        put_key(&cluster, 0, "held", format!("b{n}")).await;
    }
    eventually("us-east-1 to trim what eu-west-1 did not acknowledge", CONVERGE, || {
        let engine = engine.clone();
        async move {
            let (first, _) = engine.change_log_bounds().await.ok()?;
            (first > last_at_stop + 1).then_some(())
        }
    })
    .await;

    // Back, it asks for entries that are gone and gets a snapshot instead,
    // then the log from the position the snapshot holds.
    cluster.restart(1).await;
    let items = converged(&cluster, "held").await;
    assert_eq!(items.len(), 30);
    assert_eq!(resyncs(&peers, "eu-west-1").await, 1);
    // The snapshot holds no "doomed", and says eu-west-1 must drop it.
    let tables = cluster.client(1).list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["held"]);
    put_key(&cluster, 1, "held", "from-eu-west-1".into()).await;
    put_key(&cluster, 0, "held", "from-us-east-1".into()).await;
    assert_eq!(converged(&cluster, "held").await.len(), 32);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_that_lost_its_data_gets_back_the_writes_it_had_replicated() {
    // us-east-1 creates the table and writes; eu-west-1 holds a replica.
    let mut cluster = Cluster::start(2, &[]).await;
    create_table(&cluster, 0, "reborn").await;
    for n in 0..20 {
        put_key(&cluster, 0, "reborn", format!("us{n}")).await;
        put_key(&cluster, 1, "reborn", format!("eu{n}")).await;
    }
    let items = converged(&cluster, "reborn").await;
    assert_eq!(items.len(), 40);

    // us-east-1 loses its disk. Nothing is trimmed, so eu-west-1's log still
    // holds all it originated; but what us-east-1 originated is in
    // eu-west-1's items only, and comes back with a snapshot.
    cluster.wipe_and_restart(0).await;
    assert_eq!(converged(&cluster, "reborn").await, items);
    let peers = cluster.node(1).peer_status().unwrap();
    assert_eq!(resyncs(&peers, "us-east-1").await, 1);

    // Started again on its data, it is the same incarnation: no resync.
    cluster.stop(0).await;
    cluster.restart(0).await;
    put_key(&cluster, 0, "reborn", "after".into()).await;
    assert_eq!(converged(&cluster, "reborn").await.len(), 41);
    assert_eq!(resyncs(&peers, "us-east-1").await, 1);
    cluster.shutdown().await;
}

/// A link whose receiving stream fails starts over on a new connection
/// rather than leaving that direction dead on a live one. The failure here
/// is what a region frozen for longer than the idle timeout meets when it
/// resumes: the batches of its old connection are applied after the new
/// connection read where to start, so the first batch on the new one is
/// refused as out of order (caught by the hung-region drill).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_whose_receiving_stream_fails_starts_over() {
    let cluster = Cluster::start(2, &[]).await;
    create_table(&cluster, 0, "relink").await;
    put_key(&cluster, 0, "relink", "k0".into()).await;
    assert_eq!(converged(&cluster, "relink").await.len(), 1);

    // us-east-1's next writes wait behind a partition; eu-west-1 gets them
    // another way, as late batches of an old connection would bring them.
    cluster::set_link(&cluster, 0, 1, serde_json::json!({ "partitioned": true })).await;
    for n in 1..=5 {
        put_key(&cluster, 0, "relink", format!("k{n}")).await;
    }
    let (us, eu) = (cluster.node(0).engine(), cluster.node(1).engine());
    let origin = meridian::engine::Origin {
        region: "us-east-1".into(),
        incarnation: us.incarnation(),
    };
    let applied = eu.applied_position(origin.clone()).await.unwrap();
    let (changes, through) = us.own_changes(applied.next(), 100).await.unwrap();
    assert_eq!(changes.len(), 5);
    eu.apply_remote(origin, changes, through).await.unwrap();

    // The link's next batch is refused as out of order; the link starts
    // over from what eu-west-1 applied, and carries new writes both ways.
    cluster::set_link(&cluster, 0, 1, serde_json::json!({ "partitioned": false })).await;
    put_key(&cluster, 0, "relink", "k6".into()).await;
    put_key(&cluster, 1, "relink", "k7".into()).await;
    assert_eq!(converged(&cluster, "relink").await.len(), 8);
    cluster.shutdown().await;
}
