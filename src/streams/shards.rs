//! The shard rule, sequence numbers and shard ids: pure functions of a
//! stream's state, the region's last log position and the trim horizon.
//!
//! Rule: a stream covers this region's change-log positions from its
//! `start_seq` on; shard `k` covers the positions
//! `start_seq + k * span ..= start_seq + (k + 1) * span - 1` (`span` is the
//! stream's `shard_span`). Exactly one shard is open (has no ending
//! sequence number): the one the next log position falls in. Every other
//! shard is closed, and the shard before it is its parent. A disabled
//! stream ends at its `end_seq`, and all its shards are closed. A shard
//! whose every position is older than the retention window (below the trim
//! horizon) is no longer listed.

use crate::ids::Seq;
use crate::model::table_features::StreamState;

/// One shard of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Index in the stream (0 = first).
    pub index: u64,
    /// First log position covered.
    pub first: Seq,
    /// Last log position covered, once the shard is closed.
    pub last: Option<Seq>,
}

/// A DynamoDB sequence number for a log position: a decimal string of at
/// least 21 digits, increasing with the position.
pub fn sequence_number(seq: Seq) -> String {
    format!("{:021}", seq.get())
}

/// The log position of a sequence number, if it is one.
pub fn parse_sequence_number(text: &str) -> Option<Seq> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().map(Seq)
}

/// The stream's last log position so far (`None` when it has none yet).
fn last_position(stream: &StreamState, last_seq: Seq) -> Option<Seq> {
    let last = match stream.end_seq {
        Some(end) => end.checked_prev()?,
        None => last_seq,
    };
    (last >= stream.start_seq).then_some(last)
}

/// Index of the stream's last shard: the open one, or for a disabled
/// stream its final shard.
pub fn last_index(stream: &StreamState, last_seq: Seq) -> u64 {
    let next = match stream.end_seq {
        Some(end) => end.prev(),
        None => last_seq.next(),
    };
    next.since(stream.start_seq) / stream.shard_span
}

/// Shard `index` of the stream as of `last_seq`.
pub fn shard(stream: &StreamState, index: u64, last_seq: Seq) -> Shard {
    let first = stream.start_seq + index * stream.shard_span;
    let full_last = first + stream.shard_span - 1;
    let last = match stream.end_seq {
        Some(end) => Some(full_last.min(end.prev().max(first))),
        None if index < last_index(stream, last_seq) => Some(full_last),
        None => None,
    };
    Shard { index, first, last }
}

/// Index of the first shard not wholly trimmed at trim horizon `horizon`
/// (the first log position still retained).
pub fn first_index(stream: &StreamState, horizon: Seq, last_seq: Seq) -> u64 {
    (horizon.since(stream.start_seq) / stream.shard_span).min(last_index(stream, last_seq))
}

/// Whether a disabled stream has been trimmed away entirely.
pub fn fully_trimmed(stream: &StreamState, horizon: Seq, last_seq: Seq) -> bool {
    stream.end_seq.is_some() && last_position(stream, last_seq).is_none_or(|last| last < horizon)
}

/// The last log position a shard can hold (its end, or its full span while
/// it is open).
pub fn shard_limit(stream: &StreamState, shard: &Shard) -> Seq {
    shard.last.unwrap_or(shard.first + stream.shard_span - 1)
}

/// A shard id: `shardId-`, the first position (20 digits), and a checksum
/// tying it to the table and stream.
pub fn shard_id(table: &str, stream: &StreamState, first: Seq) -> String {
    format!("shardId-{:020}-{:08x}", first.get(), shard_check(table, stream, first))
}

/// The index of the shard a shard id names, if it names one of this stream.
pub fn parse_shard_id(table: &str, stream: &StreamState, id: &str) -> Option<u64> {
    let (first, check) = id.strip_prefix("shardId-")?.split_once('-')?;
    if first.len() != 20 || check.len() != 8 {
        return None;
    }
    let first = Seq(first.parse().ok()?);
    let check = u32::from_str_radix(check, 16).ok()?;
    if check != shard_check(table, stream, first) || first < stream.start_seq {
        return None;
    }
    let offset = first.since(stream.start_seq);
    offset
        .is_multiple_of(stream.shard_span)
        .then_some(offset / stream.shard_span)
}

fn shard_check(table: &str, stream: &StreamState, first: Seq) -> u32 {
    crc32fast::hash(format!("{table}/{}/{first}", stream.label).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::table_features::StreamViewType;

    fn stream(start: u64, end: Option<u64>) -> StreamState {
        StreamState {
            label: "2026-01-01T00:00:00.000".into(),
            view_type: StreamViewType::KeysOnly,
            enabled: end.is_none(),
            created_ms: 0,
            start_seq: Seq(start),
            end_seq: end.map(Seq),
            shard_span: 10,
        }
    }

    #[test]
    fn one_open_shard_follows_the_log() {
        let s = stream(5, None);
        assert_eq!(last_index(&s, Seq(5)), 0);
        assert_eq!(shard(&s, 0, Seq(5)).last, None);
        assert_eq!(last_index(&s, Seq(14)), 1);
        assert_eq!(
            shard(&s, 0, Seq(14)),
            Shard {
                index: 0,
                first: Seq(5),
                last: Some(Seq(14))
            }
        );
        assert_eq!(
            shard(&s, 1, Seq(14)),
            Shard {
                index: 1,
                first: Seq(15),
                last: None
            }
        );
    }

    #[test]
    fn a_disabled_stream_closes_its_last_shard_at_its_end() {
        let s = stream(5, Some(22));
        assert_eq!(last_index(&s, Seq(100)), 1);
        assert_eq!(shard(&s, 1, Seq(100)).last, Some(Seq(21)));
        assert!(!fully_trimmed(&s, Seq(21), Seq(100)));
        assert!(fully_trimmed(&s, Seq(22), Seq(100)));
    }

    #[test]
    fn trimming_skips_whole_shards_only() {
        let s = stream(5, None);
        assert_eq!(first_index(&s, Seq(3), Seq(40)), 0);
        assert_eq!(first_index(&s, Seq(15), Seq(40)), 1);
        assert_eq!(first_index(&s, Seq(24), Seq(40)), 1);
        assert_eq!(first_index(&s, Seq(1000), Seq(40)), 3);
    }

    #[test]
    fn shard_ids_round_trip_and_reject_strangers() {
        let s = stream(5, None);
        let id = shard_id("t", &s, Seq(25));
        assert_eq!(id.len(), 37);
        assert_eq!(parse_shard_id("t", &s, &id), Some(2));
        assert_eq!(parse_shard_id("u", &s, &id), None);
        assert_eq!(parse_shard_id("t", &s, "shardId-00000000000000000025-00000000"), None);
        assert_eq!(parse_sequence_number(&sequence_number(Seq(42))), Some(Seq(42)));
        assert_eq!(sequence_number(Seq(42)).len(), 21);
        assert_eq!(parse_sequence_number("4x"), None);
    }
}
