//! Fixed-bucket latency histograms: which bucket a value falls in, and the
//! buckets in the form a Prometheus encoder takes. Shared by the log syncs'
//! latency (`engine::sync_latency`) and replication lag
//! (`replication::status`), which keep their counts their own way (atomics
//! on the syncer's path, plain numbers under the peers' lock).

/// The bucket of `value` among buckets with upper bounds `bounds`
/// (ascending, a bound belonging to its bucket): `bounds.len()` is the
/// unbounded bucket beyond the last.
pub fn bucket_of(bounds: &[f64], value: f64) -> usize {
    bounds.iter().position(|&bound| value <= bound).unwrap_or(bounds.len())
}

/// (upper bound, count) for every bucket, the unbounded one last with
/// `f64::MAX`, not cumulative (the encoder adds them up). `counts` has one
/// more entry than `bounds`.
pub fn prometheus_buckets(bounds: &[f64], counts: &[u64]) -> Vec<(f64, u64)> {
    bounds
        .iter()
        .copied()
        .chain([f64::MAX])
        .zip(counts.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_belongs_to_its_bucket_and_beyond_the_last_is_unbounded() {
        let bounds = [0.001, 0.01];
        assert_eq!(bucket_of(&bounds, 0.0005), 0);
        assert_eq!(bucket_of(&bounds, 0.001), 0);
        assert_eq!(bucket_of(&bounds, 0.002), 1);
        assert_eq!(bucket_of(&bounds, 5.0), 2);
        assert_eq!(
            prometheus_buckets(&bounds, &[3, 2, 1]),
            vec![(0.001, 3), (0.01, 2), (f64::MAX, 1)]
        );
    }
}
