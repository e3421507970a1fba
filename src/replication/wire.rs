//! Replication wire messages: bincode-encoded, length-prefixed frames.
//!
//! Every message type is a variant of `Frame` named with its version. bincode
//! cannot skip unknown fields, so a shipped variant is never changed: a new
//! layout is a new variant, and the handshake's `PROTOCOL_VERSION` tells peers
//! which variants the other side understands.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::ids::{Incarnation, Seq};
use crate::model::TableMeta;
use crate::store::{Change, DroppedTable, ItemRecord};

/// The replication protocol version this build speaks. 2: table
/// descriptions inside `BatchV1` carry stream and TTL settings (trailing
/// `TableMeta` fields a version-1 peer would misread), so version-1 peers
/// are refused. 3: both sides say which incarnation of their data they are
/// (`HelloV2`, `StartV2`), and a receiver too far behind the shipper's
/// trimmed log, or a new incarnation of one, is resynchronised from a
/// snapshot (`ResyncV1`). 4: a resync says which tables the receiver must
/// drop (`ResyncDroppedV1`). 5: batches say when each change was committed
/// at its origin (`BatchV2`), which replication lag is measured from.
/// 6: table descriptions carry on-demand maximums and the table's stream
/// history (trailing `TableMeta` fields a version-5 peer would misread).
pub const PROTOCOL_VERSION: u32 = 6;
/// Largest frame accepted, in bytes (a batch of 400 KB items fits many times).
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// One replication message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    /// Opens a shipping stream: who is sending, in which cluster, speaking
    /// which protocol version.
    HelloV1 {
        protocol: u32,
        cluster: String,
        region: String,
    },
    /// The receiver's answer to a hello: ship from this log sequence on;
    /// `region` names the receiver.
    StartV1 { from_seq: Seq, region: String },
    /// Changes the sender originated, in log order, and the last log
    /// sequence number the sender looked at (`through`). Protocol 4 and
    /// before; kept so later variants keep their numbers (see `BatchV2`).
    BatchV1 { changes: Vec<(Seq, Change)>, through: Seq },
    /// The receiver applied (durably) everything through `seq`.
    AckV1 { seq: Seq },
    /// The receiver refuses the stream, with a reason for the sender's log.
    RefuseV1 { reason: String },
    /// A new replica asks for a snapshot of a table (backfill).
    SnapshotRequestV1 { table: String },
    /// Part of a snapshot: encoded keys and their records, tombstones included.
    SnapshotChunkV1 { records: Vec<(Vec<u8>, ItemRecord)> },
    /// The snapshot is complete; `found` is false when the table is not here.
    SnapshotEndV1 { found: bool },
    /// `HelloV1` with the incarnation of the shipper's data (see
    /// `Store::incarnation`): positions in its log count within one.
    HelloV2 {
        protocol: u32,
        cluster: String,
        region: String,
        incarnation: Incarnation,
    },
    /// The shipper's answer to a start position its log no longer holds:
    /// a snapshot of every table the receiver replicates follows, holding
    /// everything the shipper's log holds through `through`, as
    /// `ResyncTableV1` frames each followed by its `SnapshotChunkV1`s.
    ResyncV1 { through: Seq },
    /// The description of the table whose records follow in the resync.
    ResyncTableV1 { meta: Box<TableMeta> },
    /// The resync is complete: the receiver records the shipper's log as
    /// applied through `through`, acknowledges it, and batches follow.
    ResyncEndV1 { through: Seq },
    /// `StartV1` with the incarnation of the receiver's data.
    StartV2 {
        from_seq: Seq,
        region: String,
        incarnation: Incarnation,
    },
    /// Sent right after `ResyncV1`: the tables the receiver must drop
    /// (deleted, or no longer replicated there, while it was away).
    ResyncDroppedV1 { dropped: Vec<DroppedTable> },
    /// `BatchV1` with, for each change, when it was committed (became
    /// durable) at the origin, by the origin's wall clock in ns (0 when the
    /// origin no longer knows: see `engine::commit_times`).
    BatchV2 {
        changes: Vec<(Seq, Change)>,
        through: Seq,
        committed_ns: Vec<u64>,
    },
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("undecodable frame: {0}")]
    Decode(String),
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Writes one frame, length prefix and body in one write: on a QUIC stream
/// two writes can leave as two packets, each encrypted, sent and received.
pub async fn write_frame(out: &mut (impl AsyncWrite + Unpin), frame: &Frame) -> Result<(), WireError> {
    let mut framed = vec![0u8; 4];
    bincode::serde::encode_into_std_write(frame, &mut framed, config())
        .map_err(|e| WireError::Decode(e.to_string()))?;
    let len = framed.len() - 4;
    if len > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge(len));
    }
    framed[..4].copy_from_slice(&(len as u32).to_be_bytes());
    out.write_all(&framed).await?;
    Ok(())
}

/// The encoded size of `frame` in bytes, length prefix included (for the
/// simulated bandwidth cap).
pub fn frame_len(frame: &Frame) -> usize {
    bincode::serde::encode_to_vec(frame, config()).map_or(0, |body| body.len() + 4)
}

/// Reads one frame; `None` at a clean end of stream.
pub async fn read_frame(input: &mut (impl AsyncRead + Unpin)) -> Result<Option<Frame>, WireError> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    input.read_exact(&mut body).await?;
    let (frame, _) =
        bincode::serde::decode_from_slice(&body, config()).map_err(|e| WireError::Decode(e.to_string()))?;
    Ok(Some(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_oversized_frames_are_refused() {
        let frame = Frame::HelloV2 {
            protocol: PROTOCOL_VERSION,
            cluster: "c".into(),
            region: "r".into(),
            incarnation: Incarnation(7),
        };
        let mut buf = Vec::new();
        write_frame(&mut buf, &frame).await.unwrap();
        write_frame(&mut buf, &Frame::AckV1 { seq: Seq(9) }).await.unwrap();
        let batch = Frame::BatchV2 {
            changes: Vec::new(),
            through: Seq(12),
            committed_ns: vec![5, 0],
        };
        write_frame(&mut buf, &batch).await.unwrap();
        let mut reader = buf.as_slice();
        assert_eq!(read_frame(&mut reader).await.unwrap(), Some(frame));
        assert_eq!(
            read_frame(&mut reader).await.unwrap(),
            Some(Frame::AckV1 { seq: Seq(9) })
        );
        assert_eq!(read_frame(&mut reader).await.unwrap(), Some(batch));
        assert_eq!(read_frame(&mut reader).await.unwrap(), None);
        let huge = ((MAX_FRAME_BYTES + 1) as u32).to_be_bytes();
        assert!(matches!(
            read_frame(&mut huge.as_slice()).await,
            Err(WireError::TooLarge(_))
        ));
    }
}
