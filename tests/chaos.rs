//! Simulated link conditions on real QUIC links between in-process regions,
//! changed live through each region's admin endpoint: a partition withholds
//! changes until heal, a delay shows up as replication lag, loss slows but
//! loses nothing; and clock skew is adjustable live.

mod cluster;

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue as Av;
use cluster::settle::settled;
use cluster::{Cluster, converged, create_table, eventually, http_get, http_post, isolate, set_link};
use serde_json::{Value, json};

const CONVERGE: Duration = Duration::from_secs(60);

async fn put(cluster: &Cluster, region: usize, table: &str, pk: &str) {
    cluster
        .client(region)
        .put_item()
        .table_name(table)
        .item("pk", Av::S(pk.to_string()))
        .item("from", Av::S(cluster.topology.region[region].name.clone()))
        .send()
        .await
        .unwrap();
}

async fn has(cluster: &Cluster, region: usize, table: &str, pk: &str) -> bool {
    let item = cluster
        .client(region)
        .get_item()
        .table_name(table)
        .key("pk", Av::S(pk.to_string()))
        .consistent_read(true)
        .send()
        .await
        .ok()
        .and_then(|r| r.item);
    item.is_some()
}

/// Waits until `pk` is readable in region `region`.
async fn arrives(cluster: &Cluster, region: usize, table: &str, pk: &str) {
    eventually(&format!("{pk} in region {region}"), CONVERGE, || async move {
        has(cluster, region, table, pk).await.then_some(())
    })
    .await;
}

/// Replication state region `at` reports about `peer`.
async fn peer_state(cluster: &Cluster, at: usize, peer: usize) -> Value {
    let status: Value = serde_json::from_str(&http_get(cluster.topology.region[at].api, "/status").await).unwrap();
    let name = &cluster.topology.region[peer].name;
    status["peers"]
        .as_array()
        .and_then(|peers| peers.iter().find(|p| p["peer"] == json!(name)))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_region_keeps_its_changes_until_heal_then_delivers_all() {
    let cluster = Cluster::start(3, &[]).await;
    create_table(&cluster, 0, "split").await;
    isolate(&cluster, 0, true).await;

    for n in 0..20 {
        put(&cluster, 0, "split", &format!("us-{n}")).await;
    }
    // The others still replicate between themselves: by the time a write of
    // eu-west-1 has reached ap-southeast-2 and one of ap-southeast-2 has come
    // back, us-east-1's writes had every chance to travel, and must not have.
    put(&cluster, 1, "split", "eu-probe").await;
    arrives(&cluster, 2, "split", "eu-probe").await;
    put(&cluster, 2, "split", "ap-probe").await;
    arrives(&cluster, 1, "split", "ap-probe").await;
    for region in [1, 2] {
        for n in [0, 19] {
            assert!(
                !has(&cluster, region, "split", &format!("us-{n}")).await,
                "us-{n} crossed the partition to region {region}"
            );
        }
    }
    assert!(
        !has(&cluster, 0, "split", "eu-probe").await,
        "eu-probe crossed into us-east-1"
    );

    // What each region applied from each peer so far, to count what the
    // heal delivers.
    let pairs = [(1, 0), (2, 0), (0, 1), (0, 2)];
    let applied = || async {
        let mut counts = Vec::new();
        for (at, from) in pairs {
            counts.push(peer_state(&cluster, at, from).await["applied"].as_u64()?);
        }
        Some(counts)
    };
    let before = applied().await.unwrap();
    isolate(&cluster, 0, false).await;
    let items = converged(&cluster, "split").await;
    assert_eq!(items.len(), 22);
    // Once nothing more arrives: us-east-1's 20 writes in each of the
    // others, and each probe in us-east-1, each applied once.
    let delivered = |after: &Vec<u64>| -> Vec<u64> { after.iter().zip(&before).map(|(a, b)| a - b).collect() };
    let after = settled("the changes the heal delivered", CONVERGE, |_| true, applied).await;
    assert_eq!(delivered(&after), [20, 20, 1, 1], "{before:?} -> {after:?}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_delay_shows_up_as_replication_lag() {
    const DELAY_MS: f64 = 1000.0;
    // No checkpoint during the test: on a loaded machine one can hold the
    // receiver's writer for hundreds of ms, which is applying time, and
    // this test is about where the link's delay lands.
    let mut config = meridian::config::NodeConfig::default();
    config.storage.checkpoint_interval_ms = 600_000;
    let cluster = Cluster::start_configured(2, &[], 2, config).await;
    create_table(&cluster, 0, "slow").await;
    set_link(&cluster, 0, 1, json!({ "delay_ms": DELAY_MS as u64 })).await;
    let (_, links) = http_post(
        cluster.topology.region[0].api,
        "/admin/links",
        &json!({"to": "eu-west-1"}),
    )
    .await;
    assert_eq!(links["link"]["delay_ms"], json!(DELAY_MS as u64));

    // Writes in quick succession: all of them are in flight at once.
    for n in 0..30 {
        put(&cluster, 0, "slow", &format!("k{n}")).await;
    }
    arrives(&cluster, 1, "slow", "k29").await;
    let state = peer_state(&cluster, 1, 0).await;
    let (p50, p99) = (
        state["lag_p50_ms"].as_f64().unwrap(),
        state["lag_p99_ms"].as_f64().unwrap(),
    );
    assert!(p50 >= DELAY_MS * 0.8, "lag p50 {p50} ms under a {DELAY_MS} ms delay");
    assert!(p99 <= DELAY_MS + 2000.0, "lag p99 {p99} ms under a {DELAY_MS} ms delay");
    // The delay is on the way here, not in applying here.
    let (shipping, applying) = (
        state["lag_shipping_p50_ms"].as_f64().unwrap(),
        state["lag_applying_p50_ms"].as_f64().unwrap(),
    );
    assert!(
        shipping >= DELAY_MS * 0.8,
        "shipping p50 {shipping} ms under a {DELAY_MS} ms delay"
    );
    assert!(applying < DELAY_MS * 0.5, "applying p50 {applying} ms");
    // The lag counts from each write's commit at the origin (sent with the
    // change), which comes after the write's HLC stamp.
    let from_write = state["lag_from_write_p50_ms"].as_f64().unwrap();
    assert!(
        from_write > p50,
        "lag p50 {p50} ms from the commit, {from_write} ms from the write"
    );

    // The other direction has no delay configured. Several writes, so the
    // median is theirs and not that of the one table change eu-west-1 sent
    // (its replica turning ACTIVE), which on a loaded machine can be late.
    for n in 0..20 {
        put(&cluster, 1, "slow", &format!("back{n}")).await;
    }
    arrives(&cluster, 0, "slow", "back19").await;
    let back = peer_state(&cluster, 0, 1).await["lag_p50_ms"].as_f64().unwrap();
    assert!(back < DELAY_MS * 0.8, "reverse lag {back} ms");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_slows_replication_but_loses_nothing() {
    let cluster = Cluster::start(2, &[]).await;
    create_table(&cluster, 0, "lossy").await;
    set_link(&cluster, 0, 1, json!({ "loss": 0.3, "delay_ms": 10 })).await;
    let applied = || async { peer_state(&cluster, 1, 0).await["applied"].as_u64() };
    let before = applied().await.unwrap();
    for n in 0..100 {
        put(&cluster, 0, "lossy", &format!("k{n}")).await;
    }
    let items = converged(&cluster, "lossy").await;
    assert_eq!(items.len(), 100);
    // Retransmitted or not, each write was applied once.
    let after = settled("eu-west-1's applied count", CONVERGE, |_| true, applied).await;
    assert_eq!(after - before, 100);
    // Nearly a third of the batches waited for a simulated retransmission.
    let p99 = peer_state(&cluster, 1, 0).await["lag_p99_ms"].as_f64().unwrap();
    assert!(p99 >= 80.0, "lag p99 {p99} ms with 30% loss");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_changes_are_validated_and_clock_skew_is_live() {
    let cluster = Cluster::start(2, &[]).await;
    let api = cluster.topology.region[0].api;
    let (status, _) = http_post(api, "/admin/links", &json!({"to": "nowhere", "delay_ms": 5})).await;
    assert_eq!(status, 400);
    let (status, _) = http_post(api, "/admin/links", &json!({"to": "eu-west-1", "loss": 1.5})).await;
    assert_eq!(status, 400);
    let links: Value = serde_json::from_str(&http_get(api, "/admin/links").await).unwrap();
    assert_eq!(links["links"]["eu-west-1"]["loss"], json!(0.0));

    let (status, body) = http_post(api, "/admin/clock", &json!({"offset_ms": -3000})).await;
    assert_eq!((status, &body["offset_ms"]), (200, &json!(-3000)));
    let status: Value = serde_json::from_str(&http_get(api, "/status").await).unwrap();
    assert_eq!(status["clock_offset_ms"], json!(-3000));
    cluster.shutdown().await;
}

/// Nanoseconds since the epoch by the system clock, the clock every
/// region of a test cluster stamps writes with (none has an offset).
fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Puts `{pk, v}` in region `region`; returns the system clock just
/// before the request and just after its answer, which bracket the wall
/// time of the HLC stamp the write got (regions without a clock offset
/// stamp with the system clock, or with a timestamp they observed, which
/// was issued earlier).
async fn put_bracketed(cluster: &Cluster, region: usize, table: &str, pk: &str, v: &str) -> (u64, u64) {
    let sent = wall_ns();
    cluster
        .client(region)
        .put_item()
        .table_name(table)
        .item("pk", Av::S(pk.to_string()))
        .item("v", Av::S(v.to_string()))
        .send()
        .await
        .unwrap();
    (sent, wall_ns())
}

/// A region's `/metrics` value of `series` (name and labels), if any.
async fn metric(cluster: &Cluster, region: usize, series: &str) -> Option<f64> {
    let body = http_get(cluster.topology.region[region].api, "/metrics").await;
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The conflict records of `table` in region `region`, sorted by the
/// winner's key, each with the versions' wall times left out (returned
/// apart, in the same order) so a test can compare the rest exactly.
async fn conflicts(cluster: &Cluster, region: usize, table: &str) -> Option<(Vec<Value>, Vec<(u64, u64)>)> {
    let body = http_get(
        cluster.topology.region[region].api,
        &format!("/admin/conflicts?table={table}"),
    )
    .await;
    let body: Value = serde_json::from_str(&body).ok()?;
    let mut rows = body["conflicts"].as_array()?.clone();
    // A delete's item is null: the key is in the other one.
    let key = |r: &Value| {
        let item = if r["winner_item"].is_null() {
            &r["loser_item"]
        } else {
            &r["winner_item"]
        };
        item["pk"]["S"].as_str().unwrap_or("").to_string()
    };
    rows.sort_by_key(key);
    let mut walls = Vec::new();
    for row in &mut rows {
        let winner = row["winner"].as_object_mut()?.remove("wall_ns")?.as_u64()?;
        let loser = row["loser"].as_object_mut()?.remove("wall_ns")?.as_u64()?;
        walls.push((winner, loser));
    }
    Some((rows, walls))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_across_a_partition_is_recorded_with_both_versions_and_counted() {
    let cluster = Cluster::start(2, &[]).await;
    create_table(&cluster, 0, "clash").await;
    let peer = |i: usize| {
        format!(
            "meridian_conflicts_total{{peer=\"{}\"}}",
            cluster.topology.region[i].name
        )
    };
    assert_eq!(metric(&cluster, 0, &peer(1)).await, Some(0.0));
    assert_eq!(metric(&cluster, 1, &peer(0)).await, Some(0.0));
    isolate(&cluster, 0, true).await;

    // Both regions write "eu-wins" and "us-wins" while cut off from each
    // other, neither having seen the other's write; us-east-1 puts
    // "eu-deletes", then eu-west-1, which never had it, deletes it; "solo"
    // is written in one region only. The second write to a key is sent after the first
    // was answered, so its HLC stamp has the later wall time: it wins.
    let us_first = put_bracketed(&cluster, 0, "clash", "eu-wins", "us").await;
    let eu_second = put_bracketed(&cluster, 1, "clash", "eu-wins", "eu").await;
    let eu_first = put_bracketed(&cluster, 1, "clash", "us-wins", "eu").await;
    let us_second = put_bracketed(&cluster, 0, "clash", "us-wins", "us").await;
    let us_put = put_bracketed(&cluster, 0, "clash", "eu-deletes", "us").await;
    let sent = wall_ns();
    cluster
        .client(1)
        .delete_item()
        .table_name("clash")
        .key("pk", Av::S("eu-deletes".into()))
        .send()
        .await
        .unwrap();
    let eu_delete = (sent, wall_ns());
    put_bracketed(&cluster, 0, "clash", "solo", "us").await;
    isolate(&cluster, 0, false).await;

    let items = converged(&cluster, "clash").await;
    let expected_items = [("eu-wins", "eu"), ("solo", "us"), ("us-wins", "us")];
    let expected_items: Vec<String> = expected_items
        .iter()
        .map(|(pk, v)| format!("pk={:?},v={:?}", Av::S(pk.to_string()), Av::S(v.to_string())))
        .collect();
    assert_eq!(items, expected_items);
    // Sizes are names plus values: "pk" + key + "v" + two letters, for
    // "eu-wins" and "us-wins" (12 bytes each) and "solo" (9). Each region
    // replaced or removed its own losing versions in its counts.
    for region in 0..2 {
        let described = cluster
            .client(region)
            .describe_table()
            .table_name("clash")
            .send()
            .await
            .unwrap();
        let table = described.table().unwrap();
        assert_eq!(
            (table.item_count(), table.table_size_bytes()),
            (Some(3), Some(33)),
            "region {region}"
        );
    }

    // Each region saw the three contested keys lose on one side: the record is
    // the same in both, the winner and loser the test expects.
    let version = |region: &str| json!({ "region": region, "logical": 0 });
    let item = |pk: &str, v: &str| json!({ "pk": { "S": pk }, "v": { "S": v } });
    let expected = vec![
        json!({
            "table": "clash",
            "winner": version("eu-west-1"), "winner_item": null,
            "loser": version("us-east-1"), "loser_item": item("eu-deletes", "us"),
        }),
        json!({
            "table": "clash",
            "winner": version("eu-west-1"), "winner_item": item("eu-wins", "eu"),
            "loser": version("us-east-1"), "loser_item": item("eu-wins", "us"),
        }),
        json!({
            "table": "clash",
            "winner": version("us-east-1"), "winner_item": item("us-wins", "us"),
            "loser": version("eu-west-1"), "loser_item": item("us-wins", "eu"),
        }),
    ];
    let within = |wall: u64, (from, to): (u64, u64)| (from..=to).contains(&wall);
    for region in 0..2 {
        let (rows, walls) = settled(
            &format!("the conflicts of region {region}"),
            CONVERGE,
            |(rows, _): &(Vec<Value>, Vec<(u64, u64)>)| rows.len() >= 3,
            || conflicts(&cluster, region, "clash"),
        )
        .await;
        assert_eq!(rows, expected, "region {region}");
        let (eu_deletes, eu_wins, us_wins) = (walls[0], walls[1], walls[2]);
        assert!(
            within(eu_deletes.0, eu_delete) && within(eu_deletes.1, us_put),
            "{walls:?}"
        );
        assert!(within(eu_wins.0, eu_second) && within(eu_wins.1, us_first), "{walls:?}");
        assert!(within(us_wins.0, us_second) && within(us_wins.1, eu_first), "{walls:?}");
        // Counted once each, on the link the losing or winning write came in by.
        let other = 1 - region;
        assert_eq!(
            metric(&cluster, region, &peer(other)).await,
            Some(3.0),
            "region {region}"
        );
        assert_eq!(peer_state(&cluster, region, other).await["conflicts"], json!(3));
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_clock_beyond_the_maximum_offset_raises_alarms() {
    const SKEW_MS: i64 = 3_000;
    let cluster = Cluster::start(2, &[]).await;
    create_table(&cluster, 0, "skewed").await;
    let alarms = |i: usize| {
        format!(
            "meridian_clock_offset_alarms_total{{peer=\"{}\"}}",
            cluster.topology.region[i].name
        )
    };
    // In step, a write raises no alarm.
    put(&cluster, 1, "skewed", "before").await;
    arrives(&cluster, 0, "skewed", "before").await;
    assert_eq!(metric(&cluster, 0, &alarms(1)).await, Some(0.0));

    // eu-west-1's wall clock jumps 3 s ahead, six times the 500 ms the
    // regions tolerate. Each write is one batch on the link (the next is
    // sent once it has arrived), and each batch raises one alarm.
    let (status, _) = http_post(
        cluster.topology.region[1].api,
        "/admin/clock",
        &json!({ "offset_ms": SKEW_MS }),
    )
    .await;
    assert_eq!(status, 200);
    for n in 0..3 {
        let pk = format!("ahead{n}");
        put(&cluster, 1, "skewed", &pk).await;
        arrives(&cluster, 0, "skewed", &pk).await;
    }
    let state = settled(
        "us-east-1's clock alarms about eu-west-1",
        CONVERGE,
        |s: &Value| s["clock_alarms"].as_u64() >= Some(3),
        || async { Some(peer_state(&cluster, 0, 1).await) },
    )
    .await;
    assert_eq!(state["clock_alarms"], json!(3), "{state}");
    // Its stamps ran ahead of our wall clock by the skew, less the time they
    // took to arrive, which is under the skew less the tolerance.
    let ahead = state["max_clock_ahead_ms"].as_u64().unwrap();
    assert!(ahead > 500 && ahead <= SKEW_MS as u64, "{state}");
    assert_eq!(metric(&cluster, 0, &alarms(1)).await, Some(3.0));
    // eu-west-1's clock is ahead, so nothing it receives is: no alarm there.
    assert_eq!(metric(&cluster, 1, &alarms(0)).await, Some(0.0));
    assert_eq!(peer_state(&cluster, 1, 0).await["clock_alarms"], json!(0));
    cluster.shutdown().await;
}
