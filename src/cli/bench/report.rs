//! What the scenarios print: a measurement's throughput, percentiles and
//! busy cores, tables of them, and a region's log syncs and checkpoints.

use std::time::Duration;

use crate::engine::SyncHistogram;
use crate::store::CheckpointStats;

/// Throughput and latency of one measurement.
pub struct Measurement {
    pub name: &'static str,
    pub ops_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    /// CPU cores this process kept busy on average (client and server).
    pub cores: f64,
    /// Requests answered.
    pub count: u64,
}

/// Throughput and percentiles of a set of latencies measured over `elapsed`.
pub fn summarise(name: &'static str, mut latencies: Vec<Duration>, elapsed: Duration) -> Measurement {
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    Measurement {
        name,
        ops_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.5),
        p99: pick(0.99),
        p999: pick(0.999),
        cores: 0.0,
        count: latencies.len() as u64,
    }
}

/// Prints one row per measurement: ops/s, p50, p99 and busy cores.
pub fn print_measurements(measurements: &[&Measurement]) {
    println!(
        "\n{:<34} {:>12} {:>10} {:>10} {:>6}",
        "measurement", "ops/s", "p50", "p99", "cores"
    );
    for m in measurements {
        println!(
            "{:<34} {:>12.0} {:>10.2?} {:>10.2?} {:>6.2}",
            m.name, m.ops_per_sec, m.p50, m.p99, m.cores
        );
    }
}

/// CPU time per operation in µs, from the cores a measurement kept busy
/// (this process: load generator and region): what each operation cost the
/// machine, whatever its rate that turn.
pub fn cpu_micros(m: &Measurement) -> f64 {
    m.cores / m.ops_per_sec.max(f64::MIN_POSITIVE) * 1e6
}

/// Prints how a region's log syncs were spread: every write waits for one
/// (and maybe the end of another), so their tail is the writes' tail.
pub fn report_syncs(region: &str, syncs: &SyncHistogram) {
    let percent = |bound: f64| syncs.share_over(bound).unwrap_or(0.0) * 100.0;
    println!(
        "log syncs in {region}: {}, over 1 ms {:.1}%, over 5 ms {:.2}%, over 10 ms {:.2}%, the longest {:.1} ms",
        syncs.total(),
        percent(0.001),
        percent(0.005),
        percent(0.01),
        syncs.longest.as_secs_f64() * 1e3,
    );
}

/// Prints the checkpoints a region made: the writer waits for each, so the
/// longest bounds the worst stall a write saw.
pub fn report_checkpoints(region: &str, checkpoints: &CheckpointStats) {
    println!(
        "checkpoints in {region}: {} of {:.1} ms on average, the longest {:.1} ms (writes wait meanwhile)",
        checkpoints.count,
        checkpoints.total_ms / checkpoints.count.max(1) as f64,
        checkpoints.longest_ms,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_per_operation_is_cores_over_rate() {
        let m = Measurement {
            name: "x",
            ops_per_sec: 40_000.0,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            p999: Duration::ZERO,
            cores: 2.0,
            count: 1,
        };
        assert!((cpu_micros(&m) - 50.0).abs() < 1e-9);
    }
}
