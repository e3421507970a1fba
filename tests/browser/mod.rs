//! A real browser for tests: Debian's `chromedriver` on an ephemeral port,
//! driving headless Chromium with a fresh profile, spoken to in the W3C
//! WebDriver protocol (JSON over HTTP) with the hyper client the crate
//! already has: the few commands the console test needs do not justify a
//! WebDriver crate and its dependency tree.
//!
//! Every wait polls against a deadline.

#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Where `.ci/run` installs the driver (Debian's `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's `chromium`.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The key of an element reference in WebDriver answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a step of the page may take on a loaded machine.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Flags that make Chromium start headless here and keep to itself.
const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1900",
];

/// A WebDriver session in headless Chromium.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: Client<HttpConnector, Full<Bytes>>,
    _profile: tempfile::TempDir,
}

/// A WebDriver command that failed: its error code and message.
#[derive(Debug)]
pub struct DriverError {
    pub error: String,
    pub message: String,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a session with a fresh
    /// profile, collecting the page's console messages.
    pub async fn start() -> Browser {
        assert!(
            Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: install Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver), as .ci/run does"
        );
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let port = driver_port(&mut driver).await;
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
            _profile: profile,
        };
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", browser._profile.path().display()));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let answer = browser
            .send("POST", "/session", Some(capabilities))
            .await
            .expect("open a session");
        browser.session = answer["sessionId"].as_str().expect("a session id").to_string();
        browser
    }

    /// Sends one command; its `value`, or the driver's error.
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, DriverError> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a well-formed request");
        let response = self.http.request(request).await.expect("chromedriver answers");
        let ok = response.status().is_success();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("read the answer")
            .to_bytes();
        let answer: Value = serde_json::from_slice(&bytes).expect("JSON from chromedriver");
        let value = answer["value"].clone();
        if ok {
            Ok(value)
        } else {
            Err(DriverError {
                error: value["error"].as_str().unwrap_or("").to_string(),
                message: value["message"].as_str().unwrap_or("").to_string(),
            })
        }
    }

    /// A command of this session that must succeed.
    async fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        match self.send(method, &path, body).await {
            Ok(value) => value,
            Err(error) => panic!("{method} {path}: {}: {}", error.error, error.message),
        }
    }

    /// Loads `url`.
    pub async fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.command("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
            .await
    }

    /// Polls `script` until it returns something other than null, false or
    /// an empty string; panics naming `what` after the deadline.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let value = self.execute(script, json!([])).await;
            if !matches!(&value, Value::Null | Value::Bool(false)) && value != json!("") {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls until the first element `css` selects has the text `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let script = format!(
            "const e = document.querySelector({}); return e !== null && e.textContent === {};",
            json!(css),
            json!(expected)
        );
        self.wait_for(&format!("{css} to read {expected:?}"), &script).await;
    }

    /// The text of the first element `css` selects ("" when there is none).
    pub async fn text(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';";
        self.execute(script, json!([css]))
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Clicks the element `css` selects, as a user would (the driver moves
    /// the pointer to it). Rows the page redraws can go stale between
    /// finding and clicking: that is retried.
    pub async fn click(&self, css: &str) {
        self.on_element(css, "/click", json!({})).await;
    }

    /// Types `text` into the input `css` selects, after clearing it.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, "/clear", json!({})).await;
        self.on_element(css, "/value", json!({ "text": text })).await;
    }

    async fn on_element(&self, css: &str, action: &str, body: Value) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let find = json!({ "using": "css selector", "value": css });
            let path = format!("/session/{}", self.session);
            let result = match self.send("POST", &format!("{path}/element"), Some(find)).await {
                Ok(found) => {
                    let id = found[ELEMENT_KEY].as_str().expect("an element id").to_string();
                    let target = format!("{path}/element/{id}{action}");
                    self.send("POST", &target, Some(body.clone())).await.map(|_| ())
                }
                Err(error) => Err(error),
            };
            match result {
                Ok(()) => return,
                Err(error) if Instant::now() < deadline && is_transient(&error) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("{action} on {css}: {}: {}", error.error, error.message),
            }
        }
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.command("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 PNG"))
            .expect("a PNG");
        std::fs::write(path, png).expect("save the screenshot");
    }

    /// The page's console messages since the last call (chromedriver's
    /// log endpoint, filled through `goog:loggingPrefs`).
    pub async fn console_log(&self) -> Vec<Value> {
        let log = self
            .command("POST", "/se/log", Some(json!({ "type": "browser" })))
            .await;
        log.as_array().cloned().unwrap_or_default()
    }

    /// Ends the session (Chromium exits) and the driver.
    pub async fn quit(mut self) {
        let path = format!("/session/{}", self.session);
        let _ = self.send("DELETE", &path, None).await;
        let _ = self.driver.kill().await;
    }
}

/// Errors a retry can get past: the element is not there yet, was
/// redrawn, or is covered while the page lays out.
fn is_transient(error: &DriverError) -> bool {
    matches!(
        error.error.as_str(),
        "no such element" | "stale element reference" | "element click intercepted" | "element not interactable"
    )
}

/// Reads chromedriver's port from its start line ("... started
/// successfully on port N.").
async fn driver_port(driver: &mut Child) -> u16 {
    let stdout = driver.stdout.take().expect("chromedriver's stdout");
    let mut lines = BufReader::new(stdout).lines();
    let read = async {
        while let Some(line) = lines.next_line().await.expect("read chromedriver's output") {
            if let Some(rest) = line.split("on port ").nth(1)
                && line.contains("started successfully")
            {
                return rest.trim_end_matches('.').parse().expect("a port number");
            }
        }
        panic!("chromedriver exited before it started");
    };
    let port = tokio::time::timeout(DEADLINE, read)
        .await
        .expect("chromedriver to start");
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    port
}
