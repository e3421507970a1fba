//! ReturnConsumedCapacity with DynamoDB's capacity-unit arithmetic, which
//! lives in `crate::capacity::units` so that the throttling buckets are
//! charged exactly what is reported: Query and Scan round the total bytes
//! read, batch operations round each item.

use serde_json::{Value, json};

use super::error::ApiError;
use super::request::{Request, modes};
use crate::model::{IndexKind, SecondaryIndex};

modes! {
    /// How much capacity detail a request asked for (ReturnConsumedCapacity).
    #[derive(Default)]
    pub enum CapacityDetail = "ReturnConsumedCapacity" {
        Indexes => "INDEXES",
        Total => "TOTAL",
        #[default]
        None => "NONE",
    }
}

pub use crate::capacity::{CapacityKind, add_units, read_units, write_units};

/// The ConsumedCapacity member naming `kind`'s units.
fn units_field(kind: CapacityKind) -> &'static str {
    match kind {
        CapacityKind::Read => "ReadCapacityUnits",
        CapacityKind::Write => "WriteCapacityUnits",
    }
}

impl CapacityDetail {
    /// Parses ReturnConsumedCapacity; absent is NONE.
    pub fn from_request(req: &Request) -> Result<CapacityDetail, ApiError> {
        req.mode()
    }

    /// The ConsumedCapacity object for `units` on `table`, if asked for.
    pub fn report(self, table: &str, units: f64, kind: CapacityKind) -> Option<Value> {
        let kind_field = units_field(kind);
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

impl CapacityDetail {
    /// The ConsumedCapacity object for `table_units` on the table and
    /// `index_units` on its secondary indexes, if asked for: TOTAL sums
    /// them, INDEXES also lists each index under its kind.
    pub fn report_parts(
        self,
        table: &str,
        table_units: f64,
        index_units: &[(&SecondaryIndex, f64)],
        kind: CapacityKind,
    ) -> Option<Value> {
        let total = table_units + index_units.iter().map(|(_, u)| u).sum::<f64>();
        let mut report = self.report(table, total, kind)?;
        if self == CapacityDetail::Indexes {
            let kind_field = units_field(kind);
            report["Table"] = json!({ "CapacityUnits": table_units, kind_field: table_units });
            for (index, units) in index_units {
                let member = match index.kind {
                    IndexKind::Global => "GlobalSecondaryIndexes",
                    IndexKind::Local => "LocalSecondaryIndexes",
                };
                report[member][&index.name] = json!({ "CapacityUnits": units, kind_field: units });
            }
        }
        Some(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(body: serde_json::Value) -> Result<CapacityDetail, ApiError> {
        CapacityDetail::from_request(&Request::parse(body.to_string().as_bytes()).expect("a JSON object"))
    }

    #[test]
    fn return_consumed_capacity_parses_once_into_its_detail() {
        let cases = [
            ("INDEXES", CapacityDetail::Indexes),
            ("TOTAL", CapacityDetail::Total),
            ("NONE", CapacityDetail::None),
        ];
        for (name, value) in cases {
            assert_eq!(detail(json!({ "ReturnConsumedCapacity": name })).unwrap(), value);
        }
        assert_eq!(detail(json!({})).unwrap(), CapacityDetail::None);
        let error = detail(json!({ "ReturnConsumedCapacity": "ALL" })).unwrap_err();
        assert_eq!(
            error.message,
            "1 validation error detected: Value 'ALL' at 'returnConsumedCapacity' failed to satisfy \
             constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
        );
        assert_eq!(CapacityDetail::None.report("t", 1.0, CapacityKind::Read), None);
    }
}
