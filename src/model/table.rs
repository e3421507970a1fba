//! Table descriptions: key schema, billing, tags and the counters DescribeTable
//! reports, plus primary-key extraction with DynamoDB's validation messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::key::ScalarType;
pub use super::key_schema::{KeyAttribute, KeyError, KeySchema, MAX_HASH_KEY_BYTES, MAX_RANGE_KEY_BYTES, PrimaryKey};
use super::value::Item;
use crate::ids::StorageId;

/// How a table is billed; only reported back, never enforced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    PayPerRequest,
    Provisioned { read: u64, write: u64 },
}

/// A table's lifecycle state as DescribeTable reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableStatus {
    Creating,
    Active,
    Updating,
    Deleting,
}

impl TableStatus {
    /// DynamoDB's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TableStatus::Creating => "CREATING",
            TableStatus::Active => "ACTIVE",
            TableStatus::Updating => "UPDATING",
            TableStatus::Deleting => "DELETING",
        }
    }
}

/// A replica's lifecycle state, as DescribeTable's `Replicas` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaStatus {
    /// Being backfilled from the other replicas.
    Creating,
    Active,
}

impl ReplicaStatus {
    /// DynamoDB's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaStatus::Creating => "CREATING",
            ReplicaStatus::Active => "ACTIVE",
        }
    }
}

/// One region holding a copy of a global table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    pub region: String,
    pub status: ReplicaStatus,
}

/// Everything stored about one table besides its items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    /// Local storage prefix of the table's items; a re-created table gets a
    /// new one, so a deleted table's items never leak into it.
    pub storage_id: StorageId,
    /// Stable identifier reported as `TableId`.
    pub table_id: String,
    pub key_schema: KeySchema,
    /// Attribute definitions as given at creation (key attributes only).
    pub attribute_definitions: Vec<KeyAttribute>,
    pub billing: BillingMode,
    pub status: TableStatus,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    pub tags: BTreeMap<String, String>,
    /// Live items (tombstones excluded).
    pub item_count: u64,
    /// DynamoDB-counted bytes of live items.
    pub size_bytes: u64,
    /// The regions holding the table (global tables version 2019.11.21):
    /// just the creating region until replicas are added.
    pub replicas: Vec<Replica>,
    /// LWW version of the replicated description: HLC time of the last
    /// change and the region that made it.
    pub changed: crate::clock::Timestamp,
    pub changed_by: String,
    /// The table's latest DynamoDB stream, if one was ever enabled.
    #[serde(default, deserialize_with = "super::table_features::or_default")]
    pub stream: Option<Box<super::table_features::StreamState>>,
    /// Time to Live, if it was ever enabled.
    #[serde(default, deserialize_with = "super::table_features::or_default")]
    pub ttl: Option<Box<super::table_features::TtlSpec>>,
    /// Global and local secondary indexes (see `index.rs`).
    #[serde(default, deserialize_with = "super::table_features::or_default")]
    pub indexes: Vec<super::index::SecondaryIndex>,
    /// On-demand maximums (OnDemandThroughput) of the table and its GSIs,
    /// if any was ever set.
    #[serde(default, deserialize_with = "super::table_features::or_default")]
    pub on_demand: Option<Box<super::table_features::OnDemandMaxima>>,
    /// When the latest stream was disabled, and the earlier streams still
    /// readable (absent in records written before streams were kept).
    #[serde(default, deserialize_with = "super::table_features::or_default")]
    pub stream_history: Option<Box<super::table_features::StreamHistory>>,
}

#[cfg(test)]
impl TableMeta {
    /// An ACTIVE pay-per-request table keyed by the string `pk`, for unit tests.
    pub(crate) fn sample(name: &str, storage_id: u64) -> TableMeta {
        let hash = KeyAttribute {
            name: "pk".into(),
            ty: super::ScalarType::S,
        };
        TableMeta {
            name: name.into(),
            storage_id: StorageId(storage_id),
            table_id: "id".into(),
            key_schema: KeySchema {
                hash: hash.clone(),
                range: None,
            },
            attribute_definitions: vec![hash],
            billing: BillingMode::PayPerRequest,
            status: TableStatus::Active,
            created_at_ms: 0,
            tags: Default::default(),
            item_count: 0,
            size_bytes: 0,
            replicas: Vec::new(),
            changed: Default::default(),
            changed_by: "r".into(),
            stream: None,
            ttl: None,
            indexes: Vec::new(),
            on_demand: None,
            stream_history: None,
        }
    }
}

impl TableMeta {
    /// This region's replica entry, if the table is replicated here.
    pub fn replica(&self, region: &str) -> Option<&Replica> {
        self.replicas.iter().find(|r| r.region == region)
    }

    /// The secondary index `name`, if the table has it.
    pub fn index(&self, name: &str) -> Option<&super::index::SecondaryIndex> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// Checks an item being written against every index's key attributes.
    pub fn check_index_keys(&self, item: &Item) -> Result<(), super::index::IndexKeyError> {
        self.indexes.iter().try_for_each(|index| index.check_item(item))
    }

    /// The table's on-demand maximums (none set when it has none).
    pub fn on_demand(&self) -> super::table_features::OnDemandMaxima {
        self.on_demand.as_deref().cloned().unwrap_or_default()
    }

    /// The table's ARN in `region`.
    pub fn arn(&self, region: &str) -> String {
        table_arn(region, &self.name)
    }
}

/// Account id used in ARNs, as DynamoDB Local does.
pub const ACCOUNT_ID: &str = "000000000000";

/// ARN of table `name` in `region`.
pub fn table_arn(region: &str, name: &str) -> String {
    format!("arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}")
}
