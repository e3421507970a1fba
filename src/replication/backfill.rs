//! Backfilling a new replica: when this region becomes a replica of a table
//! (its own replica entry says CREATING), it pulls a consistent snapshot of
//! the table from every peer and merges each by LWW while writes continue,
//! then marks itself ACTIVE. Asking every peer, not only the region that
//! added the replica, covers writes a third region made before this region
//! had the table: their origin still holds them (or something newer).
//! The CREATING state is stored, so a restart resumes an unfinished backfill.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::context::LinkContext;
use super::link::pull_snapshot;

/// How often to look for replicas to backfill besides commit notifications.
const POLL: Duration = Duration::from_millis(500);
/// Least time between two looks after commits: a look reads every table's
/// description, and under load the writer commits a group every few
/// hundred microseconds. Looking after each had this task read the tables
/// without pause, on every region, replicated or not.
const RECHECK: Duration = Duration::from_millis(20);
/// Wait between attempts to reach a peer that is not connected.
const RETRY: Duration = Duration::from_millis(200);

/// Watches for tables to backfill and runs one task per table.
pub async fn run(ctx: Arc<LinkContext>, peers: Vec<String>) {
    let in_progress = Arc::new(Mutex::new(HashSet::<String>::new()));
    let mut commits = ctx.engine.subscribe_commits();
    let mut stop = ctx.stop.clone();
    loop {
        match ctx.engine.tables_being_backfilled().await {
            Ok(tables) => {
                for table in tables {
                    let fresh = in_progress
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(table.clone());
                    if fresh {
                        let (ctx, peers, in_progress) = (ctx.clone(), peers.clone(), in_progress.clone());
                        tokio::spawn(async move {
                            backfill(&ctx, &peers, &table).await;
                            in_progress.lock().unwrap_or_else(|e| e.into_inner()).remove(&table);
                        });
                    }
                }
            }
            Err(error) => tracing::warn!(region = %ctx.region, error = %error, "cannot list tables to backfill"),
        }
        tokio::select! {
            _ = commits.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(RECHECK) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn backfill(ctx: &LinkContext, peers: &[String], table: &str) {
    tracing::info!(region = %ctx.region, %table, "backfilling new replica");
    for peer in peers {
        loop {
            if *ctx.stop.borrow() {
                return;
            }
            let Some(conn) = ctx.connection(peer) else {
                tokio::time::sleep(RETRY).await;
                continue;
            };
            match pull_snapshot(ctx, &conn, table).await {
                Ok(won) => {
                    tracing::info!(region = %ctx.region, %table, %peer, merged = won, "snapshot merged");
                    break;
                }
                Err(error) => {
                    tracing::warn!(region = %ctx.region, %table, %peer, error = %error, "snapshot failed; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }
    match ctx.engine.finish_backfill(table.to_string()).await {
        Ok(_) => tracing::info!(region = %ctx.region, %table, "replica ACTIVE"),
        Err(error) => tracing::warn!(region = %ctx.region, %table, error = %error, "cannot mark replica ACTIVE"),
    }
}
