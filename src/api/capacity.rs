//! ReturnConsumedCapacity with DynamoDB's capacity-unit arithmetic: a write
//! unit per started 1 KB of the larger of the old and new item, a read unit
//! per started 4 KB (half for eventually consistent reads); Query and Scan
//! round the total bytes read, batch operations round each item.

use serde_json::{Value, json};

use super::error::ApiError;
use super::request::Request;

/// How much capacity detail a request asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityDetail {
    None,
    Total,
    Indexes,
}

/// Read or write capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityKind {
    Read,
    Write,
}

impl CapacityDetail {
    /// Parses ReturnConsumedCapacity.
    pub fn from_request(req: &Request) -> Result<CapacityDetail, ApiError> {
        Ok(
            match req
                .opt_enum("ReturnConsumedCapacity", &["INDEXES", "TOTAL", "NONE"])?
                .as_deref()
            {
                Some("TOTAL") => CapacityDetail::Total,
                Some("INDEXES") => CapacityDetail::Indexes,
                _ => CapacityDetail::None,
            },
        )
    }

    /// The ConsumedCapacity object for `units` on `table`, if asked for.
    pub fn report(self, table: &str, units: f64, kind: CapacityKind) -> Option<Value> {
        let kind_field = match kind {
            CapacityKind::Read => "ReadCapacityUnits",
            CapacityKind::Write => "WriteCapacityUnits",
        };
        match self {
            CapacityDetail::None => None,
            CapacityDetail::Total => Some(json!({ "TableName": table, "CapacityUnits": units, kind_field: units })),
            CapacityDetail::Indexes => Some(json!({
                "TableName": table,
                "CapacityUnits": units,
                kind_field: units,
                "Table": { "CapacityUnits": units, kind_field: units },
            })),
        }
    }
}

/// Write units for an item of `bytes` (the larger of old and new).
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// Read units for `bytes` read at once.
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_matches_dynamodb() {
        assert_eq!(write_units(0), 1.0);
        assert_eq!(write_units(1024), 1.0);
        assert_eq!(write_units(1025), 2.0);
        assert_eq!(read_units(100, true), 1.0);
        assert_eq!(read_units(100, false), 0.5);
        assert_eq!(read_units(4097, false), 1.0);
        assert_eq!(read_units(8192 * 3, true), 6.0);
    }
}
