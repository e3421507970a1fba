//! Token buckets on an injectable clock: the rate a bucket refills at is the
//! provisioned (or maximum) capacity per second, and it holds at most
//! `burst_seconds` of it, which is DynamoDB's burst capacity (up to 300
//! seconds of unused capacity are kept for later bursts).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where buckets read the time from. Tests inject a [`ManualClock`], so
/// refills happen when the test says, never on the wall clock.
pub trait CapacityClock: Send + Sync + std::fmt::Debug {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
}

/// The process's monotonic clock.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock { origin: Instant::now() }
    }

    /// A shared system clock.
    pub fn shared() -> Arc<dyn CapacityClock> {
        Arc::new(SystemClock::new())
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl CapacityClock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to (tests, simulations).
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock::default())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl CapacityClock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// A token bucket of capacity units. Tokens may go below zero: a request is
/// admitted on an estimate of its cost and charged its real cost afterwards
/// (a write's cost depends on the item it replaces), so the difference is a
/// debt that the refill pays back before the next admission.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    /// Units added per second.
    rate: f64,
    /// Most units held.
    capacity: f64,
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Duration,
}

impl TokenBucket {
    /// A full bucket refilling at `rate` units per second and holding up
    /// to `burst` seconds of it (at least one second).
    pub fn new(rate: f64, burst: Duration, now: Duration) -> TokenBucket {
        let capacity = rate * burst.as_secs_f64().max(1.0);
        TokenBucket {
            rate,
            capacity,
            tokens: capacity,
            updated: now,
        }
    }

    /// Changes the rate (and so the capacity), keeping the tokens held up to
    /// the new capacity, as an UpdateTable of the throughput does.
    pub fn reconfigure(&mut self, rate: f64, burst: Duration, now: Duration) {
        self.refill(now);
        self.rate = rate;
        self.capacity = rate * burst.as_secs_f64().max(1.0);
        self.tokens = self.tokens.min(self.capacity);
    }

    /// Units per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Units available at `now` (negative while in debt).
    pub fn available(&mut self, now: Duration) -> f64 {
        self.refill(now);
        self.tokens
    }

    /// Takes `units` if the bucket holds them; a cost above the bucket's
    /// whole capacity is admitted from a full bucket, so that a large item
    /// on a small table is slow rather than impossible.
    pub fn try_take(&mut self, units: f64, now: Duration) -> bool {
        if !self.can_take(units, now) {
            return false;
        }
        self.tokens -= units;
        true
    }

    /// Whether [`TokenBucket::try_take`] would take `units` at `now`.
    pub fn can_take(&mut self, units: f64, now: Duration) -> bool {
        self.refill(now);
        self.tokens >= units.min(self.capacity)
    }

    /// Takes `units` whatever the bucket holds (a correction of an estimate,
    /// or a replicated write, which is never refused).
    pub fn take(&mut self, units: f64, now: Duration) {
        self.refill(now);
        self.tokens -= units;
    }

    /// Whether the bucket is full (idle long enough to forget).
    pub fn is_full(&mut self, now: Duration) -> bool {
        self.refill(now);
        self.tokens >= self.capacity
    }

    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.updated = self.updated.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BURST: Duration = Duration::from_secs(300);

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_new_bucket_holds_its_whole_burst_and_no_more() {
        let mut bucket = TokenBucket::new(5.0, BURST, secs(0.0));
        for _ in 0..1500 {
            assert!(bucket.try_take(1.0, secs(0.0)));
        }
        assert!(!bucket.try_take(1.0, secs(0.0)), "the 1501st unit is over the burst");
        assert!(!bucket.try_take(1.0, secs(0.1)), "half a unit refilled is not a unit");
        assert!(
            bucket.try_take(1.0, secs(0.2)),
            "a fifth of a second at 5/s refills one unit"
        );
        assert_eq!(bucket.available(secs(10_000.0)), 1500.0, "refill stops at the burst");
    }

    #[test]
    fn debts_are_paid_before_the_next_admission() {
        let mut bucket = TokenBucket::new(1.0, Duration::from_secs(1), secs(0.0));
        assert!(bucket.try_take(1.0, secs(0.0)));
        bucket.take(3.0, secs(0.0));
        assert_eq!(bucket.available(secs(0.0)), -3.0);
        assert!(!bucket.try_take(1.0, secs(3.5)));
        assert!(bucket.try_take(1.0, secs(4.0)));
    }

    #[test]
    fn a_cost_above_the_capacity_needs_a_full_bucket() {
        let mut bucket = TokenBucket::new(1.0, Duration::from_secs(2), secs(0.0));
        assert!(bucket.try_take(400.0, secs(0.0)));
        assert!(!bucket.try_take(400.0, secs(300.0)), "still paying the debt");
        assert!(bucket.try_take(400.0, secs(402.0)));
    }

    #[test]
    fn reconfiguring_keeps_the_tokens_up_to_the_new_capacity() {
        let mut bucket = TokenBucket::new(10.0, BURST, secs(0.0));
        bucket.reconfigure(1.0, BURST, secs(0.0));
        assert_eq!(bucket.available(secs(0.0)), 300.0);
        bucket.reconfigure(100.0, BURST, secs(0.0));
        assert_eq!(bucket.available(secs(0.0)), 300.0);
        assert_eq!(bucket.rate(), 100.0);
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::new();
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), Duration::from_millis(1500));
    }
}
