//! `meridian drill` end to end with the real binary: a short drill kills a
//! region under load and restarts it; the drill must report no acknowledged
//! write lost, convergence, and the files it promises.

use std::process::Command;

#[test]
fn a_short_kill_and_restart_drill_passes_and_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("quick.toml");
    std::fs::write(
        &script,
        r#"
name = "quick-kill"
description = "kill a region for a few seconds under load"
duration_s = 9
settle_s = 90
regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]

[[link]]
from = "eu-west-1"
to = "us-east-1"
delay_ms = 50

[workload]
rate = 60
keys = 40
conflict_ratio = 0.3

[[event]]
at_s = 2
action = "kill"
region = "eu-west-1"

[[event]]
at_s = 5
action = "start"
region = "eu-west-1"
"#,
    )
    .unwrap();
    let out = dir.path().join("reports");
    let run = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .arg("drill")
        .arg(&script)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("acknowledged writes lost: 0"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("quick-kill.json")).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["acknowledged_writes_lost"], 0);
    assert_eq!(report["converged"], true);
    assert!(
        report["writes"]["acknowledged"].as_u64().unwrap() > 100,
        "{}",
        report["writes"]
    );
    let events = report["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events[0]["exposure"]["checked"].as_u64().unwrap() > 0, "{}", events[0]);
    assert!(events[1]["convergence_ms"].as_u64().is_some(), "{}", events[1]);
    let svg = std::fs::read_to_string(out.join("quick-kill.svg")).unwrap();
    assert!(svg.contains("kill eu-west-1") && svg.contains("polyline"));
}
