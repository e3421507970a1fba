//! `meridian bench --scenario auth`: PutItem and GetItem against a region
//! with `auth = "sigv4"` and one with `auth = "none"`, in the same run, in
//! interleaved rounds (none, sigv4, none, sigv4...) so that the machine's
//! drift falls on both alike. The signed region checks every request's
//! signature and its user's policy (one Allow statement).
//!
//! The target (signed / unsigned >= 0.85) is about the server, but the
//! load generator runs in the same process on the same cores: signing
//! there would count the client's SHA-256 and HMAC against the signed side.
//! So every request is built, and signed, before the measured rounds, and
//! the loads replay those pools (a SigV4 signature stays valid for 15
//! minutes, and DynamoDB accepts one as often as it is sent): PutItem
//! cycles through `PUT_POOL` distinct items, GetItem through the
//! `READ_ITEMS` keys. The unsigned side replays pools built the same way,
//! so both sides' load generator does the same work.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::args::BenchArgs;
use super::load::{Prepared, ROUNDS, Samples, one_signed_request, prepare, sample_replayed};
use super::region::{TABLE, start_bench_node_with, tempfile_dir};
use super::report::print_measurements;
use super::workload::put_items;
use crate::cli::signer::Signer;
use crate::model::{AttributeValue, Item};

/// Items the GetItems cycle over.
const READ_ITEMS: usize = 1000;
/// Distinct items the PutItems cycle over: signed before the measurement,
/// sent again once every one has been.
const PUT_POOL: usize = 16_384;
const KEY_ID: &str = "AKIDBENCH";
const SECRET: &str = "bench-secret";

/// Runs the auth scenario and prints its table.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?.join("auth");
    std::fs::create_dir_all(&dir)?;
    let credentials = dir.join("users.toml");
    let users = format!(
        "[[user]]\nname = \"bench\"\naccess_key_id = \"{KEY_ID}\"\nsecret_access_key = \"{SECRET}\"\n\
         policy = '{{\"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"dynamodb:*\", \"Resource\": \"*\"}}}}'\n"
    );
    crate::replication::tls::write_secret(&credentials, users.as_bytes())?;
    let open = start_bench_node_with(&dir.join("none"), 0, |_| ()).await?;
    let signed = start_bench_node_with(&dir.join("sigv4"), 0, |config| {
        config.auth = "sigv4".into();
        config.auth_credentials = credentials.display().to_string();
    })
    .await?;
    let signer = Arc::new(Signer::new(KEY_ID, SECRET, "bench-1"));
    let regions = [(&open, None), (&signed, Some(signer))];
    for (node, signer) in &regions {
        let create = json!({
            "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        });
        let addr = node.api_addr.to_string();
        one_signed_request(&addr, "CreateTable", create.to_string(), signer.as_deref()).await?;
        let payload = "x".repeat(args.item_bytes.saturating_sub(40));
        put_items(node, TABLE, READ_ITEMS, |i| {
            Item::from([
                ("pk".to_string(), AttributeValue::S(format!("g{i}"))),
                ("payload".to_string(), AttributeValue::S(payload.clone())),
            ])
        })
        .await?;
    }

    let slice = Duration::from_secs(args.seconds)
        .div_f64(f64::from(ROUNDS))
        .max(Duration::from_secs(1));
    let payload = "x".repeat(args.item_bytes.saturating_sub(40));
    let mut pools = Vec::new();
    for (node, signer) in &regions {
        let addr = node.api_addr.to_string();
        let puts = pool(&addr, signer.as_deref(), PUT_POOL, |n| {
            let item = json!({"pk": {"S": format!("p{n}")}, "payload": {"S": payload}});
            ("PutItem", json!({"TableName": TABLE, "Item": item}).to_string())
        })?;
        let gets = pool(&addr, signer.as_deref(), READ_ITEMS, |n| {
            let key = json!({"pk": {"S": format!("g{n}")}});
            ("GetItem", json!({"TableName": TABLE, "Key": key}).to_string())
        })?;
        pools.push((addr, puts, gets));
    }
    println!(
        "Requests are built and signed before the measured rounds ({PUT_POOL} PutItems of distinct items, \
         {READ_ITEMS} GetItems, per region) and replayed, so the load generator does no signing while \
         measured: the ratios are the server's cost of checking signatures and policies."
    );
    let connections = args.connections();
    let mut samples: [Samples; 4] = Default::default();
    for round in 0..ROUNDS {
        // Alternate which goes first, so that neither always runs on a
        // warmer (or colder) machine.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (addr, puts, gets) = &pools[i];
            samples[i].add(sample_replayed(addr, connections, slice, puts.clone()).await?);
            samples[2 + i].add(sample_replayed(addr, connections, slice, gets.clone()).await?);
        }
    }
    open.shutdown().await;
    signed.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    let [put_none, put_signed, get_none, get_signed] = samples;
    let put_none = put_none.summarise("PutItem, auth = none");
    let put_signed = put_signed.summarise("PutItem, auth = sigv4");
    let get_none = get_none.summarise("GetItem, auth = none");
    let get_signed = get_signed.summarise("GetItem, auth = sigv4");
    print_measurements(&[&put_none, &put_signed, &get_none, &get_signed]);
    println!(
        "\nPutItem sigv4 / none: {:.2} (target >= 0.85)",
        put_signed.ops_per_sec / put_none.ops_per_sec
    );
    println!(
        "GetItem sigv4 / none: {:.2} (target >= 0.85)",
        get_signed.ops_per_sec / get_none.ops_per_sec
    );
    Ok(())
}

/// `count` requests `make(n)` makes for `addr`, signed by `signer` when
/// given, ready to replay.
fn pool(
    addr: &str,
    signer: Option<&Signer>,
    count: usize,
    make: impl Fn(usize) -> (&'static str, String),
) -> anyhow::Result<Arc<Vec<Prepared>>> {
    let requests = (0..count).map(|n| {
        let (op, body) = make(n);
        prepare(addr, op, body, signer)
    });
    Ok(Arc::new(requests.collect::<anyhow::Result<Vec<_>>>()?))
}
