//! `meridian up` answers region commands from `meridian region`: pause
//! freezes a region (its API stops answering), start resumes it, kill takes
//! it down until start brings it back on the same data, wipe takes it down
//! and deletes its data. Uses the real binary
//! on a one-region topology bound to port 0.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn meridian(args: &[&str], data: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Whether the region's API answers within a short time.
fn answers(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    stream.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    let request = format!("GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    stream.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/1.1 200")
}

fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

#[test]
fn region_commands_pause_resume_kill_and_start_a_region_under_up() {
    let dir = tempfile::tempdir().unwrap();
    let topology = dir.path().join("one.toml");
    std::fs::write(
        &topology,
        "cluster = \"t\"\n[[region]]\nname = \"us-east-1\"\napi = \"127.0.0.1:0\"\npeer = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .arg("up")
        .arg("--topology")
        .arg(&topology)
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _up = Up(child);
    // Keep reading what `up` prints (a closed pipe would make its next
    // message fail and stop it), passing on the endpoints regions announce:
    // on port 0, a region started again listens on a new one.
    let (endpoints, announced) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line
                .contains("serving DynamoDB API")
                .then(|| line.rsplit("http://").next())
                .flatten()
                && let Ok(addr) = addr.trim().parse()
            {
                let _ = endpoints.send(addr);
            }
        }
    });
    let next_endpoint = || {
        announced
            .recv_timeout(Duration::from_secs(60))
            .expect("a region endpoint")
    };
    let addr = next_endpoint();
    eventually("the control file", || data.join("up.control").exists());
    assert!(answers(addr));

    let (ok, text) = meridian(&["region", "pause", "us-east-1"], &data);
    assert!(ok, "{text}");
    assert!(!answers(addr), "a paused region answered");
    let (ok, text) = meridian(&["region", "start", "us-east-1"], &data);
    assert!(ok, "{text}");
    eventually("the resumed region to answer", || answers(addr));

    // Killed, it stays down (the supervisor does not restart it) until start.
    let (ok, text) = meridian(&["region", "kill", "us-east-1"], &data);
    assert!(ok && text.contains("SIGKILL"), "{text}");
    assert!(!answers(addr));
    let (ok, text) = meridian(&["region", "pause", "us-east-1"], &data);
    assert!(!ok && text.contains("down"), "{text}");
    let (ok, text) = meridian(&["region", "start", "us-east-1"], &data);
    assert!(ok, "{text}");
    let addr = next_endpoint();
    eventually("the restarted region to answer", || answers(addr));

    // Wiped, it loses its disk: down, its data directory gone, until start
    // brings it back empty.
    let incarnation = |addr| status(addr)["incarnation"].as_u64().unwrap_or(0);
    eventually("the region's status", || incarnation(addr) != 0);
    let before = incarnation(addr);
    let region_dir = data.join("us-east-1");
    assert!(region_dir.join("meridian.redb").exists());
    let (ok, text) = meridian(&["region", "wipe", "us-east-1"], &data);
    assert!(ok && text.contains("SIGKILL") && text.contains("deleted"), "{text}");
    assert!(!answers(addr));
    assert!(!region_dir.exists(), "{} is still there", region_dir.display());
    let (ok, text) = meridian(&["region", "start", "us-east-1"], &data);
    assert!(ok, "{text}");
    let addr = next_endpoint();
    eventually("the wiped region to answer", || answers(addr));
    eventually("the wiped region's status", || incarnation(addr) != 0);
    let after = incarnation(addr);
    assert!(after != 0 && after != before, "incarnation {before} then {after}");

    let (ok, text) = meridian(&["region", "stop", "nowhere"], &data);
    assert!(!ok && text.contains("no region"), "{text}");
}

/// The region's `/status` document (`null` when it does not answer).
fn status(addr: SocketAddr) -> serde_json::Value {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return serde_json::Value::Null;
    };
    let request = format!("GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_string(&mut response).is_err() {
        return serde_json::Value::Null;
    }
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}
