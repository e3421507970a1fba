//! DescribeLimits: the account's and a table's capacity quotas.

use serde_json::{Value, json};

/// DynamoDB's default quotas for an account in a region and for one table
/// (read and write capacity units), which `DescribeLimits` reports: 80,000
/// per account and 40,000 per table, as in most AWS regions. Meridian
/// enforces no account quota; these are what tools size requests by.
pub const ACCOUNT_MAX_CAPACITY_UNITS: u64 = 80_000;
/// See [`ACCOUNT_MAX_CAPACITY_UNITS`].
pub const TABLE_MAX_CAPACITY_UNITS: u64 = 40_000;

/// DescribeLimits.
pub fn handle_describe_limits() -> Value {
    json!({
        "AccountMaxReadCapacityUnits": ACCOUNT_MAX_CAPACITY_UNITS,
        "AccountMaxWriteCapacityUnits": ACCOUNT_MAX_CAPACITY_UNITS,
        "TableMaxReadCapacityUnits": TABLE_MAX_CAPACITY_UNITS,
        "TableMaxWriteCapacityUnits": TABLE_MAX_CAPACITY_UNITS,
    })
}
