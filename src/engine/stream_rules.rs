//! A table's stream lifecycle, as pure rules on its description: where a
//! stream starts and ends in this region's log, what is kept of a stream
//! once a newer one replaces it (readable for `streams.retention_secs`
//! after it was disabled, as DynamoDB keeps old streams 24 hours), and how
//! a replicated description's streams are re-based on this region's log.
//! `table_update.rs` decides when a stream may be enabled or disabled.

use crate::clock::Timestamp;
use crate::ids::Seq;
use crate::model::TableMeta;
use crate::model::table_features::{EarlierStream, StreamState, StreamViewType, stream_label};

/// A stream to open: StreamSpecification with StreamEnabled = true.
#[derive(Clone, Debug)]
pub struct NewStream {
    pub view_type: StreamViewType,
    /// Change-log positions per shard (from the node's configuration).
    pub shard_span: u64,
    /// How long a disabled stream stays readable, in milliseconds
    /// (`streams.retention_secs`): earlier streams disabled longer ago
    /// than this are forgotten when a new stream opens.
    pub retention_ms: u64,
}

/// A new stream opened by the change at log position `next_seq`, time
/// `now`; its label differs from the previous stream's even when both fall
/// in the same millisecond.
pub fn stream_at(next_seq: Seq, now: Timestamp, spec: &NewStream, previous: Option<&StreamState>) -> StreamState {
    let mut created_ms = now.unix_millis();
    if let Some(previous) = previous
        && previous.created_ms >= created_ms
    {
        created_ms = previous.created_ms + 1;
    }
    StreamState {
        label: stream_label(created_ms),
        view_type: spec.view_type,
        enabled: true,
        created_ms,
        start_seq: next_seq,
        end_seq: None,
        shard_span: spec.shard_span.max(1),
    }
}

/// Opens a new latest stream; the one it replaces (disabled) joins the
/// earlier streams, and earlier streams past their retention are dropped.
pub fn open_stream(meta: &mut TableMeta, next_seq: Seq, now: Timestamp, spec: &NewStream) {
    let now_ms = now.unix_millis();
    let history = meta.stream_history.get_or_insert_with(Box::default);
    if let Some(previous) = meta.stream.as_deref() {
        debug_assert!(!previous.enabled, "a stream opens only when the latest one is disabled");
        history.earlier.push(EarlierStream {
            stream: previous.clone(),
            disabled_ms: history.latest_disabled_ms.unwrap_or(now_ms),
        });
    }
    history.latest_disabled_ms = None;
    history
        .earlier
        .retain(|e| e.disabled_ms.saturating_add(spec.retention_ms) >= now_ms);
    meta.stream = Some(Box::new(stream_at(next_seq, now, spec, meta.stream.as_deref())));
    if history.earlier.is_empty() {
        meta.stream_history = None;
    }
}

/// Disables the latest stream: it ends before log position `next_seq`.
pub fn close_stream(meta: &mut TableMeta, next_seq: Seq, now: Timestamp) {
    if let Some(stream) = meta.stream.as_mut() {
        stream.enabled = false;
        stream.end_seq = Some(next_seq);
        meta.stream_history.get_or_insert_with(Box::default).latest_disabled_ms = Some(now.unix_millis());
    }
}

/// Every stream of the table that may still be readable, latest first,
/// each with when it was disabled (`None` while it is enabled, or for a
/// latest stream disabled before that time was kept).
pub fn table_streams(meta: &TableMeta) -> impl Iterator<Item = (&StreamState, Option<u64>)> {
    let history = meta.stream_history.as_deref();
    let latest = meta
        .stream
        .as_deref()
        .map(|s| (s, history.and_then(|h| h.latest_disabled_ms)));
    let earlier = history
        .into_iter()
        .flat_map(|h| h.earlier.iter().rev())
        .map(|e| (&e.stream, Some(e.disabled_ms)));
    latest.into_iter().chain(earlier)
}

/// What is kept of a deleted table's streams: its description with the
/// latest stream disabled by the deletion (at log position `next_seq`,
/// time `now`), if it has a stream that may still be readable. DynamoDB's
/// DeleteTable leaves the stream DISABLED and deletes it 24 hours later.
pub fn streams_of_deleted(meta: &TableMeta, next_seq: Seq, now: Timestamp) -> Option<TableMeta> {
    table_streams(meta).next()?;
    let mut kept = meta.clone();
    if kept.stream.as_ref().is_some_and(|stream| stream.enabled) {
        close_stream(&mut kept, next_seq, now);
    }
    Some(kept)
}

/// Re-bases the streams of a replicated table description on this
/// region's log, whose next position is `next_seq`: a stream this region
/// knows (by label) keeps its local positions; a new one starts at the
/// next local position; a stream disabled elsewhere ends here now.
pub fn localize_stream(next_seq: Seq, local: Option<&TableMeta>, meta: &mut TableMeta) {
    let known = |label: &str| {
        local
            .into_iter()
            .flat_map(table_streams)
            .map(|(s, _)| s)
            .find(|s| s.label == label)
            .map(|s| (s.start_seq, s.end_seq))
    };
    let localize = |stream: &mut StreamState| {
        let (start, end) = known(&stream.label).unwrap_or((next_seq, None));
        stream.start_seq = start;
        stream.end_seq = if stream.enabled { None } else { end.or(Some(next_seq)) };
    };
    if let Some(remote) = meta.stream.as_deref_mut() {
        localize(remote);
    }
    for earlier in meta.stream_history.iter_mut().flat_map(|h| h.earlier.iter_mut()) {
        localize(&mut earlier.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: u64 = 3_600_000;

    fn at(ms: u64) -> Timestamp {
        Timestamp {
            wall_ns: ms * 1_000_000,
            logical: 0,
        }
    }

    fn spec() -> NewStream {
        NewStream {
            view_type: StreamViewType::KeysOnly,
            shard_span: 10,
            retention_ms: 24 * HOUR_MS,
        }
    }

    #[test]
    fn a_replaced_stream_is_kept_for_its_retention() {
        let mut meta = TableMeta::sample("t", 1);
        let start = 1_700_000_000_000;
        open_stream(&mut meta, Seq(5), at(start), &spec());
        close_stream(&mut meta, Seq(9), at(start + HOUR_MS));
        assert_eq!(table_streams(&meta).next().unwrap().1, Some(start + HOUR_MS));
        open_stream(&mut meta, Seq(12), at(start + 2 * HOUR_MS), &spec());
        let streams: Vec<_> = table_streams(&meta).map(|(s, d)| (s.start_seq, s.end_seq, d)).collect();
        assert_eq!(
            streams,
            vec![(Seq(12), None, None), (Seq(5), Some(Seq(9)), Some(start + HOUR_MS))]
        );

        // A day after the first was disabled, opening again forgets it.
        close_stream(&mut meta, Seq(20), at(start + 3 * HOUR_MS));
        open_stream(&mut meta, Seq(21), at(start + 26 * HOUR_MS), &spec());
        let starts: Vec<_> = table_streams(&meta).map(|(s, _)| s.start_seq).collect();
        assert_eq!(starts, vec![Seq(21), Seq(12)]);
    }

    #[test]
    fn a_deleted_tables_streams_are_kept_disabled() {
        let start = 1_700_000_000_000;
        let mut meta = TableMeta::sample("t", 1);
        assert!(
            streams_of_deleted(&meta, Seq(3), at(start)).is_none(),
            "no stream, nothing kept"
        );
        open_stream(&mut meta, Seq(5), at(start), &spec());
        let kept = streams_of_deleted(&meta, Seq(9), at(start + HOUR_MS)).unwrap();
        let streams: Vec<_> = table_streams(&kept)
            .map(|(s, d)| (s.enabled, s.start_seq, s.end_seq, d))
            .collect();
        assert_eq!(streams, vec![(false, Seq(5), Some(Seq(9)), Some(start + HOUR_MS))]);

        // A stream disabled before the deletion keeps its own end.
        close_stream(&mut meta, Seq(7), at(start + 1));
        let closed = streams_of_deleted(&meta, Seq(9), at(start + HOUR_MS)).unwrap();
        assert_eq!(table_streams(&closed).next().unwrap().0.end_seq, Some(Seq(7)));
    }

    #[test]
    fn a_replicated_stream_keeps_its_local_start_or_starts_here() {
        let mut local = TableMeta::sample("t", 1);
        open_stream(&mut local, Seq(5), at(1_000), &spec());
        let mut remote = local.clone();
        remote.stream.as_mut().unwrap().start_seq = Seq(900);
        localize_stream(Seq(20), Some(&local), &mut remote);
        assert_eq!(
            remote.stream.as_ref().unwrap().start_seq,
            Seq(5),
            "the same stream keeps its start"
        );

        let mut fresh = remote.clone();
        localize_stream(Seq(20), None, &mut fresh);
        assert_eq!(
            fresh.stream.as_ref().unwrap().start_seq,
            Seq(20),
            "a new stream starts here"
        );

        remote.stream.as_mut().unwrap().enabled = false;
        localize_stream(Seq(21), Some(&local), &mut remote);
        assert_eq!(
            remote.stream.as_ref().unwrap().end_seq,
            Some(Seq(21)),
            "disabled elsewhere ends here"
        );

        // Disabled and enabled again elsewhere: the stream this region
        // had becomes an earlier one with its local positions.
        open_stream(&mut remote, Seq(950), at(2_000), &spec());
        localize_stream(Seq(30), Some(&local), &mut remote);
        let streams: Vec<_> = table_streams(&remote).map(|(s, _)| (s.start_seq, s.end_seq)).collect();
        assert_eq!(streams, vec![(Seq(30), None), (Seq(5), Some(Seq(30)))]);
    }
}
