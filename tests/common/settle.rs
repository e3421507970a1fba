//! Waiting for a count to settle: reaching the expected value once is not
//! enough to say a change was applied, streamed or expired *exactly* once,
//! since a duplicate could still be on its way. `settled` keeps polling
//! after the value is reached until it has stayed the same over a window.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

/// Identical observations in a row that make a value settled.
pub const STABLE_POLLS: usize = 10;
/// Time between two observations once the value is reached.
pub const STABLE_EVERY: Duration = Duration::from_millis(150);

/// Polls `observe` until its value satisfies `reached`, then keeps polling
/// until the value has been the same `STABLE_POLLS` times in a row
/// (`STABLE_EVERY` apart), and returns it; a change restarts the count.
/// Panics with `what` and the last value after `limit`.
pub async fn settled<T, F, Fut>(what: &str, limit: Duration, reached: impl Fn(&T) -> bool, mut observe: F) -> T
where
    T: PartialEq + Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    let mut last: Option<T> = None;
    let mut same = 0;
    loop {
        let value = observe().await;
        match value {
            Some(value) if reached(&value) => {
                same = if last.as_ref() == Some(&value) { same + 1 } else { 1 };
                last = Some(value);
                if same >= STABLE_POLLS {
                    return last.expect("set just above");
                }
            }
            other => {
                same = 0;
                last = other;
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} to settle; last seen {last:?}"
        );
        let pause = if same > 0 {
            STABLE_EVERY
        } else {
            Duration::from_millis(20)
        };
        tokio::time::sleep(pause).await;
    }
}
