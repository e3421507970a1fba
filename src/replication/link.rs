//! One QUIC connection between two regions carries one shipping stream in
//! each direction. The shipper sends its hello; the receiver checks cluster
//! and protocol and answers with the position to resume from (the last
//! change of the shipper it applied durably, plus one). Then the shipper
//! sends batches of the changes it originated, in log order, a few ahead of
//! their acknowledgements, which the receiver sends only after committing.
//! The same connection carries snapshot streams for backfilling replicas.

use std::sync::Arc;

use tokio::time::Instant;

use super::context::{LinkContext, replicated_units};
use super::resync::{self, SNAPSHOT_CHUNK};
use super::status::OriginTimes;
use super::wire::{Frame, PROTOCOL_VERSION, frame_len, read_frame, write_frame};
use crate::chaos::shaper::{Gate, Stamper};
use crate::engine::Origin;

/// Most changes in one batch.
const BATCH_MAX: usize = 512;
/// Batches sent to a peer before the first of them is acknowledged.
const MAX_IN_FLIGHT: usize = 8;
/// Batches read from the log and waiting for the simulated link conditions
/// (delay, loss, partition) before they are written.
const SHAPED_QUEUE: usize = 256;

/// Ships this region's changes over a new stream of `conn` until the
/// connection or the region stops.
pub async fn ship(ctx: Arc<LinkContext>, conn: quinn::Connection) -> anyhow::Result<()> {
    let (mut send, mut recv) = conn.open_bi().await?;
    let hello = Frame::HelloV2 {
        protocol: PROTOCOL_VERSION,
        cluster: ctx.cluster.clone(),
        region: ctx.region.clone(),
        incarnation: ctx.engine.incarnation(),
    };
    write_frame(&mut send, &hello).await?;
    let (mut from, peer, incarnation) = match read_frame(&mut recv).await? {
        Some(Frame::StartV2 {
            from_seq,
            region,
            incarnation,
        }) => (from_seq, region, incarnation),
        Some(Frame::RefuseV1 { reason }) => anyhow::bail!("peer refused the link: {reason}"),
        other => anyhow::bail!("unexpected answer to hello: {other:?}"),
    };
    // The answer names the receiver: it must be the region its certificate
    // names, or changes would be shipped to whoever claims a name.
    if let Some(reason) = identity_mismatch(&ctx, &conn, &peer) {
        ctx.refusals.refused(&ctx.region, &peer, &reason);
        anyhow::bail!(reason);
    }
    // The peer has everything before `from`: from now on the trimmer keeps
    // what comes after (`workers/trimmer.rs`). A peer that asks for entries the
    // log no longer holds (it was away too long, or lost its data), or that
    // is a new incarnation of the one we shipped to (it lost its data, and
    // the writes it had replicated are in our items, not in our log), is
    // resynchronised from a snapshot instead, and the log follows from the
    // position the snapshot holds. (`own_changes` refuses to skip over a
    // trimmed stretch, should a trim race this.)
    ctx.peers.starts_after(&peer, from.prev());
    let (first_kept, _) = ctx.engine.change_log_bounds().await?;
    let known = ctx.engine.known_incarnation(peer.clone()).await?;
    let reborn = known.is_some_and(|known| known != incarnation);
    if from < first_kept || reborn {
        from = resync::send(&ctx, &peer, &mut send, &mut recv).await?.next();
    }
    if known != Some(incarnation) {
        ctx.engine.remember_incarnation(peer.clone(), incarnation).await?;
    }
    // Batches are pipelined: up to MAX_IN_FLIGHT are sent before the first
    // is acknowledged, so replication lag is not a round trip per batch.
    // Acknowledgements come back in order on the same stream. Between
    // reading a batch and writing it, the batch waits in a queue for the
    // simulated link conditions (see `chaos::shaper`); the window counts
    // only batches written, so a simulated delay does not cap throughput.
    let window = tokio::sync::Semaphore::new(MAX_IN_FLIGHT);
    let (sent, mut awaiting) = tokio::sync::mpsc::channel::<u64>(MAX_IN_FLIGHT);
    let (queue, mut queued) = tokio::sync::mpsc::channel::<(Instant, Frame, u64)>(SHAPED_QUEUE);
    let acks = async {
        while let Some(count) = awaiting.recv().await {
            match read_frame(&mut recv).await? {
                Some(Frame::AckV1 { seq }) => {
                    ctx.peers.acked(&peer, count, seq);
                    window.add_permits(1);
                }
                other => anyhow::bail!("expected an acknowledgement, got {other:?}"),
            }
        }
        anyhow::Ok(())
    };
    let reads = async {
        let mut commits = ctx.engine.subscribe_commits();
        let mut stop = ctx.stop.clone();
        let mut stamper = Stamper::new(ctx.links.clone(), &peer);
        loop {
            tokio::select! {
                _ = stamper.until_connected() => {}
                _ = stop.wait_for(|s| *s) => return anyhow::Ok(()),
                _ = conn.closed() => return anyhow::Ok(()),
            }
            let (changes, through) = ctx.engine.own_changes(from, BATCH_MAX).await?;
            if through < from {
                tokio::select! {
                    changed = commits.changed() => changed?,
                    _ = stop.wait_for(|s| *s) => return anyhow::Ok(()),
                    _ = conn.closed() => return anyhow::Ok(()),
                }
                continue;
            }
            from = through.next();
            if changes.is_empty() {
                continue;
            }
            let count = changes.len() as u64;
            let committed_ns = ctx.engine.committed_at(changes.iter().map(|(seq, _)| *seq));
            let frame = Frame::BatchV2 {
                changes,
                through,
                committed_ns,
            };
            let batch = (stamper.release_at(), frame, count);
            tokio::select! {
                queued = queue.send(batch) => queued?,
                _ = stop.wait_for(|s| *s) => return anyhow::Ok(()),
                _ = conn.closed() => return anyhow::Ok(()),
            }
        }
    };
    let writes = async {
        let mut gate = Gate::new(ctx.links.clone(), &peer);
        while let Some((release, batch, count)) = queued.recv().await {
            gate.pass(release, || frame_len(&batch)).await;
            window.acquire().await?.forget();
            write_frame(&mut send, &batch).await?;
            sent.send(count).await?;
        }
        anyhow::Ok(())
    };
    tokio::select! {
        result = reads => result,
        result = writes => result,
        result = acks => result,
    }
}

/// Serves the streams the peer opens on `conn` until it closes: its
/// shipping stream, and snapshot requests when it backfills a new replica.
pub async fn serve_streams(ctx: Arc<LinkContext>, conn: quinn::Connection) -> anyhow::Result<()> {
    let mut streams = tokio::task::JoinSet::new();
    let result = loop {
        let (send, recv) = match conn.accept_bi().await {
            Ok(stream) => stream,
            Err(error) => break Err(error.into()),
        };
        let (ctx, conn) = (ctx.clone(), conn.clone());
        streams.spawn(async move {
            if let Err(error) = serve_stream(ctx.clone(), conn, send, recv).await {
                tracing::info!(region = %ctx.region, error = %error, "stream ended");
            }
        });
    };
    streams.abort_all();
    result
}

async fn serve_stream(
    ctx: Arc<LinkContext>,
    conn: quinn::Connection,
    send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) -> anyhow::Result<()> {
    match read_frame(&mut recv).await? {
        // Sent only by peers of protocol version 2 or older.
        Some(Frame::HelloV1 {
            protocol,
            cluster,
            region,
        }) => {
            let reason = refusal(&ctx, protocol, &cluster, &region)
                .unwrap_or_else(|| format!("a hello without the data's incarnation (protocol {protocol})"));
            refuse(&ctx, send, &region, reason).await
        }
        Some(Frame::HelloV2 {
            protocol,
            cluster,
            region,
            incarnation,
        }) => {
            let reason = refusal(&ctx, protocol, &cluster, &region).or_else(|| identity_mismatch(&ctx, &conn, &region));
            if let Some(reason) = reason {
                return refuse(&ctx, send, &region, reason).await;
            }
            ctx.register(&region, &conn);
            let origin = Origin { region, incarnation };
            let received = receive_changes(ctx, origin, send, recv).await;
            // The peer ships on this stream only: without it the link is
            // half dead, so it starts over on a new connection.
            conn.close(0u32.into(), b"receiving stream ended");
            received
        }
        // Snapshots go only to regions of the topology, as their
        // certificates show: a table's items are not for any holder of a
        // cluster certificate.
        Some(Frame::SnapshotRequestV1 { table }) => match ctx.certified_peer(&conn) {
            Some(_) => serve_snapshot(ctx, table, send).await,
            None => {
                let reason = "snapshots are served only to regions of the topology".to_string();
                refuse(&ctx, send, "uncertified", reason).await
            }
        },
        other => anyhow::bail!("unexpected first frame {other:?}"),
    }
}

/// Why a shipping stream's hello does not fit this region (another protocol
/// version or cluster, or this region itself), if it does not.
fn refusal(ctx: &LinkContext, protocol: u32, cluster: &str, region: &str) -> Option<String> {
    if protocol != PROTOCOL_VERSION {
        Some(format!("protocol version {protocol} is not {PROTOCOL_VERSION}"))
    } else if cluster != ctx.cluster {
        Some(format!("cluster {cluster:?} is not {:?}", ctx.cluster))
    } else if region == ctx.region {
        Some("a region cannot link to itself".to_string())
    } else {
        None
    }
}

/// Why the peer on `conn` may not speak as `region`, if it may not: its
/// certificate must name `region`, a region of the topology.
fn identity_mismatch(ctx: &LinkContext, conn: &quinn::Connection, region: &str) -> Option<String> {
    match ctx.certified_peer(conn) {
        Some(certified) if certified == region => None,
        Some(certified) => Some(format!(
            "the peer claims region {region:?} but its certificate names {certified:?}"
        )),
        None if ctx.peer_names.iter().any(|p| p == region) => Some(format!(
            "the peer claims region {region:?} but its certificate names no region of the topology"
        )),
        None => Some(format!("region {region:?} is not in the topology")),
    }
}

/// Refuses a stream, telling the peer why.
async fn refuse(ctx: &LinkContext, mut send: quinn::SendStream, region: &str, reason: String) -> anyhow::Result<()> {
    ctx.refusals.refused(&ctx.region, region, &reason);
    write_frame(&mut send, &Frame::RefuseV1 { reason: reason.clone() }).await?;
    let _ = send.finish();
    anyhow::bail!(reason)
}

/// Batches queued to the writer ahead of their acknowledgement, per link.
const APPLY_AHEAD: usize = 8;

/// Applies the changes `origin` ships on this stream, acknowledging each
/// batch once committed (and a resync once merged; see `resync.rs`).
///
/// Batches are queued to the writer as they arrive, up to `APPLY_AHEAD`
/// ahead of the acknowledgements, so several can share one group commit
/// instead of each waiting for its own. The writer runs them in arrival
/// order, and each checks that the origin's applied position is where the
/// previous batch ended, so a batch behind a failed commit is refused
/// rather than applied past a gap; the link then restarts from the durable
/// position.
async fn receive_changes(
    ctx: Arc<LinkContext>,
    origin: Origin,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) -> anyhow::Result<()> {
    let applied = ctx.engine.applied_position(origin.clone()).await?;
    let peer = origin.region.clone();
    let start = Frame::StartV2 {
        from_seq: applied + 1,
        region: ctx.region.clone(),
        incarnation: ctx.engine.incarnation(),
    };
    write_frame(&mut send, &start).await?;
    ctx.peers.connected(&peer, true);
    tracing::info!(%peer, incarnation = %origin.incarnation, from = %applied.next(), "receiving changes");
    let (pending_tx, mut pending_rx) = tokio::sync::mpsc::channel(APPLY_AHEAD);
    let queue = async {
        let mut expected = applied;
        while let Some(frame) = read_frame(&mut recv).await? {
            let (changes, through, committed_ns) = match frame {
                Frame::BatchV2 {
                    changes,
                    through,
                    committed_ns,
                } => (changes, through, committed_ns),
                Frame::ResyncV1 { through } => {
                    let queued = resync::receive(&ctx, &origin, &mut recv, expected, through).await?;
                    expected = through.max(expected);
                    if pending_tx
                        .send((queued, through, Vec::new(), 0, Vec::new()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    continue;
                }
                other => anyhow::bail!("expected a batch, got {other:?}"),
            };
            let written = changes.iter().map(|(_, c)| c.version().ts.wall_ns);
            let origin_times = OriginTimes::of_batch(written, &committed_ns);
            let arrived = ctx.engine.hlc().wall_now_ns();
            let units = replicated_units(&ctx.engine, &changes);
            let queued = ctx
                .engine
                .queue_remote(origin.clone(), changes, expected, through.max(expected))
                .await?;
            expected = through.max(expected);
            if pending_tx
                .send((queued, through, origin_times, arrived, units))
                .await
                .is_err()
            {
                break;
            }
        }
        drop(pending_tx);
        anyhow::Ok(())
    };
    let acknowledge = async {
        while let Some((queued, through, origin_times, arrived, units)) = pending_rx.recv().await {
            // Lag ends when the apply could be read, not when this task runs.
            let (report, times) = queued.wait_timed().await?;
            ctx.charge_replicated(&units);
            ctx.peers.applied(&peer, &report, &origin_times, arrived, times);
            if report.clock_ahead_ms > 0 {
                tracing::warn!(%peer, ahead_ms = report.clock_ahead_ms, "peer clock is beyond the maximum offset");
            }
            write_frame(&mut send, &Frame::AckV1 { seq: through }).await?;
        }
        anyhow::Ok(())
    };
    let result = tokio::try_join!(queue, acknowledge).map(|_| ());
    ctx.peers.connected(&peer, false);
    result
}

/// Sends a consistent snapshot of `table` to a peer backfilling its replica.
async fn serve_snapshot(ctx: Arc<LinkContext>, table: String, mut send: quinn::SendStream) -> anyhow::Result<()> {
    let mut chunks = ctx.engine.snapshot(table.clone(), SNAPSHOT_CHUNK);
    let mut found = true;
    while let Some(chunk) = chunks.recv().await {
        match chunk? {
            Some(records) => write_frame(&mut send, &Frame::SnapshotChunkV1 { records }).await?,
            None => found = false,
        }
    }
    write_frame(&mut send, &Frame::SnapshotEndV1 { found }).await?;
    send.finish()?;
    tracing::info!(region = %ctx.region, %table, found, "served a snapshot");
    Ok(())
}

/// Pulls `table`'s snapshot from the peer on `conn` and merges it; returns
/// the number of records that won LWW here.
pub async fn pull_snapshot(ctx: &LinkContext, conn: &quinn::Connection, table: &str) -> anyhow::Result<u64> {
    let (mut send, mut recv) = conn.open_bi().await?;
    write_frame(
        &mut send,
        &Frame::SnapshotRequestV1 {
            table: table.to_string(),
        },
    )
    .await?;
    let mut won = 0;
    loop {
        match read_frame(&mut recv).await? {
            Some(Frame::SnapshotChunkV1 { records }) => {
                won += ctx.engine.apply_snapshot(table.to_string(), records).await?
            }
            Some(Frame::SnapshotEndV1 { .. }) => return Ok(won),
            other => anyhow::bail!("unexpected snapshot frame {other:?}"),
        }
    }
}
