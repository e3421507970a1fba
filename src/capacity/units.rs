//! DynamoDB's capacity-unit arithmetic, the one copy of it: what
//! `ReturnConsumedCapacity` reports is what the buckets are charged.
//!
//! A write unit per started 1 KB of the larger of the old and new item; a
//! read unit per started 4 KB read at once, half of it for an eventually
//! consistent read; transactional reads and writes cost double
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html>).

/// Read or write capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapacityKind {
    Read,
    Write,
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

/// Units of a transactional read or write: twice the plain cost.
pub fn transactional(units: f64) -> f64 {
    units * 2.0
}

/// Adds each part's units to its entry in `total` (units per table, or
/// per index), appending an entry for a key not there yet.
pub fn add_units<K: PartialEq>(total: &mut Vec<(K, f64)>, parts: impl IntoIterator<Item = (K, f64)>) {
    for (key, units) in parts {
        match total.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 += units,
            None => total.push((key, units)),
        }
    }
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
        assert_eq!(transactional(write_units(1025)), 4.0);
        assert_eq!(transactional(read_units(100, true)), 2.0);
    }
}
