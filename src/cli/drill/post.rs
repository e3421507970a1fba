//! Sends a finished drill's report to the regions of a running cluster,
//! whose consoles then list it with its timeline (`/admin/drills`): the
//! regions `--post-to` names, else every region of the running `meridian
//! up`, else none (the report stays in its file).

use std::net::SocketAddr;

use serde_json::Value;

use crate::cli::http;
use crate::cli::locate::{access, running_up};

/// Where the report goes: `post_to` if given, else the running `up`'s regions.
pub fn targets(post_to: &[SocketAddr]) -> Vec<String> {
    if !post_to.is_empty() {
        return post_to.iter().map(SocketAddr::to_string).collect();
    }
    running_up()
        .map(|up| up.topology.region.iter().map(|r| r.api.to_string()).collect())
        .unwrap_or_default()
}

/// Posts `report` to each of `targets`, saying on the terminal where it
/// went; a region that refuses or cannot be reached is reported and
/// skipped (the drill's verdict does not depend on it).
pub async fn post_report(report: &Value, targets: &[String]) {
    if targets.is_empty() {
        return;
    }
    let access = access(None).unwrap_or_else(|error| {
        eprintln!("drill: no admin token for the console ({error:#}); posting without one");
        http::Access { token: None, tls: None }
    });
    for addr in targets {
        match http::post_json(addr, "/admin/drills", report, &access).await {
            Ok(_) => println!("report posted to {}://{addr}/console", access.scheme()),
            Err(error) => eprintln!("drill: the report could not be posted to {addr}: {error:#}"),
        }
    }
}
