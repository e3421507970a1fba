//! Why a request was throttled, as DynamoDB tells it: the exception and
//! message (by the table's billing mode), and the `ThrottlingReasons` list
//! whose entries name the limit hit as `ResourceType + OperationType +
//! LimitType` (`TableReadProvisionedThroughputExceeded`,
//! `IndexWriteAccountLimitExceeded`, ...) and the ARN of the table or index
//! that hit it
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ThrottlingReason.html>).

use super::units::CapacityKind;

/// Which exception and message a throttle is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ThrottleKind {
    /// A provisioned table (or one of its partitions) is over its units.
    #[error(
        "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
    )]
    ProvisionedExceeded,
    /// A global secondary index of a provisioned table is over its write
    /// units, which throttles writes to its table.
    #[error(
        "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API"
    )]
    IndexProvisionedExceeded,
    /// An on-demand table (or one of its partitions) is over its maximum.
    #[error(
        "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
    )]
    OnDemandExceeded,
}

/// The limit a request hit (the `LimitType` of a throttling reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitType {
    /// A provisioned table's or GSI's units.
    ProvisionedThroughput,
    /// An on-demand table's or GSI's per-table account quota.
    AccountLimit,
    /// A partition's ceiling (`capacity.partition_limits`).
    KeyRangeThroughput,
    /// An on-demand table's or GSI's own maximum (OnDemandThroughput).
    MaxOnDemandThroughput,
}

impl LimitType {
    fn name(self) -> &'static str {
        match self {
            LimitType::ProvisionedThroughput => "ProvisionedThroughputExceeded",
            LimitType::AccountLimit => "AccountLimitExceeded",
            LimitType::KeyRangeThroughput => "KeyRangeThroughputExceeded",
            LimitType::MaxOnDemandThroughput => "MaxOnDemandThroughputExceeded",
        }
    }
}

/// One entry of `ThrottlingReasons`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlingReason {
    /// `TableReadProvisionedThroughputExceeded`, ...
    pub reason: String,
    /// The ARN of the table or index throttled.
    pub resource: String,
}

impl ThrottlingReason {
    /// The reason `limit` was hit by a `kind` request on `resource`, the
    /// ARN of a table, or of an index when `index` is true.
    pub fn new(index: bool, kind: CapacityKind, limit: LimitType, resource: String) -> ThrottlingReason {
        let resource_type = if index { "Index" } else { "Table" };
        let operation = match kind {
            CapacityKind::Read => "Read",
            CapacityKind::Write => "Write",
        };
        ThrottlingReason {
            reason: format!("{resource_type}{operation}{}", limit.name()),
            resource,
        }
    }
}

/// A throttled request: its exception and message, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ThrottleError {
    pub kind: ThrottleKind,
    pub reasons: Vec<ThrottlingReason>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_resource_operation_and_limit() {
        let reason = |index, kind, limit| ThrottlingReason::new(index, kind, limit, "arn".into()).reason;
        assert_eq!(
            reason(false, CapacityKind::Read, LimitType::ProvisionedThroughput),
            "TableReadProvisionedThroughputExceeded"
        );
        assert_eq!(
            reason(true, CapacityKind::Write, LimitType::AccountLimit),
            "IndexWriteAccountLimitExceeded"
        );
        assert_eq!(
            reason(false, CapacityKind::Write, LimitType::KeyRangeThroughput),
            "TableWriteKeyRangeThroughputExceeded"
        );
        assert_eq!(
            reason(true, CapacityKind::Read, LimitType::MaxOnDemandThroughput),
            "IndexReadMaxOnDemandThroughputExceeded"
        );
    }
}
