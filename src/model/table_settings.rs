//! Table settings that are recorded and described but change nothing in
//! how Meridian stores or serves items: the table class (TableClass,
//! per replica), warm throughput (WarmThroughput, of the table and of its
//! GSIs) and server-side encryption with a KMS key (SSESpecification, a
//! key per replica). DynamoDB prices the first, pre-scales partitions for
//! the second and encrypts with the third; Meridian has no price list, no
//! partitions to pre-scale and no KMS, and its files are not encrypted in
//! any mode.
//!
//! They travel inside `TableMeta` as one boxed optional struct at its end,
//! so a table without them costs one byte and older records still decode.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A table's class (TableClass): pricing only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableClass {
    Standard,
    StandardInfrequentAccess,
}

impl TableClass {
    /// DynamoDB's spellings, in the service model's order.
    pub const NAMES: [&'static str; 2] = ["STANDARD", "STANDARD_INFREQUENT_ACCESS"];

    /// Parses DynamoDB's spelling.
    pub fn parse(text: &str) -> Option<TableClass> {
        match text {
            "STANDARD" => Some(TableClass::Standard),
            "STANDARD_INFREQUENT_ACCESS" => Some(TableClass::StandardInfrequentAccess),
            _ => None,
        }
    }

    /// DynamoDB's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TableClass::Standard => "STANDARD",
            TableClass::StandardInfrequentAccess => "STANDARD_INFREQUENT_ACCESS",
        }
    }
}

/// One replica's table class, and when an UpdateTable last changed it
/// (none for the class the replica was created with).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassSetting {
    pub class: TableClass,
    /// Milliseconds since the Unix epoch.
    pub updated_ms: Option<u64>,
}

/// Read and write units per second (WarmThroughput).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmUnits {
    pub read: u64,
    pub write: u64,
}

/// Warm throughput of a new on-demand table or GSI.
pub const ON_DEMAND_WARM: WarmUnits = WarmUnits {
    read: 12_000,
    write: 4_000,
};

impl WarmUnits {
    /// The larger of each member.
    pub fn max(self, other: WarmUnits) -> WarmUnits {
        WarmUnits {
            read: self.read.max(other.read),
            write: self.write.max(other.write),
        }
    }
}

/// The settings of one table besides those of its first record format.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSettings {
    /// The table class of each replica (by region) that ever had one set;
    /// a replica without one is STANDARD and DescribeTable shows no class.
    pub classes: BTreeMap<String, ClassSetting>,
    /// The table's warm throughput as far as it was raised (by requests,
    /// by capacity given and by billing modes it had): it never falls.
    pub warm: WarmUnits,
    /// Warm throughput asked for GSIs, by index name.
    pub index_warm: BTreeMap<String, WarmUnits>,
    /// Server-side encryption with a KMS key, when enabled: each replica's
    /// key ARN (by region), the AWS managed key where a region has none.
    /// `None`: the AWS owned key (DynamoDB's default).
    pub kms: Option<BTreeMap<String, String>>,
}

impl TableSettings {
    /// The table class of the replica in `region`, if one was set.
    pub fn class(&self, region: &str) -> Option<&ClassSetting> {
        self.classes.get(region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_trip() {
        for name in TableClass::NAMES {
            assert_eq!(TableClass::parse(name).map(TableClass::as_str), Some(name));
        }
        assert_eq!(TableClass::parse("STANDARD_IA"), None);
    }
}
