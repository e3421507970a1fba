//! Both ends of a resync (see `engine::resync`): a peer whose start
//! position our log no longer holds is sent a snapshot of every table it
//! replicates, on its shipping stream, in place of the entries it missed;
//! shipping then goes on from the position the snapshot holds.

use quinn::{RecvStream, SendStream};

use super::context::LinkContext;
use super::wire::{Frame, read_frame, write_frame};
use crate::engine::ResyncPart;
use crate::engine::{ApplyReport, Origin, Queued};
use crate::ids::Seq;

/// Records per snapshot frame.
pub const SNAPSHOT_CHUNK: usize = 1024;

/// Sends `peer` a resync snapshot on its shipping stream and waits for its
/// acknowledgement; returns the log position shipping goes on after.
pub async fn send(ctx: &LinkContext, peer: &str, send: &mut SendStream, recv: &mut RecvStream) -> anyhow::Result<Seq> {
    let mut parts = ctx.engine.resync_snapshot(peer.to_string(), SNAPSHOT_CHUNK);
    let (mut through, mut tables, mut records) = (None, 0, 0);
    while let Some(part) = parts.recv().await {
        let frame = match part? {
            ResyncPart::Start { through: position } => {
                tracing::info!(region = %ctx.region, %peer, through = %position, "resynchronising the peer from a snapshot");
                through = Some(position);
                Frame::ResyncV1 { through: position }
            }
            ResyncPart::Dropped(dropped) => Frame::ResyncDroppedV1 { dropped },
            ResyncPart::Table(meta) => {
                tables += 1;
                Frame::ResyncTableV1 { meta }
            }
            ResyncPart::Records(chunk) => {
                records += chunk.len();
                Frame::SnapshotChunkV1 { records: chunk }
            }
        };
        write_frame(send, &frame).await?;
    }
    let through = through.ok_or_else(|| anyhow::anyhow!("the resync snapshot ended before it began"))?;
    write_frame(send, &Frame::ResyncEndV1 { through }).await?;
    match read_frame(recv).await? {
        Some(Frame::AckV1 { seq }) if seq == through => {}
        other => anyhow::bail!("expected the acknowledgement of a resync through {through}, got {other:?}"),
    }
    ctx.peers.resynced(peer, through);
    tracing::info!(region = %ctx.region, %peer, %through, tables, records, "peer resynchronised");
    Ok(through)
}

/// Receives a resync `origin` started with `ResyncV1 { through }`: merges
/// the tables and records that follow, then queues recording its log as
/// applied through `through`, if it still stands at `expected`.
pub async fn receive(
    ctx: &LinkContext,
    origin: &Origin,
    recv: &mut RecvStream,
    expected: Seq,
    through: Seq,
) -> anyhow::Result<Queued<ApplyReport>> {
    tracing::info!(region = %ctx.region, peer = %origin.region, %through, "resynchronising from the peer's snapshot");
    // The table the records that follow belong to; `None` skips them.
    let mut table: Option<String> = None;
    let mut adopted = Vec::new();
    let (mut merged, mut dropped_tables) = (0, 0);
    loop {
        match read_frame(recv).await? {
            Some(Frame::ResyncDroppedV1 { dropped }) => {
                dropped_tables += ctx.engine.drop_tables(dropped).await?;
            }
            Some(Frame::ResyncTableV1 { meta }) => {
                let (name, table_id) = (meta.name.clone(), meta.table_id.clone());
                table = ctx.engine.adopt_table(meta).await?.then_some(name.clone());
                if table.is_some() {
                    adopted.push((name, table_id));
                }
            }
            Some(Frame::SnapshotChunkV1 { records }) => {
                if let Some(table) = &table {
                    merged += ctx.engine.apply_snapshot(table.clone(), records).await?;
                }
            }
            Some(Frame::ResyncEndV1 { through: end }) if end == through => break,
            other => anyhow::bail!("unexpected frame in a resync: {other:?}"),
        }
    }
    ctx.engine.finish_adopted(adopted).await?;
    tracing::info!(region = %ctx.region, peer = %origin.region, %through, merged, dropped_tables, "merged the peer's snapshot");
    // The origin's log counts as applied through `through` once the
    // records are in: an empty batch that ends there.
    let end = ctx
        .engine
        .queue_remote(origin.clone(), Vec::new(), expected, through.max(expected));
    Ok(end.await?)
}
