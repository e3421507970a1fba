//! DynamoDB Streams: each table's stream is a view of this region's change
//! log (see `shards.rs` for the shard rule), read through the engine.
//!
//! Nothing is copied or deleted for streams. Retention is a visibility cut:
//! log positions whose changes are older than `streams.retention_secs` are
//! "trimmed" from the stream's point of view (TrimmedDataAccessException,
//! shards no longer listed), while the entries stay until replication is
//! done with them too; then the change-log trimmer removes them
//! (`crate::workers::trimmer`). Iterators are self-contained tokens
//! (`iterator.rs`) that expire after `streams.iterator_ttl_secs`.
//!
//! In a replicated table every region's stream carries every change applied
//! in that region, local or replicated; a record's origin is its change's
//! origin region (reported as `awsRegion`, as DynamoDB global tables do). A
//! replicated change that loses last-writer-wins is never applied, so it is
//! never in the log and never in a stream.

pub mod iterator;
pub mod shards;

use crate::config::StreamsConfig;
use crate::engine::{Engine, EngineError, table_streams};
use crate::ids::Seq;
use crate::model::TableMeta;
use crate::model::table::ACCOUNT_ID;
use crate::model::table_features::StreamState;
use crate::store::ItemChange;
use iterator::ShardIterator;
pub use shards::{Shard, parse_sequence_number, sequence_number, shard_id};

/// Most log entries one GetRecords call looks at, so a stream of a quiet
/// table in a busy region answers quickly (with fewer records and a next
/// iterator) instead of scanning the whole log.
const MAX_SCAN: usize = 20_000;

/// About the most bytes of item images one GetRecords call returns
/// (DynamoDB's 1 MB response limit).
const MAX_BYTES: usize = 1024 * 1024;

/// Why a Streams request failed; `api/error.rs` maps these to the wire.
#[derive(Debug, thiserror::Error)]
pub enum StreamsError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ExpiredIterator(String),
    #[error("{0}")]
    Trimmed(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The ARN of a table's stream in `region`.
pub fn stream_arn(region: &str, table: &str, label: &str) -> String {
    format!("arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table}/stream/{label}")
}

/// Where GetShardIterator starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IteratorStart {
    TrimHorizon,
    Latest,
    AtSequence(Seq),
    AfterSequence(Seq),
}

/// A stream as DescribeStream reports it: its table, state and shards.
#[derive(Debug)]
pub struct StreamView {
    pub arn: String,
    pub meta: TableMeta,
    pub stream: StreamState,
    pub shards: Vec<Shard>,
    /// LastEvaluatedShardId, when more shards follow.
    pub more_after: Option<String>,
}

/// One GetRecords answer.
#[derive(Debug)]
pub struct RecordsPage {
    pub meta: TableMeta,
    pub stream: StreamState,
    /// (log position, change), in log order.
    pub changes: Vec<(Seq, ItemChange)>,
    /// NextShardIterator; `None` once a closed shard is read to its end.
    pub next: Option<String>,
}

/// The Streams reader of one region.
pub struct Streams<'a> {
    engine: &'a Engine,
    config: &'a StreamsConfig,
}

impl<'a> Streams<'a> {
    /// A reader of `engine`'s streams.
    pub fn new(engine: &'a Engine, config: &'a StreamsConfig) -> Streams<'a> {
        Streams { engine, config }
    }

    fn now_ms(&self) -> u64 {
        self.engine.hlc().now().unix_millis()
    }

    fn last_seq(&self) -> Seq {
        *self.engine.subscribe_commits().borrow()
    }

    /// The first log position still retained for `stream`.
    async fn horizon(&self, stream: &StreamState) -> Result<Seq, EngineError> {
        let cutoff_ms = self.now_ms().saturating_sub(self.config.retention_secs * 1000);
        self.engine
            .first_seq_since(stream.start_seq, cutoff_ms.saturating_mul(1_000_000))
            .await
    }

    /// The trim horizon of `stream`, if it is still readable: not wholly
    /// trimmed and, once disabled (at `disabled_ms`), disabled no longer
    /// than the retention period ago.
    async fn readable(&self, stream: &StreamState, disabled_ms: Option<u64>) -> Result<Option<Seq>, EngineError> {
        let retention_ms = self.config.retention_secs.saturating_mul(1000);
        if disabled_ms.is_some_and(|at| self.now_ms() > at.saturating_add(retention_ms)) {
            return Ok(None);
        }
        let horizon = self.horizon(stream).await?;
        Ok((!shards::fully_trimmed(stream, horizon, self.last_seq())).then_some(horizon))
    }

    /// The descriptions whose streams may be named `table`'s: the table's
    /// own, if it exists, then those of deleted tables of that name (their
    /// streams stay readable, disabled, for the retention period); and
    /// whether the table exists.
    async fn tables_named(&self, table: &str) -> Result<(Vec<TableMeta>, bool), EngineError> {
        let mut metas = match self.engine.describe_table(table.to_string()).await {
            Ok(meta) => vec![meta],
            Err(EngineError::TableNotFound(_)) => Vec::new(),
            Err(other) => return Err(other),
        };
        let deleted = self.engine.deleted_table_streams().await?;
        let exists = !metas.is_empty();
        metas.extend(deleted.into_iter().filter(|meta| meta.name == table));
        Ok((metas, exists))
    }

    /// Every description with streams: the tables' own, then those of
    /// deleted tables.
    async fn all_tables(&self) -> Result<Vec<TableMeta>, EngineError> {
        let mut metas = Vec::new();
        for name in self.engine.list_tables(None, usize::MAX).await? {
            match self.engine.describe_table(name).await {
                Ok(meta) => metas.push(meta),
                // A table deleted while listing them all is simply gone.
                Err(EngineError::TableNotFound(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        metas.extend(self.engine.deleted_table_streams().await?);
        Ok(metas)
    }

    /// The streams of this region (of `table` only, when given) that are
    /// still readable, ordered by ARN: each table's latest stream, the
    /// earlier ones DynamoDB keeps readable after they were disabled, and
    /// those of deleted tables.
    pub async fn list(&self, table: Option<String>) -> Result<Vec<(String, TableMeta, StreamState)>, StreamsError> {
        let (metas, exists) = match &table {
            Some(name) => self.tables_named(name).await?,
            None => (self.all_tables().await?, true),
        };
        let mut out = Vec::new();
        for meta in metas {
            for (stream, disabled_ms) in table_streams(&meta) {
                if self.readable(stream, disabled_ms).await?.is_some() {
                    out.push((
                        stream_arn(self.engine.region(), &meta.name, &stream.label),
                        meta.clone(),
                        stream.clone(),
                    ));
                }
            }
        }
        if let Some(name) = table
            && out.is_empty()
            && !exists
        {
            // A table named in the request must exist, or have streams left.
            return Err(StreamsError::NotFound(format!(
                "Requested resource not found: Table: {name} not found"
            )));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        Ok(out)
    }

    /// The table and stream an ARN names, if the stream is still readable.
    async fn resolve(&self, arn: &str) -> Result<(TableMeta, StreamState, Seq), StreamsError> {
        let not_found = || StreamsError::NotFound(format!("Requested resource not found: Stream: {arn} not found"));
        let prefix = format!("arn:aws:dynamodb:{}:{ACCOUNT_ID}:table/", self.engine.region());
        let (table, label) = arn
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once("/stream/"))
            .ok_or_else(not_found)?;
        let (metas, _) = self.tables_named(table).await?;
        let (meta, stream, disabled_ms) = metas
            .iter()
            .find_map(|meta| {
                let (stream, disabled_ms) = table_streams(meta).find(|(s, _)| s.label == label)?;
                Some((meta.clone(), stream.clone(), disabled_ms))
            })
            .ok_or_else(not_found)?;
        let horizon = self.readable(&stream, disabled_ms).await?.ok_or_else(not_found)?;
        Ok((meta, stream, horizon))
    }

    /// DescribeStream with ShardFilter CHILD_SHARDS: the shards whose
    /// parent is `parent`. A stream's shards form one chain (each opens
    /// when the one before closes), so that is the shard after it, if it
    /// has opened.
    pub async fn child_shards(&self, arn: &str, parent: &str) -> Result<StreamView, StreamsError> {
        let (meta, stream, _) = self.resolve(arn).await?;
        if shards::parse_shard_id(&meta.name, &stream, parent).is_none() {
            return Err(StreamsError::Validation(format!(
                "Invalid ShardId in ShardFilter: {parent} is not a shard of {arn}"
            )));
        }
        let mut view = self.describe(arn, Some(parent), 1).await?;
        view.more_after = None;
        Ok(view)
    }

    /// DescribeStream: the stream and up to `limit` shards after
    /// `after_shard`.
    pub async fn describe(
        &self,
        arn: &str,
        after_shard: Option<&str>,
        limit: usize,
    ) -> Result<StreamView, StreamsError> {
        let (meta, stream, horizon) = self.resolve(arn).await?;
        let last_seq = self.last_seq();
        let mut index = shards::first_index(&stream, horizon, last_seq);
        if let Some(after) = after_shard {
            let after = shards::parse_shard_id(&meta.name, &stream, after).ok_or_else(|| {
                StreamsError::Validation(format!(
                    "Invalid ExclusiveStartShardId: {after} is not a shard of {arn}"
                ))
            })?;
            index = index.max(after + 1);
        }
        let last = shards::last_index(&stream, last_seq);
        let mut list = Vec::new();
        while index <= last && list.len() < limit {
            list.push(shards::shard(&stream, index, last_seq));
            index += 1;
        }
        let more_after = (index <= last)
            .then(|| list.last().map(|s| shard_id(&meta.name, &stream, s.first)))
            .flatten();
        Ok(StreamView {
            arn: arn.to_string(),
            meta,
            stream,
            shards: list,
            more_after,
        })
    }

    /// The shard a shard id names, if it is listed (not trimmed, not ahead).
    fn find_shard(
        &self,
        meta: &TableMeta,
        stream: &StreamState,
        horizon: Seq,
        id: &str,
    ) -> Result<Shard, StreamsError> {
        let last_seq = self.last_seq();
        let index = shards::parse_shard_id(&meta.name, stream, id)
            .filter(|i| {
                (shards::first_index(stream, horizon, last_seq)..=shards::last_index(stream, last_seq)).contains(i)
            })
            .ok_or_else(|| StreamsError::NotFound(format!("Requested resource not found: Shard: {id} not found")))?;
        Ok(shards::shard(stream, index, last_seq))
    }

    /// GetShardIterator.
    pub async fn shard_iterator(
        &self,
        arn: &str,
        shard_id: &str,
        start: IteratorStart,
    ) -> Result<String, StreamsError> {
        let (meta, stream, horizon) = self.resolve(arn).await?;
        let shard = self.find_shard(&meta, &stream, horizon, shard_id)?;
        let limit = shards::shard_limit(&stream, &shard);
        let check = |seq: Seq| {
            if seq < shard.first || seq > limit {
                return Err(StreamsError::Validation(format!(
                    "Invalid SequenceNumber: {} is not in shard {shard_id}",
                    sequence_number(seq)
                )));
            }
            if seq < horizon {
                return Err(StreamsError::Trimmed(format!(
                    "The sequence number {} is beyond the trim horizon of shard {shard_id}: its record is older than the retention period",
                    sequence_number(seq)
                )));
            }
            Ok(seq)
        };
        let position = match start {
            IteratorStart::TrimHorizon => shard.first.max(horizon),
            IteratorStart::Latest => (self.last_seq() + 1).clamp(shard.first, limit + 1),
            IteratorStart::AtSequence(seq) => check(seq)?,
            IteratorStart::AfterSequence(seq) => check(seq)? + 1,
        };
        Ok(self.token(&meta, &stream, &shard, position))
    }

    fn token(&self, meta: &TableMeta, stream: &StreamState, shard: &Shard, position: Seq) -> String {
        ShardIterator {
            table: meta.name.clone(),
            label: stream.label.clone(),
            shard_first: shard.first,
            position,
            issued_ms: self.now_ms(),
        }
        .encode()
    }

    /// GetRecords: up to `limit` records from the iterator's position.
    pub async fn records(&self, token: &str, limit: usize) -> Result<RecordsPage, StreamsError> {
        let invalid = || StreamsError::Validation("Invalid ShardIterator".into());
        let iterator = ShardIterator::decode(token).ok_or_else(invalid)?;
        let now = self.now_ms();
        let ttl_ms = self.config.iterator_ttl_secs * 1000;
        if now.saturating_sub(iterator.issued_ms) > ttl_ms {
            return Err(StreamsError::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {ttl_ms} milliseconds.",
                iterator.issued_ms, now
            )));
        }
        let arn = stream_arn(self.engine.region(), &iterator.table, &iterator.label);
        let (meta, stream, horizon) = self.resolve(&arn).await?;
        let id = shard_id(&meta.name, &stream, iterator.shard_first);
        let shard = self.find_shard(&meta, &stream, horizon, &id)?;
        if iterator.position < horizon {
            return Err(StreamsError::Trimmed(format!(
                "The iterator of shard {id} points at records that were trimmed: they are older than the retention period"
            )));
        }
        let until = shards::shard_limit(&stream, &shard);
        let slice = self
            .engine
            .table_changes(meta.name.clone(), iterator.position, until, limit, MAX_SCAN, MAX_BYTES)
            .await?;
        let next = (slice.next <= until).then(|| self.token(&meta, &stream, &shard, slice.next));
        Ok(RecordsPage {
            meta,
            stream,
            changes: slice.changes,
            next,
        })
    }
}
