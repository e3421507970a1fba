//! Per-table settings added after the first record format: the table's
//! DynamoDB stream (and its earlier streams), its Time to Live setting and
//! its on-demand maximums.
//!
//! Both travel inside `TableMeta`, so they are stored with the table and
//! replicate with its description. They are its last fields, and a record
//! written before they existed ends exactly where they begin: `or_default`
//! decodes such a record with the settings absent.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::ids::Seq;

/// What a stream record carries besides the keys (StreamViewType).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamViewType {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

impl StreamViewType {
    /// Parses DynamoDB's spelling.
    pub fn parse(text: &str) -> Option<StreamViewType> {
        Some(match text {
            "KEYS_ONLY" => StreamViewType::KeysOnly,
            "NEW_IMAGE" => StreamViewType::NewImage,
            "OLD_IMAGE" => StreamViewType::OldImage,
            "NEW_AND_OLD_IMAGES" => StreamViewType::NewAndOldImages,
            _ => return None,
        })
    }

    /// DynamoDB's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamViewType::KeysOnly => "KEYS_ONLY",
            StreamViewType::NewImage => "NEW_IMAGE",
            StreamViewType::OldImage => "OLD_IMAGE",
            StreamViewType::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    /// Whether records carry the item after the change.
    pub fn has_new(self) -> bool {
        matches!(self, StreamViewType::NewImage | StreamViewType::NewAndOldImages)
    }

    /// Whether records carry the item before the change.
    pub fn has_old(self) -> bool {
        matches!(self, StreamViewType::OldImage | StreamViewType::NewAndOldImages)
    }
}

/// The table's latest stream. Its label and view type replicate; the log
/// positions are this region's own (see `engine::streams::localize_stream`),
/// because every region's stream is a view of its own change log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    /// StreamLabel: the creation time, `YYYY-MM-DDTHH:MM:SS.mmm` (UTC).
    pub label: String,
    pub view_type: StreamViewType,
    /// False once the stream is disabled (it stays readable until trimmed).
    pub enabled: bool,
    /// When the stream was enabled, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// First change-log position of the stream in this region.
    pub start_seq: Seq,
    /// First change-log position no longer in the stream, once disabled.
    pub end_seq: Option<Seq>,
    /// Change-log positions one shard covers (fixed for the stream's life,
    /// so shard ids stay valid when the configuration changes).
    pub shard_span: u64,
}

/// A stream the table had before its latest one. DynamoDB keeps a
/// disabled stream readable for 24 hours (`streams.retention_secs` here)
/// after it was disabled, also once a newer stream replaced it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierStream {
    pub stream: StreamState,
    /// When it was disabled, milliseconds since the Unix epoch.
    pub disabled_ms: u64,
}

/// What is kept of a table's streams besides the latest one's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHistory {
    /// When the latest stream was disabled, while it is (milliseconds
    /// since the Unix epoch).
    pub latest_disabled_ms: Option<u64>,
    /// Streams before the latest one that may still be readable, oldest
    /// first.
    pub earlier: Vec<EarlierStream>,
}

/// The table's Time to Live setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtlSpec {
    /// The attribute holding each item's expiry, in epoch seconds.
    pub attribute: String,
    pub enabled: bool,
}

/// Items whose expiry lies further in the past than this are never deleted
/// (DynamoDB ignores expiry times more than five years old).
const MAX_EXPIRY_AGE_SECS: f64 = 5.0 * 365.0 * 86_400.0;

impl TtlSpec {
    /// Whether `item` has expired at `now_secs`: its TTL attribute is a
    /// Number of epoch seconds in the past, but no more than five years.
    /// Items without the attribute, or with another type, never expire.
    pub fn expired(&self, item: &crate::model::Item, now_secs: f64) -> bool {
        let Some(crate::model::AttributeValue::N(number)) = item.get(&self.attribute) else {
            return false;
        };
        let Ok(expiry) = number.to_string().parse::<f64>() else {
            return false;
        };
        expiry <= now_secs && expiry >= now_secs - MAX_EXPIRY_AGE_SECS
    }
}

/// A maximum of on-demand request units per second (OnDemandThroughput's
/// MaxReadRequestUnits and MaxWriteRequestUnits): none where unset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnDemandMax {
    pub read: Option<u64>,
    pub write: Option<u64>,
}

impl OnDemandMax {
    /// Whether neither maximum is set.
    pub fn is_unset(&self) -> bool {
        self.read.is_none() && self.write.is_none()
    }
}

/// The on-demand maximums of a table and of its global secondary indexes
/// (by index name), enforced while the table is billed on demand.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnDemandMaxima {
    pub table: OnDemandMax,
    pub indexes: BTreeMap<String, OnDemandMax>,
}

impl OnDemandMaxima {
    /// The maximums of index `name` (none set when it has none).
    pub fn index(&self, name: &str) -> OnDemandMax {
        self.indexes.get(name).copied().unwrap_or_default()
    }

    /// Whether no maximum is set anywhere.
    pub fn is_unset(&self) -> bool {
        self.table.is_unset() && self.indexes.values().all(OnDemandMax::is_unset)
    }
}

/// Deserialises a trailing field added after a record format shipped: a
/// record that ends before it gets the default.
pub fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(T::deserialize(deserializer).unwrap_or_default())
}

/// A stream label for a creation time in milliseconds since the epoch, as
/// DynamoDB writes it (ISO 8601, UTC, milliseconds, no zone suffix).
pub fn stream_label(millis: u64) -> String {
    let secs = millis / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        millis % 1000
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_iso_timestamps() {
        assert_eq!(stream_label(0), "1970-01-01T00:00:00.000");
        assert_eq!(stream_label(1_432_153_870_252), "2015-05-20T20:31:10.252");
        assert_eq!(stream_label(951_782_400_001), "2000-02-29T00:00:00.001");
    }

    #[test]
    fn view_types_round_trip() {
        for name in ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"] {
            assert_eq!(StreamViewType::parse(name).map(|v| v.as_str()), Some(name));
        }
        assert_eq!(StreamViewType::parse("ALL"), None);
    }
}
