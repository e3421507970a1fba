//! Transactions on a global table, three regions: a transaction's changes
//! travel as one unit and are applied in one commit in every region, so a
//! reader in another region (TransactGetItems or Scan) never sees part of
//! one; and the same transfer load issued in every region at once
//! converges (last-writer-wins decides each item, so the bank's total
//! holds within a region's own transactions only: see the README).

mod bank;
mod cluster;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use bank::{TOTAL, balances, open_accounts, scanned_balances, transfer, transfer_plan};
use cluster::{Cluster, converged, create_table, eventually};

const CONVERGE: Duration = Duration::from_secs(60);

/// Runs `writers` transfer loops of `count` transfers each against `client`.
fn spawn_transfers(client: &Client, writers: u64, first_writer: u64, count: u64) -> Vec<tokio::task::JoinHandle<u64>> {
    (first_writer..first_writer + writers)
        .map(|w| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut applied = 0;
                for t in 0..count {
                    if transfer(&client, "accounts", &transfer_plan(w, t))
                        .await
                        .expect("a transfer")
                    {
                        applied += 1;
                    }
                }
                applied
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_in_another_region_never_sees_part_of_a_transaction() {
    let cluster = Cluster::start(3, &[]).await;
    create_table(&cluster, 0, "accounts").await;
    let (writer, reader) = (cluster.client(0), cluster.client(1));
    open_accounts(&writer, "accounts").await;
    eventually("the accounts in the other region", CONVERGE, || {
        let reader = reader.clone();
        async move { balances(&reader, "accounts").await }
    })
    .await;

    let done = Arc::new(AtomicBool::new(false));
    let (reads, changed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let watcher = {
        let (reader, done, reads, changed) = (reader.clone(), done.clone(), reads.clone(), changed.clone());
        tokio::spawn(async move {
            let mut last = None;
            while !done.load(Ordering::Relaxed) {
                for seen in [
                    balances(&reader, "accounts").await,
                    scanned_balances(&reader, "accounts").await,
                ] {
                    let seen = seen.expect("every account, read in one snapshot");
                    assert_eq!(seen.iter().sum::<i64>(), TOTAL, "part of a transaction: {seen:?}");
                    reads.fetch_add(1, Ordering::Relaxed);
                    if last.as_ref().is_some_and(|l| *l != seen) {
                        changed.fetch_add(1, Ordering::Relaxed);
                    }
                    last = Some(seen);
                }
            }
        })
    };
    let mut applied = 0;
    for handle in spawn_transfers(&writer, 4, 0, 50) {
        applied += handle.await.unwrap();
    }
    let end = balances(&writer, "accounts").await.unwrap();
    eventually("the other region to reach the writer's balances", CONVERGE, || {
        let (reader, end) = (reader.clone(), end.clone());
        async move { (balances(&reader, "accounts").await? == end).then_some(()) }
    })
    .await;
    done.store(true, Ordering::Relaxed);
    watcher.await.unwrap();
    assert!(applied > 0);
    assert!(reads.load(Ordering::Relaxed) > 0);
    println!(
        "{applied} transfers; {} reads in the other region, {} saw the balances change",
        reads.load(Ordering::Relaxed),
        changed.load(Ordering::Relaxed)
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_in_every_region_at_once_converge() {
    let cluster = Cluster::start(3, &[]).await;
    create_table(&cluster, 0, "accounts").await;
    open_accounts(&cluster.client(0), "accounts").await;
    for i in 1..3 {
        let client = cluster.client(i);
        eventually("the accounts everywhere", CONVERGE, || {
            let client = client.clone();
            async move { balances(&client, "accounts").await }
        })
        .await;
    }
    let mut handles = Vec::new();
    for i in 0..3 {
        handles.extend(spawn_transfers(&cluster.client(i), 2, 10 * i as u64, 30));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let items = converged(&cluster, "accounts").await;
    assert_eq!(items.len(), bank::ACCOUNTS);
    cluster.shutdown().await;
}
