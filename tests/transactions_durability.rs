//! Transactions and what outlives them: a SIGKILL under a transfer load
//! leaves every acknowledged transaction whole and none half there; a PITR
//! restore to any instant holds whole transactions only; a stream holds
//! one record per item a transaction changed, in action order.

mod bank;
mod common;
mod stream_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::{ScalarAttributeType, StreamViewType};
use bank::{TOTAL, balances, open_accounts, put, transfer, transfer_plan};
use common::kill::Kill;
use common::pitr::{enable_pitr, wait_restorable};
use common::{Keys, ServeProcess, TestRegion, create_table, item, s, wait_for};
use stream_support::{image_s, settled_records, streams_client, table_with_stream};

const WRITERS: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_transfers_leaves_only_whole_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start(dir.path()).await;
    create_table(&server.client, "accounts", Keys::Hash("pk", ScalarAttributeType::S)).await;
    open_accounts(&server.client, "accounts").await;
    let acked = Arc::new(AtomicUsize::new(0));
    let kill = Kill::default();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (client, acked, kill) = (server.client.clone(), acked.clone(), kill.clone());
        writers.push(tokio::spawn(async move {
            // Each transfer also writes a receipt: an acknowledged transfer
            // must have its receipt after the restart, and a receipt
            // without its balance changes would be half a transaction.
            let mut receipts = Vec::new();
            for t in 0.. {
                let (from, to, amount) = transfer_plan(w, t);
                let receipt = format!("receipt-{w}-{t}");
                let sent = client
                    .transact_write_items()
                    .transact_items(bank::withdraw("accounts", &from, amount))
                    .transact_items(bank::add("accounts", &to, amount))
                    .transact_items(put("accounts", item([("pk", s(&receipt))])))
                    .send()
                    .await;
                match sent {
                    Ok(_) => {
                        receipts.push(receipt);
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error)
                        if error
                            .as_service_error()
                            .is_some_and(|e| e.is_transaction_canceled_exception()) => {}
                    Err(error) => {
                        kill.expect_caused_by_kill(&format!("writer {w}"), &error);
                        return receipts;
                    }
                }
            }
            unreachable!("a writer ends at the kill")
        }));
    }
    wait_for("acknowledged transfers", || {
        let acked = acked.clone();
        async move { (acked.load(Ordering::Relaxed) >= 150).then_some(()) }
    })
    .await;
    kill.begin();
    server.kill().await;
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }

    let server = ServeProcess::start(dir.path()).await;
    let end = balances(&server.client, "accounts").await.expect("every account");
    assert_eq!(end.iter().sum::<i64>(), TOTAL, "a transaction is half there: {end:?}");
    for receipt in &acknowledged {
        let found = server
            .client
            .get_item()
            .table_name("accounts")
            .key("pk", s(receipt))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        assert!(found.item().is_some(), "acknowledged transfer {receipt} lost");
    }
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_to_any_instant_holds_whole_transactions() {
    let region = TestRegion::start().await;
    let client = region.client.clone();
    create_table(&client, "accounts", Keys::Hash("pk", ScalarAttributeType::S)).await;
    enable_pitr(&client, "accounts").await;
    open_accounts(&client, "accounts").await;
    // Instants taken while transfers run, so that they fall anywhere,
    // between the commits of transactions or during them.
    let applied = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..3u64)
        .map(|w| {
            let (client, applied) = (client.clone(), applied.clone());
            tokio::spawn(async move {
                for t in 0..40 {
                    transfer(&client, "accounts", &transfer_plan(w, t)).await.unwrap();
                    applied.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut instants = Vec::new();
    for k in 1..=5 {
        wait_for("transfers to go on", || {
            let applied = applied.clone();
            async move { (applied.load(Ordering::Relaxed) >= k * 20).then_some(()) }
        })
        .await;
        instants.push(common::pitr::now_ms());
    }
    for writer in writers {
        writer.await.unwrap();
    }
    for (n, at_ms) in instants.into_iter().enumerate() {
        wait_restorable(&client, "accounts", at_ms).await;
        let target = format!("restored{n}");
        client
            .restore_table_to_point_in_time()
            .source_table_name("accounts")
            .target_table_name(&target)
            .restore_date_time(aws_sdk_dynamodb::primitives::DateTime::from_millis(at_ms as i64))
            .send()
            .await
            .unwrap();
        let restored = wait_for("the restored table", || {
            let (client, target) = (client.clone(), target.clone());
            async move { balances(&client, &target).await }
        })
        .await;
        assert_eq!(restored.iter().sum::<i64>(), TOTAL, "restore at {at_ms}: {restored:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_holds_one_record_per_item_in_action_order() {
    let region = TestRegion::start().await;
    let arn = table_with_stream(&region.client, "events", StreamViewType::NewAndOldImages).await;
    region
        .client
        .transact_write_items()
        .transact_items(put("events", item([("pk", s("c"))])))
        .transact_items(put("events", item([("pk", s("a"))])))
        .transact_items(put("events", item([("pk", s("b"))])))
        .send()
        .await
        .unwrap();
    let streams = streams_client(region.addr, common::REGION);
    let records = settled_records(&streams, &arn, "three records", |r| r.len() >= 3).await;
    let keys: Vec<String> = records.iter().filter_map(|r| image_s(r, "pk")).collect();
    assert_eq!(keys, ["c", "a", "b"]);
}
