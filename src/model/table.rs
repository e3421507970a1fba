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
    /// Table class, warm throughput and KMS keys, if any was ever set
    /// (see `table_settings.rs`).
    #[serde(default, deserialize_with = "super::table_features::or_default")]
    pub settings: Option<Box<super::table_settings::TableSettings>>,
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
            settings: None,
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

    /// The table's recorded settings (none set when it has none).
    pub fn settings(&self) -> super::table_settings::TableSettings {
        self.settings.as_deref().cloned().unwrap_or_default()
    }

    /// The table's warm throughput: as far as it was raised, and at least
    /// what its billing sustains.
    pub fn warm(&self) -> super::table_settings::WarmUnits {
        let raised = self.settings.as_deref().map(|s| s.warm).unwrap_or_default();
        raised.max(warm_of_billing(&self.billing))
    }

    /// The warm throughput of GSI `index`: as asked for it, else what it
    /// sustains billed as the table is (its provisioned capacity).
    pub fn index_warm(&self, index: &super::index::SecondaryIndex) -> super::table_settings::WarmUnits {
        if let Some(asked) = self.settings.as_deref().and_then(|s| s.index_warm.get(&index.name)) {
            return *asked;
        }
        match (&self.billing, index.throughput) {
            (BillingMode::Provisioned { .. }, Some((read, write))) => super::table_settings::WarmUnits { read, write },
            (billing, _) => warm_of_billing(billing),
        }
    }

    /// The KMS key ARN of the replica in `region`, when the table is
    /// encrypted with KMS keys (the AWS managed key where none was given).
    pub fn kms_key_arn(&self, region: &str) -> Option<String> {
        let keys = self.settings.as_deref()?.kms.as_ref()?;
        Some(keys.get(region).cloned().unwrap_or_else(|| aws_managed_key_arn(region)))
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

/// What a table or GSI billed as `billing` sustains at once (its warm
/// throughput unless raised): the on-demand start, or the provisioned
/// capacity.
pub fn warm_of_billing(billing: &BillingMode) -> super::table_settings::WarmUnits {
    match billing {
        BillingMode::PayPerRequest => super::table_settings::ON_DEMAND_WARM,
        BillingMode::Provisioned { read, write } => super::table_settings::WarmUnits {
            read: *read,
            write: *write,
        },
    }
}

/// The ARN of KMS resource `resource` (`key/<id>` or `alias/<name>`) of
/// this account in `region`.
pub fn kms_arn(region: &str, resource: &str) -> String {
    format!("arn:aws:kms:{region}:{ACCOUNT_ID}:{resource}")
}

/// The AWS managed key for DynamoDB (`alias/aws/dynamodb`) of this
/// account in `region`: a key id derived from the two, stable across
/// restarts and the same in every region's view.
pub fn aws_managed_key_arn(region: &str) -> String {
    let seed = format!("{ACCOUNT_ID}/{region}/alias/aws/dynamodb");
    let a = crc32fast::hash(seed.as_bytes());
    let b = (u64::from(crc32fast::hash(region.as_bytes())) << 32) | u64::from(a.rotate_left(16));
    let id = format!(
        "{a:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (b >> 48) & 0xFFFF,
        (b >> 36) & 0xFFF,
        (b >> 24) & 0xFFF,
        b & 0xFFFF_FFFF_FFFF
    );
    kms_arn(region, &format!("key/{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_keys_are_stable_per_region() {
        let key = aws_managed_key_arn("us-east-1");
        assert_eq!(key, aws_managed_key_arn("us-east-1"));
        assert_ne!(key, aws_managed_key_arn("eu-west-1"));
        assert!(key.starts_with("arn:aws:kms:us-east-1:000000000000:key/"), "{key}");
        assert_eq!(key.len(), "arn:aws:kms:us-east-1:000000000000:key/".len() + 36);
    }
}
