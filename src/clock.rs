//! The region's hybrid logical clock (crate `hybrid-clocks`), with a
//! simulated wall-clock offset for drills and a maximum-offset guard.
//!
//! Every local write is stamped with `now()`; every timestamp received from a
//! peer is passed to `observe()`, so a write that causally follows another
//! always gets a larger timestamp, even when this region's wall clock is
//! behind. A remote timestamp further ahead of our wall clock than the
//! configured maximum offset is still observed (refusing it would stall
//! convergence forever), but `observe` reports it so it can be counted and
//! logged by peer.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use hybrid_clocks::{Clock, ClockSource, OffsetLimiter, WallNST};
use serde::{Deserialize, Serialize};

/// An HLC timestamp: wall-clock nanoseconds plus a logical counter. Ordered
/// by (wall, logical); ties between regions are broken by region name in LWW.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp {
    pub wall_ns: u64,
    pub logical: u32,
}

impl Timestamp {
    /// Milliseconds since the Unix epoch of the wall part.
    pub fn unix_millis(&self) -> u64 {
        self.wall_ns / 1_000_000
    }

    fn to_hlc(self) -> hybrid_clocks::Timestamp<WallNST> {
        hybrid_clocks::Timestamp {
            epoch: 0,
            time: WallNST::of_u64(self.wall_ns),
            count: self.logical,
        }
    }

    fn from_hlc(ts: hybrid_clocks::Timestamp<WallNST>) -> Timestamp {
        Timestamp {
            wall_ns: ts.time.as_u64(),
            logical: ts.count,
        }
    }

    /// Big-endian bytes that sort in timestamp order (usable in redb keys).
    pub fn to_bytes(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.wall_ns.to_be_bytes());
        out[8..].copy_from_slice(&self.logical.to_be_bytes());
        out
    }
}

/// Wall clock shifted by an offset that can change at run time
/// (`clock_offset_ms` in the topology, `meridian clock skew` in drills).
#[derive(Clone, Debug)]
pub struct OffsetWall {
    offset_ms: Arc<AtomicI64>,
}

impl OffsetWall {
    /// The shifted wall clock in nanoseconds since the epoch. Total: the sum
    /// is taken in 128 bits and saturates at the ends of `u64`, so no stored
    /// offset (even one outside [`MAX_CLOCK_OFFSET_MS`]) can make it fail or
    /// panic; a system clock before 1970 reads as 0.
    fn wall_ns(&self) -> u64 {
        let offset_ns = i128::from(self.offset_ms.load(Ordering::Relaxed)) * 1_000_000;
        let base_ns = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
        let shifted = base_ns.saturating_add(offset_ns).clamp(0, i128::from(u64::MAX));
        // In range by the clamp just above.
        u64::try_from(shifted).unwrap_or(u64::MAX)
    }
}

impl ClockSource for OffsetWall {
    type Time = WallNST;
    type Delta = Duration;

    /// Never fails: see [`OffsetWall::wall_ns`].
    fn now(&mut self) -> hybrid_clocks::Result<WallNST> {
        Ok(WallNST::of_u64(self.wall_ns()))
    }
}

/// Largest simulated clock offset, either way: one day, in milliseconds.
/// Drills need minutes or hours; far beyond a day, timestamps would outlive
/// any real clock and TTL and PITR would act on nonsense times.
pub const MAX_CLOCK_OFFSET_MS: i64 = 86_400_000;

/// A simulated clock offset outside [`MAX_CLOCK_OFFSET_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("clock offset {offset_ms} ms is out of range: it must lie within ±{MAX_CLOCK_OFFSET_MS} ms (one day)")]
pub struct OffsetOutOfRange {
    /// The refused offset, milliseconds.
    pub offset_ms: i64,
}

/// Checks a simulated clock offset against [`MAX_CLOCK_OFFSET_MS`].
pub fn check_offset_ms(offset_ms: i64) -> Result<i64, OffsetOutOfRange> {
    if (-MAX_CLOCK_OFFSET_MS..=MAX_CLOCK_OFFSET_MS).contains(&offset_ms) {
        Ok(offset_ms)
    } else {
        Err(OffsetOutOfRange { offset_ms })
    }
}

/// A remote timestamp was further ahead of our wall clock than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("remote timestamp is {ahead_ms} ms ahead of the local clock")]
pub struct ClockAhead {
    pub ahead_ms: u64,
}

/// The region's HLC. Cheap to clone; all clones share one clock.
#[derive(Clone)]
pub struct Hlc {
    clock: Arc<Mutex<OffsetLimiter<OffsetWall>>>,
    offset_ms: Arc<AtomicI64>,
}

impl Hlc {
    /// A clock with the given simulated offset and maximum tolerated offset
    /// of remote timestamps.
    /// An offset beyond [`MAX_CLOCK_OFFSET_MS`] is clamped to it (the
    /// topology's `validate()` refuses one before this is reached).
    pub fn new(offset_ms: i64, max_offset: Duration) -> Hlc {
        let offset_ms = offset_ms.clamp(-MAX_CLOCK_OFFSET_MS, MAX_CLOCK_OFFSET_MS);
        let offset = Arc::new(AtomicI64::new(offset_ms));
        let source = OffsetWall {
            offset_ms: offset.clone(),
        };
        // `Clock::new` fails only when its source does, and `OffsetWall::now`
        // never fails (it saturates).
        let clock = Clock::new(source).expect("OffsetWall::now is total");
        Hlc {
            clock: Arc::new(Mutex::new(clock.with_max_diff(max_offset))),
            offset_ms: offset,
        }
    }

    /// A fresh timestamp, above every timestamp issued or observed so far.
    pub fn now(&self) -> Timestamp {
        let mut clock = self.clock.lock().unwrap_or_else(|e| e.into_inner());
        // As in `new`: `Clock::now` fails only when `OffsetWall::now` does,
        // and that never fails.
        Timestamp::from_hlc(clock.now().expect("OffsetWall::now is total"))
    }

    /// Moves the clock past `ts`. Returns `Err` (having still observed it)
    /// when `ts` is beyond the maximum offset.
    pub fn observe(&self, ts: Timestamp) -> Result<(), ClockAhead> {
        let mut clock = self.clock.lock().unwrap_or_else(|e| e.into_inner());
        let hlc = ts.to_hlc();
        match clock.observe(&hlc) {
            Ok(()) => Ok(()),
            Err(_) => {
                clock.inner_mut().observe(&hlc);
                let wall = self.wall_now_ns();
                Err(ClockAhead {
                    ahead_ms: ts.wall_ns.saturating_sub(wall) / 1_000_000,
                })
            }
        }
    }

    /// The simulated wall clock now, in nanoseconds since the epoch.
    pub fn wall_now_ns(&self) -> u64 {
        OffsetWall {
            offset_ms: self.offset_ms.clone(),
        }
        .wall_ns()
    }

    /// Changes the simulated wall-clock offset; one beyond
    /// [`MAX_CLOCK_OFFSET_MS`] is refused and changes nothing.
    pub fn set_offset_ms(&self, offset_ms: i64) -> Result<(), OffsetOutOfRange> {
        self.offset_ms.store(check_offset_ms(offset_ms)?, Ordering::Relaxed);
        Ok(())
    }

    /// The current simulated wall-clock offset.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_monotonic_and_follows_observed() {
        let hlc = Hlc::new(0, Duration::from_secs(1));
        let a = hlc.now();
        let b = hlc.now();
        assert!(b > a);
        let future = Timestamp {
            wall_ns: b.wall_ns + 500_000_000,
            logical: 7,
        };
        assert!(hlc.observe(future).is_ok());
        assert!(hlc.now() > future);
    }

    #[test]
    fn far_future_timestamps_are_reported_but_observed() {
        let hlc = Hlc::new(0, Duration::from_millis(100));
        let far = Timestamp {
            wall_ns: hlc.now().wall_ns + 10_000_000_000,
            logical: 0,
        };
        let err = hlc.observe(far).unwrap_err();
        assert!(err.ahead_ms >= 9_000);
        assert!(hlc.now() > far);
    }

    #[test]
    fn extreme_offsets_are_refused_and_never_panic() {
        let hlc = Hlc::new(0, Duration::from_secs(1));
        for offset in [
            i64::MAX,
            i64::MIN,
            1_000_000_000_000_000,
            -10_000_000_000_000,
            10_000_000_000_000,
        ] {
            assert_eq!(hlc.set_offset_ms(offset), Err(OffsetOutOfRange { offset_ms: offset }));
            assert_eq!(hlc.offset_ms(), 0);
        }
        for offset in [MAX_CLOCK_OFFSET_MS, -MAX_CLOCK_OFFSET_MS] {
            hlc.set_offset_ms(offset).unwrap();
            let before = hlc.now();
            assert!(hlc.now() > before);
        }
        // Even offsets that bypass the check (clamped, or stored by a bug)
        // saturate instead of panicking.
        for offset in [i64::MAX, i64::MIN] {
            let clamped = Hlc::new(offset, Duration::from_secs(1));
            assert_eq!(clamped.offset_ms().abs(), MAX_CLOCK_OFFSET_MS);
            let raw = OffsetWall {
                offset_ms: Arc::new(AtomicI64::new(offset)),
            };
            let ns = raw.wall_ns();
            assert!(ns == 0 || ns == u64::MAX);
        }
    }

    #[test]
    fn behind_clock_still_orders_after_observed() {
        let behind = Hlc::new(-5_000, Duration::from_secs(10));
        let ahead = Hlc::new(0, Duration::from_secs(10));
        let remote = ahead.now();
        assert!(behind.now() < remote);
        behind.observe(remote).unwrap();
        assert!(behind.now() > remote);
    }
}
