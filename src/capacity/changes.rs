//! UpdateTable's limits on capacity changes, as DynamoDB documents them
//! today (Developer Guide, "Service, account, and table quotas", Read/write
//! capacity mode and throughput, and "Considerations when switching
//! capacity modes"):
//!
//! - a table may switch from provisioned to on-demand at most four times in
//!   a rolling 24-hour window; on-demand to provisioned at any time;
//! - provisioned throughput may be decreased four times at any time in a UTC
//!   day, and once more for every hour without a decrease (so at most 27 a
//!   day); increases are unlimited;
//! - a throughput equal to the current one is not a change.
//!
//! The history is kept per table in this region's memory: a restart forgets
//! it (DynamoDB keeps it per table per region too, so replicas do not share it).

use std::collections::{HashMap, VecDeque};

use crate::model::table::BillingMode;

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;
/// Switches to on-demand allowed in a rolling 24 hours.
const ON_DEMAND_SWITCHES_PER_DAY: usize = 4;
/// Decreases allowed at any time in a UTC day, before the hourly ones.
const FREE_DECREASES: u32 = 4;

/// Why a billing change is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BillingChangeError {
    /// LimitExceededException.
    #[error(
        "Subscriber limit exceeded: Update to PayPerRequest mode are limited to {ON_DEMAND_SWITCHES_PER_DAY} times in a rolling 24-hour window. Next update can be made at {next}"
    )]
    OnDemandSwitches { next: String },
    /// LimitExceededException.
    #[error(
        "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first {FREE_DECREASES} decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: {today}. Last decrease at {last}. Next decrease can be made at {next}"
    )]
    Decreases { today: u32, last: String, next: String },
    /// ValidationException.
    #[error(
        "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnitsForTable: {read}. Requested ReadCapacityUnitsForTable: {read}. Current WriteCapacityUnitsForTable: {write}. Requested WriteCapacityUnitsForTable: {write}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
    )]
    Unchanged { read: u64, write: u64 },
}

/// One table's recent capacity changes.
#[derive(Clone, Debug, Default)]
struct History {
    /// Times of switches to on-demand within the last 24 hours, oldest first.
    on_demand_switches: VecDeque<u64>,
    /// Decreases in the UTC day `day`, and when the last one was.
    day: u64,
    decreases_today: u32,
    last_decrease_ms: Option<u64>,
}

/// The capacity changes of every table (UpdateTable's limits).
#[derive(Debug, Default)]
pub struct BillingChanges {
    tables: HashMap<String, History>,
}

impl BillingChanges {
    /// Checks that `table` may go from `current` to `requested` at
    /// `now_ms` (milliseconds since the epoch) and, when it may, records it.
    pub fn change(
        &mut self,
        table: &str,
        current: &BillingMode,
        requested: &BillingMode,
        now_ms: u64,
    ) -> Result<(), BillingChangeError> {
        let history = self.tables.entry(table.to_string()).or_default();
        while history
            .on_demand_switches
            .front()
            .is_some_and(|&t| t + DAY_MS <= now_ms)
        {
            history.on_demand_switches.pop_front();
        }
        if history.day != now_ms / DAY_MS {
            history.day = now_ms / DAY_MS;
            history.decreases_today = 0;
        }
        match (current, requested) {
            (BillingMode::Provisioned { .. }, BillingMode::PayPerRequest) => {
                if history.on_demand_switches.len() >= ON_DEMAND_SWITCHES_PER_DAY {
                    let oldest = history.on_demand_switches.front().copied().unwrap_or(now_ms);
                    return Err(BillingChangeError::OnDemandSwitches {
                        next: iso(oldest + DAY_MS),
                    });
                }
                history.on_demand_switches.push_back(now_ms);
            }
            (BillingMode::Provisioned { read, write }, BillingMode::Provisioned { read: r, write: w }) => {
                if (read, write) == (r, w) {
                    return Err(BillingChangeError::Unchanged {
                        read: *read,
                        write: *write,
                    });
                }
                if r < read || w < write {
                    decrease(history, now_ms)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Counts a decrease at `now_ms`, or refuses it.
fn decrease(history: &mut History, now_ms: u64) -> Result<(), BillingChangeError> {
    if history.decreases_today >= FREE_DECREASES
        && let Some(last) = history.last_decrease_ms
        && now_ms < last + HOUR_MS
    {
        return Err(BillingChangeError::Decreases {
            today: history.decreases_today,
            last: iso(last),
            next: iso(last + HOUR_MS),
        });
    }
    history.decreases_today += 1;
    history.last_decrease_ms = Some(now_ms);
    Ok(())
}

/// A time as DynamoDB's messages print it (ISO 8601, UTC).
fn iso(millis: u64) -> String {
    crate::model::table_features::stream_label(millis) + "Z"
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVISIONED: BillingMode = BillingMode::Provisioned { read: 5, write: 5 };

    fn provisioned(units: u64) -> BillingMode {
        BillingMode::Provisioned {
            read: units,
            write: units,
        }
    }

    #[test]
    fn four_switches_to_on_demand_in_a_rolling_day() {
        let mut changes = BillingChanges::default();
        for hour in 0..4 {
            let at = hour * HOUR_MS;
            changes
                .change("t", &PROVISIONED, &BillingMode::PayPerRequest, at)
                .unwrap();
            changes
                .change("t", &BillingMode::PayPerRequest, &PROVISIONED, at)
                .unwrap();
        }
        let refused = changes.change("t", &PROVISIONED, &BillingMode::PayPerRequest, 23 * HOUR_MS);
        assert!(matches!(refused, Err(BillingChangeError::OnDemandSwitches { .. })));
        assert!(
            changes
                .change("other", &PROVISIONED, &BillingMode::PayPerRequest, 0)
                .is_ok()
        );
        changes
            .change("t", &PROVISIONED, &BillingMode::PayPerRequest, DAY_MS)
            .unwrap();
    }

    #[test]
    fn four_decreases_then_one_an_hour_per_utc_day() {
        let mut changes = BillingChanges::default();
        let day = 10 * DAY_MS;
        let mut units = 100;
        for minute in 0..4 {
            units -= 1;
            changes
                .change("t", &provisioned(units + 1), &provisioned(units), day + minute * 60_000)
                .unwrap();
        }
        let refused = changes.change("t", &provisioned(units), &provisioned(units - 1), day + 30 * 60_000);
        assert!(matches!(refused, Err(BillingChangeError::Decreases { today: 4, .. })));
        // Increases are never limited.
        changes
            .change("t", &provisioned(units), &provisioned(1000), day + 31 * 60_000)
            .unwrap();
        let hour_after = day + 3 * 60_000 + HOUR_MS;
        changes
            .change("t", &provisioned(1000), &provisioned(10), hour_after)
            .unwrap();
        assert!(
            changes
                .change("t", &provisioned(10), &provisioned(9), hour_after + 1)
                .is_err()
        );
        // A new UTC day starts afresh.
        changes
            .change("t", &provisioned(10), &provisioned(9), day + DAY_MS)
            .unwrap();
    }

    #[test]
    fn the_same_throughput_is_not_a_change() {
        let error = BillingChanges::default()
            .change("t", &PROVISIONED, &PROVISIONED, 0)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("The provisioned throughput for the table will not change.")
        );
    }
}
