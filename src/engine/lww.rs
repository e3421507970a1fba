//! Last-writer-wins: a pure, total order on writes. No I/O, no async.
//!
//! A write replaces what is stored for its key if and only if its version
//! (HLC timestamp, origin region) is greater. Applying the same write twice,
//! or a set of writes in any order, leaves the same winner: the maximum.

use crate::store::Version;

/// True when a write with version `incoming` must replace the stored
/// `current` version (or there is none).
pub fn incoming_wins(current: Option<&Version>, incoming: &Version) -> bool {
    match current {
        None => true,
        Some(current) => incoming > current,
    }
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
}
