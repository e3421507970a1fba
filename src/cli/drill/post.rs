//! Sends a finished drill's report to the regions of a running cluster,
//! whose consoles then list it with its timeline (`/admin/drills`): the
//! regions `--post-to` names, else every region of the running `meridian
//! up`, else none (the report stays in its file). A region that cannot be
//! reached (restarting after the drill killed it, say) is tried again for
//! a while.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use crate::cli::http;
use crate::cli::locate::{access, running_up};

/// How long a region that cannot be reached is tried again.
const UNREACHABLE_FOR: Duration = Duration::from_secs(30);
/// The first wait before trying again; each next wait doubles, up to 5 s.
const FIRST_RETRY: Duration = Duration::from_millis(250);

/// Where the report goes: `post_to` if given, else the running `up`'s regions.
pub fn targets(post_to: &[SocketAddr]) -> Vec<String> {
    if !post_to.is_empty() {
        return post_to.iter().map(SocketAddr::to_string).collect();
    }
    running_up()
        .map(|up| up.topology.region.iter().map(|r| r.api.to_string()).collect())
        .unwrap_or_default()
}

/// Posts `report` to each of `targets` at once, saying on the terminal
/// where it went; a region that refuses it, or stays unreachable for
/// `UNREACHABLE_FOR`, is reported and skipped (the drill's verdict does
/// not depend on it).
pub async fn post_report(report: &Value, targets: &[String]) {
    if targets.is_empty() {
        return;
    }
    let access = access(None).unwrap_or_else(|error| {
        eprintln!("drill: no admin token for the console ({error:#}); posting without one");
        http::Access { token: None, tls: None }
    });
    let mut posts = tokio::task::JoinSet::new();
    for addr in targets {
        let (addr, report, access) = (addr.clone(), report.clone(), access.clone());
        posts.spawn(async move {
            let post = || http::post_json(&addr, "/admin/drills", &report, &access);
            match retry_unreachable(UNREACHABLE_FOR, post).await {
                Ok(_) => println!("report posted to {}://{addr}/console", access.scheme()),
                Err(error) => eprintln!("drill: the report could not be posted to {addr}: {error:#}"),
            }
        });
    }
    while posts.join_next().await.is_some() {}
}

/// Runs `attempt` until it succeeds, fails for another reason than an
/// unreachable peer (a refusal is final), or `patience` has passed; waits
/// between attempts from `FIRST_RETRY`, doubling.
async fn retry_unreachable<T, F, Fut>(patience: Duration, mut attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let give_up = tokio::time::Instant::now() + patience;
    let mut wait = FIRST_RETRY;
    loop {
        match attempt().await {
            Err(error) if unreachable(&error) && tokio::time::Instant::now() + wait <= give_up => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            answer => return answer,
        }
    }
}

/// Whether `error` is a peer that could not be reached or did not answer
/// (an I/O error or a timeout) rather than a refusal.
fn unreachable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.is::<std::io::Error>() || cause.is::<tokio::time::error::Elapsed>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn refused_connection() -> anyhow::Error {
        anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)).context("POST /admin/drills")
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_region_is_tried_again_until_it_answers() {
        let attempts = Cell::new(0);
        let started = tokio::time::Instant::now();
        let answer = retry_unreachable(Duration::from_secs(30), || {
            attempts.set(attempts.get() + 1);
            let n = attempts.get();
            async move { if n < 4 { Err(refused_connection()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(answer.unwrap(), 4);
        // Waits of 250, 500 and 1000 ms (paused time advances exactly).
        assert_eq!(started.elapsed(), Duration::from_millis(1750));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_final_and_an_unreachable_region_is_given_up() {
        let attempts = Cell::new(0);
        let refused = retry_unreachable(Duration::from_secs(30), || {
            attempts.set(attempts.get() + 1);
            async { Err::<(), _>(anyhow::anyhow!("POST /admin/drills on x: 403 forbidden")) }
        })
        .await;
        assert!(refused.unwrap_err().to_string().contains("403"));
        assert_eq!(attempts.get(), 1);

        attempts.set(0);
        let started = tokio::time::Instant::now();
        let gone = retry_unreachable(Duration::from_secs(30), || {
            attempts.set(attempts.get() + 1);
            async { Err::<(), _>(refused_connection()) }
        })
        .await;
        assert!(unreachable(&gone.unwrap_err()));
        assert!(started.elapsed() <= Duration::from_secs(30));
        // Waits of 0.25 + 0.5 + 1 + 2 + 4 + 5 + 5 + 5 + 5 = 27.75 s; one more would pass 30 s.
        assert_eq!((attempts.get(), started.elapsed()), (10, Duration::from_millis(27_750)));
    }
}
