//! Last-writer-wins: pure, total orders on writes. No I/O, no async.
//!
//! Items: a write replaces what is stored for its key if and only if its
//! version (HLC timestamp, origin region) is greater. Applying the same
//! write twice, or a set of writes in any order, leaves the same winner:
//! the maximum.
//!
//! Table descriptions: the same order on when and where a description last
//! changed (`TableMeta::changed`, `changed_by`).

use crate::model::TableMeta;
use crate::store::Version;

/// True when a write with version `incoming` must replace the stored
/// `current` version (or there is none).
pub fn incoming_wins(current: Option<&Version>, incoming: &Version) -> bool {
    match current {
        None => true,
        Some(current) => incoming > current,
    }
}

/// The LWW version of a table description: when and where it last changed.
pub fn description_version(meta: &TableMeta) -> Version {
    Version {
        ts: meta.changed,
        region: meta.changed_by.clone(),
    }
}

/// True when the description `incoming` must replace `current`: it changed
/// later (by HLC, then region).
pub fn description_wins(current: &TableMeta, incoming: &TableMeta) -> bool {
    (current.changed, &current.changed_by) < (incoming.changed, &incoming.changed_by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use proptest::prelude::*;

    fn v(wall: u64, logical: u32, region: &str) -> Version {
        Version {
            ts: Timestamp { wall_ns: wall, logical },
            region: region.to_string(),
        }
    }

    #[test]
    fn higher_timestamp_wins_then_region_breaks_ties() {
        assert!(incoming_wins(None, &v(1, 0, "a")));
        assert!(incoming_wins(Some(&v(1, 0, "a")), &v(2, 0, "a")));
        assert!(!incoming_wins(Some(&v(2, 0, "a")), &v(1, 9, "z")));
        assert!(incoming_wins(Some(&v(1, 0, "a")), &v(1, 1, "a")));
        assert!(incoming_wins(Some(&v(1, 0, "a")), &v(1, 0, "b")));
        assert!(!incoming_wins(Some(&v(1, 0, "b")), &v(1, 0, "a")));
        assert!(
            !incoming_wins(Some(&v(1, 0, "a")), &v(1, 0, "a")),
            "re-applying is a no-op"
        );
    }

    proptest! {
        /// Whatever order writes arrive in, the survivor is the maximum version.
        #[test]
        fn any_order_converges_to_the_maximum(
            mut writes in proptest::collection::vec((0u64..5, 0u32..3, 0usize..3), 1..12)
        ) {
            let regions = ["a", "b", "c"];
            let apply = |order: &[(u64, u32, usize)]| {
                let mut current: Option<Version> = None;
                for &(w, l, r) in order {
                    let incoming = v(w, l, regions[r]);
                    if incoming_wins(current.as_ref(), &incoming) {
                        current = Some(incoming);
                    }
                }
                current
            };
            let forward = apply(&writes);
            writes.reverse();
            let backward = apply(&writes);
            let max = writes.iter().map(|&(w, l, r)| v(w, l, regions[r])).max();
            prop_assert_eq!(&forward, &backward);
            prop_assert_eq!(forward, max);
        }
    }

    #[test]
    fn a_description_changed_later_wins_and_region_breaks_ties() {
        let at = |wall: u64, region: &str| TableMeta {
            changed: Timestamp {
                wall_ns: wall,
                logical: 0,
            },
            changed_by: region.to_string(),
            ..TableMeta::sample("t", 1)
        };
        assert!(description_wins(&at(1, "b"), &at(2, "a")));
        assert!(!description_wins(&at(2, "a"), &at(1, "b")));
        assert!(description_wins(&at(1, "a"), &at(1, "b")));
        assert!(!description_wins(&at(1, "b"), &at(1, "a")));
        assert!(!description_wins(&at(1, "a"), &at(1, "a")), "re-applying is a no-op");
        assert_eq!(description_version(&at(3, "c")), v(3, 0, "c"));
    }
}
