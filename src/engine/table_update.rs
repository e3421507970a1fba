//! Table changes as typed commands, and the rules for table descriptions:
//! what UpdateTable, UpdateTimeToLive, TagResource and UntagResource ask of
//! a table (`TableUpdate`), validated and applied to its description with
//! typed errors (a stream's lifecycle is in `stream_rules.rs`). Pure: no
//! I/O, no async. `tables.rs` runs these inside the writer's group transaction.

use std::collections::BTreeMap;

use super::settings_rules::{self, ChangeSite, SettingsError, SettingsUpdate};
use super::stream_rules::{NewStream, close_stream, open_stream};
use crate::clock::Timestamp;
use crate::ids::Seq;
use crate::model::index::MAX_GLOBAL_INDEXES;
use crate::model::table::{BillingMode, Replica, ReplicaStatus};
use crate::model::table_features::{OnDemandMaxima, TtlSpec};
use crate::model::{IndexKind, SecondaryIndex, TableMeta};

/// Most tags a table may carry.
pub const MAX_TAGS: usize = 50;

/// Where a table change lands in this region's log.
#[derive(Clone, Debug)]
pub struct ChangeContext {
    /// Log position the table change itself will take.
    pub next_seq: Seq,
    /// The HLC time of the change.
    pub now: Timestamp,
    /// The region making the change.
    pub region: String,
}

/// What an UpdateTable StreamSpecification asks for.
#[derive(Clone, Debug)]
pub enum StreamUpdate {
    Enable(NewStream),
    Disable,
}

/// One ReplicaUpdates entry of UpdateTable (global tables 2019.11.21).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaUpdate {
    /// Add a replica in this region (backfilled, CREATING until then).
    Create(String),
    /// Remove the replica in this region.
    Delete(String),
}

/// Tags to add (replacing values of existing keys) and keys to remove.
#[derive(Clone, Debug, Default)]
pub struct TagUpdate {
    pub add: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

/// One GlobalSecondaryIndexUpdates entry of UpdateTable.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexUpdate {
    /// Add a GSI (backfilled in every region, CREATING until then).
    Create(SecondaryIndex),
    /// Change a GSI's provisioned throughput.
    Update {
        name: String,
        throughput: Option<(u64, u64)>,
    },
    /// Remove a GSI and its entries.
    Delete(String),
}

/// A change to a table's description. Each part is optional; the parts
/// given are validated and applied together, or not at all.
#[derive(Clone, Debug, Default)]
pub struct TableUpdate {
    pub billing: Option<BillingMode>,
    /// GlobalSecondaryIndexUpdates.
    pub indexes: Vec<IndexUpdate>,
    pub stream: Option<StreamUpdate>,
    pub replicas: Vec<ReplicaUpdate>,
    /// UpdateTimeToLive: the attribute, and whether TTL is to be enabled.
    pub ttl: Option<TtlSpec>,
    pub tags: TagUpdate,
    /// OnDemandThroughput of the table and its GSIs, as they are to be.
    pub on_demand: Option<OnDemandMaxima>,
    /// TableClass, WarmThroughput, SSESpecification and replicas' overrides.
    pub settings: SettingsUpdate,
}

/// Why a `TableUpdate` cannot be applied. Each is a ValidationException in
/// DynamoDB, with these messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableUpdateError {
    #[error("Table already has an enabled stream: TableName: {0}")]
    StreamAlreadyEnabled(String),
    #[error("Table has no stream to disable: TableName: {0}")]
    NoStreamToDisable(String),
    #[error(
        "Failed to create a the new replica of table with name: '{0}' because one or more replicas already existed as tables."
    )]
    ReplicaExists(String),
    #[error("Update global table operation failed because one or more replicas were not part of the global table: {0}")]
    NoSuchReplica(String),
    #[error("Cannot delete the last replica of a table; use DeleteTable")]
    LastReplica,
    #[error("Number of Tags exceed the current limit for the provided ResourceArn")]
    TooManyTags,
    #[error("TimeToLive is active on a different AttributeName: current AttributeName is {0}")]
    TtlOnOtherAttribute(String),
    #[error("TimeToLive is already enabled")]
    TtlAlreadyEnabled,
    #[error("TimeToLive is already disabled")]
    TtlAlreadyDisabled,
    #[error("One or more parameter values were invalid: Index {0} already exists")]
    IndexExists(String),
    #[error("One or more parameter values were invalid: Requested index not found: {0}")]
    NoSuchIndex(String),
    #[error("One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20")]
    TooManyIndexes,
    /// A LimitExceededException in DynamoDB.
    #[error("Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table")]
    IndexBusy,
    #[error(
        "One or more parameter values were invalid: Cannot update an index that is not a GlobalSecondaryIndex: {0}"
    )]
    NotGlobal(String),
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

impl TableUpdate {
    /// Applies every part to `meta`, the description as of the change at
    /// `context`; on an error `meta` may be half changed and must be
    /// dropped (the caller works on a copy).
    pub fn apply(self, meta: &mut TableMeta, context: &ChangeContext) -> Result<(), TableUpdateError> {
        if let Some(billing) = self.billing {
            if billing != meta.billing {
                settings_rules::keep_warm(meta);
            }
            meta.billing = billing;
        }
        if let Some(on_demand) = self.on_demand {
            meta.on_demand = (!on_demand.is_unset()).then(|| Box::new(on_demand));
        }
        apply_indexes(meta, self.indexes)?;
        if let Some(stream) = self.stream {
            apply_stream(meta, context, stream)?;
        }
        for replica in &self.replicas {
            apply_replica(meta, replica)?;
        }
        let created: Vec<String> = self
            .replicas
            .iter()
            .filter_map(|r| match r {
                ReplicaUpdate::Create(region) => Some(region.clone()),
                ReplicaUpdate::Delete(_) => None,
            })
            .collect();
        let site = ChangeSite {
            region: &context.region,
            now_ms: context.now.unix_millis(),
        };
        settings_rules::apply(meta, &site, self.settings, &created)?;
        if let Some(ttl) = self.ttl {
            apply_ttl(meta, ttl)?;
        }
        apply_tags(meta, self.tags)
    }
}

/// GlobalSecondaryIndexUpdates: at most one index created or deleted at a
/// time per table (none while another is still being backfilled here), as
/// DynamoDB allows; the attribute definitions follow the keys in use. The
/// index being backfilled may itself be deleted, as DynamoDB allows while
/// its `Backfilling` is true: its backfill stops with it.
fn apply_indexes(meta: &mut TableMeta, updates: Vec<IndexUpdate>) -> Result<(), TableUpdateError> {
    let structural: Vec<&IndexUpdate> = updates
        .iter()
        .filter(|u| !matches!(u, IndexUpdate::Update { .. }))
        .collect();
    let busy = |update: &IndexUpdate| {
        let deletes = |index: &SecondaryIndex| matches!(update, IndexUpdate::Delete(name) if *name == index.name);
        meta.indexes.iter().any(|i| i.backfilling && !deletes(i))
    };
    if structural.len() > 1 || structural.first().is_some_and(|u| busy(u)) {
        return Err(TableUpdateError::IndexBusy);
    }
    for update in updates {
        match update {
            IndexUpdate::Create(index) => {
                if meta.index(&index.name).is_some() {
                    return Err(TableUpdateError::IndexExists(index.name));
                }
                let globals = meta.indexes.iter().filter(|i| i.kind == IndexKind::Global).count();
                if globals >= MAX_GLOBAL_INDEXES {
                    return Err(TableUpdateError::TooManyIndexes);
                }
                for attr in [Some(&index.key_schema.hash), index.key_schema.range.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    if !meta.attribute_definitions.iter().any(|d| d.name == attr.name) {
                        meta.attribute_definitions.push(attr.clone());
                    }
                }
                // Backfilled from the first item (see `indexes::localize`).
                meta.indexes.push(SecondaryIndex {
                    backfilling: true,
                    ..index
                });
            }
            IndexUpdate::Update { name, throughput } => {
                let index = meta
                    .indexes
                    .iter_mut()
                    .find(|i| i.name == name)
                    .ok_or_else(|| TableUpdateError::NoSuchIndex(name.clone()))?;
                if index.kind != IndexKind::Global {
                    return Err(TableUpdateError::NotGlobal(name));
                }
                index.throughput = throughput;
            }
            IndexUpdate::Delete(name) => {
                let position = meta
                    .indexes
                    .iter()
                    .position(|i| i.name == name && i.kind == IndexKind::Global)
                    .ok_or_else(|| TableUpdateError::NoSuchIndex(name.clone()))?;
                meta.indexes.remove(position);
                if let Some(on_demand) = meta.on_demand.as_mut() {
                    on_demand.indexes.remove(&name);
                }
                let schema = &meta.key_schema;
                let indexes = &meta.indexes;
                meta.attribute_definitions.retain(|d| {
                    schema.names().any(|n| n == d.name)
                        || indexes.iter().any(|i| i.key_schema.names().any(|n| n == d.name))
                });
            }
        }
    }
    Ok(())
}

/// A stream can be enabled only when none is, and disabled only when one
/// is (DynamoDB's rules; changing the view type takes both).
fn apply_stream(meta: &mut TableMeta, context: &ChangeContext, update: StreamUpdate) -> Result<(), TableUpdateError> {
    let enabled = meta.stream.as_ref().is_some_and(|s| s.enabled);
    match update {
        StreamUpdate::Enable(_) if enabled => Err(TableUpdateError::StreamAlreadyEnabled(meta.name.clone())),
        StreamUpdate::Enable(spec) => {
            open_stream(meta, context.next_seq, context.now, &spec);
            Ok(())
        }
        StreamUpdate::Disable if !enabled => Err(TableUpdateError::NoStreamToDisable(meta.name.clone())),
        StreamUpdate::Disable => {
            close_stream(meta, context.next_seq, context.now);
            Ok(())
        }
    }
}

/// A new replica starts CREATING (backfilled by its region); the last
/// replica cannot be removed (DeleteTable does that).
fn apply_replica(meta: &mut TableMeta, update: &ReplicaUpdate) -> Result<(), TableUpdateError> {
    match update {
        ReplicaUpdate::Create(region) => {
            if meta.replica(region).is_some() {
                return Err(TableUpdateError::ReplicaExists(meta.name.clone()));
            }
            meta.replicas.push(Replica {
                region: region.clone(),
                status: ReplicaStatus::Creating,
            });
        }
        ReplicaUpdate::Delete(region) => {
            if meta.replica(region).is_none() {
                return Err(TableUpdateError::NoSuchReplica(region.clone()));
            }
            if meta.replicas.len() == 1 {
                return Err(TableUpdateError::LastReplica);
            }
            meta.replicas.retain(|r| &r.region != region);
        }
    }
    Ok(())
}

/// TTL is turned on or off for one attribute at a time, and only when it
/// changes something.
fn apply_ttl(meta: &mut TableMeta, requested: TtlSpec) -> Result<(), TableUpdateError> {
    match meta.ttl.as_ref().filter(|t| t.enabled) {
        Some(current) if current.attribute != requested.attribute => {
            return Err(TableUpdateError::TtlOnOtherAttribute(current.attribute.clone()));
        }
        Some(_) if requested.enabled => return Err(TableUpdateError::TtlAlreadyEnabled),
        None if !requested.enabled => return Err(TableUpdateError::TtlAlreadyDisabled),
        _ => {}
    }
    meta.ttl = Some(Box::new(requested));
    Ok(())
}

fn apply_tags(meta: &mut TableMeta, tags: TagUpdate) -> Result<(), TableUpdateError> {
    meta.tags.extend(tags.add);
    for key in &tags.remove {
        meta.tags.remove(key);
    }
    if meta.tags.len() > MAX_TAGS {
        return Err(TableUpdateError::TooManyTags);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(next_seq: u64) -> ChangeContext {
        ChangeContext {
            next_seq: Seq(next_seq),
            now: Timestamp {
                wall_ns: 1_700_000_000_000_000_000,
                logical: 0,
            },
            region: "r".into(),
        }
    }

    fn enable() -> StreamUpdate {
        StreamUpdate::Enable(NewStream {
            view_type: crate::model::table_features::StreamViewType::NewImage,
            shard_span: 10,
            retention_ms: 86_400_000,
        })
    }

    fn update(f: impl FnOnce(&mut TableUpdate)) -> TableUpdate {
        let mut update = TableUpdate::default();
        f(&mut update);
        update
    }

    #[test]
    fn streams_open_where_the_change_lands_and_close_there_once() {
        let mut meta = TableMeta::sample("t", 1);
        update(|u| u.stream = Some(enable()))
            .apply(&mut meta, &context(7))
            .unwrap();
        let stream = meta.stream.clone().unwrap();
        assert_eq!((stream.enabled, stream.start_seq, stream.end_seq), (true, Seq(7), None));
        let again = update(|u| u.stream = Some(enable())).apply(&mut meta, &context(8));
        assert_eq!(again, Err(TableUpdateError::StreamAlreadyEnabled("t".into())));

        update(|u| u.stream = Some(StreamUpdate::Disable))
            .apply(&mut meta, &context(9))
            .unwrap();
        assert_eq!(meta.stream.as_ref().unwrap().end_seq, Some(Seq(9)));
        let again = update(|u| u.stream = Some(StreamUpdate::Disable)).apply(&mut meta, &context(10));
        assert_eq!(again, Err(TableUpdateError::NoStreamToDisable("t".into())));

        // A stream enabled again in the same millisecond gets a new label.
        update(|u| u.stream = Some(enable()))
            .apply(&mut meta, &context(11))
            .unwrap();
        assert_ne!(meta.stream.as_ref().unwrap().label, stream.label);
    }

    #[test]
    fn replicas_are_added_creating_and_the_last_one_stays() {
        let mut meta = TableMeta::sample("t", 1);
        let here = "us-east-1".to_string();
        meta.replicas = vec![Replica {
            region: here.clone(),
            status: ReplicaStatus::Active,
        }];
        let add = |region: &str| update(|u| u.replicas = vec![ReplicaUpdate::Create(region.into())]);
        let remove = |region: &str| update(|u| u.replicas = vec![ReplicaUpdate::Delete(region.into())]);
        add("eu-west-1").apply(&mut meta, &context(1)).unwrap();
        assert_eq!(meta.replica("eu-west-1").unwrap().status, ReplicaStatus::Creating);
        assert_eq!(
            add("eu-west-1").apply(&mut meta, &context(2)),
            Err(TableUpdateError::ReplicaExists("t".into()))
        );
        assert_eq!(
            remove("ap-southeast-2").apply(&mut meta, &context(3)),
            Err(TableUpdateError::NoSuchReplica("ap-southeast-2".into()))
        );
        remove("eu-west-1").apply(&mut meta, &context(4)).unwrap();
        assert_eq!(
            remove(&here).apply(&mut meta, &context(5)),
            Err(TableUpdateError::LastReplica)
        );
        assert_eq!(meta.replicas.len(), 1);
    }

    #[test]
    fn ttl_changes_only_when_it_changes_something() {
        let mut meta = TableMeta::sample("t", 1);
        let ttl = |attribute: &str, enabled: bool| {
            update(|u| {
                u.ttl = Some(TtlSpec {
                    attribute: attribute.into(),
                    enabled,
                })
            })
        };
        assert_eq!(
            ttl("exp", false).apply(&mut meta, &context(1)),
            Err(TableUpdateError::TtlAlreadyDisabled)
        );
        ttl("exp", true).apply(&mut meta, &context(2)).unwrap();
        assert_eq!(
            ttl("exp", true).apply(&mut meta, &context(3)),
            Err(TableUpdateError::TtlAlreadyEnabled)
        );
        assert_eq!(
            ttl("other", false).apply(&mut meta, &context(4)),
            Err(TableUpdateError::TtlOnOtherAttribute("exp".into()))
        );
        ttl("exp", false).apply(&mut meta, &context(5)).unwrap();
        assert!(!meta.ttl.unwrap().enabled);
    }

    #[test]
    fn tags_are_added_removed_and_capped() {
        let mut meta = TableMeta::sample("t", 1);
        let add: BTreeMap<String, String> = (0..MAX_TAGS).map(|i| (format!("k{i}"), "v".into())).collect();
        update(|u| u.tags.add = add).apply(&mut meta, &context(1)).unwrap();
        let one_more = update(|u| u.tags.add = BTreeMap::from([("extra".into(), "v".into())]));
        assert_eq!(
            one_more.apply(&mut meta.clone(), &context(2)),
            Err(TableUpdateError::TooManyTags)
        );
        update(|u| u.tags.remove = vec!["k0".into(), "absent".into()])
            .apply(&mut meta, &context(3))
            .unwrap();
        assert_eq!(meta.tags.len(), MAX_TAGS - 1);
    }
}
