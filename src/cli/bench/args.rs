//! The arguments of `meridian bench` and the scenarios it runs.

use clap::{Args, ValueEnum};

/// Arguments of `meridian bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Concurrent keep-alive connections [default: 512 for `core`, 64
    /// for the other scenarios].
    #[arg(long)]
    pub connections: Option<usize>,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Approximate item size in bytes.
    #[arg(long, default_value_t = 200)]
    pub item_bytes: usize,
    /// What to measure, each against a baseline measured in the same run.
    #[arg(long, value_enum, default_value_t = Scenario::Core)]
    pub scenario: Scenario,
    /// Topology for the latency scenario (names and `[[link]]`s; its
    /// addresses are replaced by free ports).
    #[arg(long, default_value = "regions/three-continents.toml")]
    pub topology: std::path::PathBuf,
    /// Writes per second per region in the latency scenario; 0 is flat out.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Items in the table of the `pitr` scenario; change-log entries the
    /// `retention` scenario trims; items the `resync` scenario's region missed;
    /// items in the table of the `scan` scenario; items in the table the
    /// `indexes` scenario backfills a GSI on.
    #[arg(long, default_value_t = 1_000_000)]
    pub items: usize,
    /// `streams` scenario: expired items the TTL sweep deletes.
    #[arg(long, default_value_t = 100_000)]
    pub expired_items: usize,
}

/// Connections of the core bench unless `--connections` says otherwise. It
/// compares throughputs, so every operation must keep both cores busy: a
/// durable PutItem spends milliseconds waiting for its group and the log
/// sync, and the faster the machine, the more connections it takes to
/// cover that wait. 64 connections left a third of the cores idle during
/// PutItem (1.35-1.47 cores busy); 256 left 1.59-1.68 busy on a day the
/// no-op ran at 72,000-94,000/s, and 512 1.80-1.88, while the no-op and
/// GetItem keep 1.96-1.99 busy either way.
const CORE_CONNECTIONS: usize = 512;

/// Connections of the other scenarios: they drive several regions or pace
/// their load, and their figures (lag at half the replicated throughput)
/// were taken with this many.
const CONNECTIONS: usize = 64;

impl BenchArgs {
    /// `--connections`, or the scenario's default.
    pub fn connections(&self) -> usize {
        let default = match self.scenario {
            Scenario::Core => CORE_CONNECTIONS,
            _ => CONNECTIONS,
        };
        self.connections.unwrap_or(default)
    }
}

/// What `meridian bench` measures; `--scenario` takes the names in lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// One region against its baselines (raw store, engine alone, no-op HTTP).
    Core,
    /// Three replicating regions against one region.
    Replication,
    /// Every region of --topology driven at --rate, with its simulated link
    /// delays: client latency per region, lag per link.
    Latency,
    /// A point-in-time restore against a full scan.
    Pitr,
    /// GetRecords throughput, PutItem p99 during a TTL sweep.
    Streams,
    /// PutItem while the change-log trimmer removes --items entries.
    Retention,
    /// A region getting back --items missed items from a snapshot, against
    /// from the change log.
    Resync,
    /// A parallel scan of --items items, segment after segment, against a
    /// full scan.
    Scan,
    /// PutItem with two GSIs and an LSI against none, GSI Query against
    /// table Query, and the backfill of a GSI on --items items.
    Indexes,
    /// PutItem and GetItem on an on-demand table with capacity enforced,
    /// against a region with `capacity.enabled = false`.
    Capacity,
    /// PutItem and GetItem against a region with `auth = "sigv4"`, against
    /// one with `auth = "none"`.
    Auth,
    /// Items written through TransactWriteItems of 10 puts, against
    /// BatchWriteItem of 10 puts.
    Transactions,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).map(|c| c.bench)
    }

    #[test]
    fn scenarios_keep_their_names() {
        let names = [
            "core",
            "replication",
            "latency",
            "pitr",
            "streams",
            "retention",
            "resync",
            "scan",
            "indexes",
            "capacity",
            "auth",
            "transactions",
        ];
        let parsed: Vec<Scenario> = names
            .iter()
            .map(|n| parse(&["--scenario", n]).unwrap().scenario)
            .collect();
        assert_eq!(parsed, Scenario::value_variants());
        assert_eq!(parse(&[]).unwrap().scenario, Scenario::Core);
        assert!(parse(&["--scenario", "warp"]).is_err());
    }

    #[test]
    fn core_takes_more_connections_by_default() {
        assert_eq!(parse(&[]).unwrap().connections(), CORE_CONNECTIONS);
        assert_eq!(parse(&["--scenario", "scan"]).unwrap().connections(), CONNECTIONS);
        assert_eq!(
            parse(&["--scenario", "core", "--connections", "7"])
                .unwrap()
                .connections(),
            7
        );
    }
}
