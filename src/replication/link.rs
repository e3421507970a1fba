//! One QUIC connection between two regions carries one shipping stream in
//! each direction. The shipper sends its hello; the receiver checks cluster
//! and protocol and answers with the position to resume from (the last
//! change of the shipper it applied durably, plus one). Then the shipper
//! sends batches of the changes it originated, in log order, and waits for
//! each acknowledgement, which the receiver sends only after committing.

use std::sync::Arc;

use tokio::sync::watch;

use super::status::PeerStatus;
use super::wire::{Frame, PROTOCOL_VERSION, read_frame, write_frame};
use crate::engine::Engine;

/// Most changes in one batch.
const BATCH_MAX: usize = 512;

/// What both directions of a link need to know.
pub struct LinkContext {
    pub engine: Engine,
    pub cluster: String,
    pub region: String,
    pub stop: watch::Receiver<bool>,
    pub peers: Arc<PeerStatus>,
}

/// Ships this region's changes over a new stream of `conn` until the
/// connection or the region stops.
pub async fn ship(ctx: Arc<LinkContext>, conn: quinn::Connection) -> anyhow::Result<()> {
    let (mut send, mut recv) = conn.open_bi().await?;
    let hello = Frame::HelloV1 {
        protocol: PROTOCOL_VERSION,
        cluster: ctx.cluster.clone(),
        region: ctx.region.clone(),
    };
    write_frame(&mut send, &hello).await?;
    let mut from = match read_frame(&mut recv).await? {
        Some(Frame::StartV1 { from_seq }) => from_seq,
        Some(Frame::RefuseV1 { reason }) => anyhow::bail!("peer refused the link: {reason}"),
        other => anyhow::bail!("unexpected answer to hello: {other:?}"),
    };
    let mut commits = ctx.engine.subscribe_commits();
    let mut stop = ctx.stop.clone();
    loop {
        let (changes, through) = ctx.engine.own_changes(from, BATCH_MAX).await?;
        if through < from {
            tokio::select! {
                changed = commits.changed() => changed?,
                _ = stop.wait_for(|s| *s) => return Ok(()),
                _ = conn.closed() => return Ok(()),
            }
            continue;
        }
        if changes.is_empty() {
            from = through + 1;
            continue;
        }
        let count = changes.len() as u64;
        write_frame(&mut send, &Frame::BatchV1 { changes, through }).await?;
        match read_frame(&mut recv).await? {
            Some(Frame::AckV1 { seq }) => {
                ctx.peers.shipped(count, seq);
                from = seq + 1;
            }
            other => anyhow::bail!("expected an acknowledgement, got {other:?}"),
        }
    }
}

/// Accepts the peer's shipping stream on `conn` and applies what it sends.
/// The peer names itself in its hello.
pub async fn receive(ctx: Arc<LinkContext>, conn: quinn::Connection) -> anyhow::Result<()> {
    let (mut send, mut recv) = conn.accept_bi().await?;
    let origin = match read_frame(&mut recv).await? {
        Some(Frame::HelloV1 {
            protocol,
            cluster,
            region,
        }) => {
            let refusal = if protocol != PROTOCOL_VERSION {
                Some(format!("protocol version {protocol} is not {PROTOCOL_VERSION}"))
            } else if cluster != ctx.cluster {
                Some(format!("cluster {cluster:?} is not {:?}", ctx.cluster))
            } else if region == ctx.region {
                Some("a region cannot link to itself".to_string())
            } else {
                None
            };
            if let Some(reason) = refusal {
                tracing::warn!(peer = %region, %reason, "refusing replication link");
                write_frame(&mut send, &Frame::RefuseV1 { reason: reason.clone() }).await?;
                let _ = send.finish();
                anyhow::bail!(reason);
            }
            region
        }
        other => anyhow::bail!("expected a hello, got {other:?}"),
    };
    let applied = ctx.engine.applied_position(origin.clone()).await?;
    write_frame(&mut send, &Frame::StartV1 { from_seq: applied + 1 }).await?;
    ctx.peers.connected(&origin, true);
    tracing::info!(peer = %origin, from = applied + 1, "receiving changes");
    let result = async {
        while let Some(frame) = read_frame(&mut recv).await? {
            let Frame::BatchV1 { changes, through } = frame else {
                anyhow::bail!("expected a batch");
            };
            let origin_times: Vec<u64> = changes.iter().map(|(_, c)| c.version().ts.wall_ns).collect();
            let report = ctx.engine.apply_remote(origin.clone(), changes, through).await?;
            ctx.peers.applied(&origin, &report, &origin_times, ctx.engine.hlc().wall_now_ns());
            if report.clock_ahead_ms > 0 {
                tracing::warn!(peer = %origin, ahead_ms = report.clock_ahead_ms, "peer clock is beyond the maximum offset");
            }
            write_frame(&mut send, &Frame::AckV1 { seq: through }).await?;
        }
        anyhow::Ok(())
    }
    .await;
    ctx.peers.connected(&origin, false);
    result
}
