//! The console in a real browser: headless Chromium, driven through
//! chromedriver, against a three-region cluster. The page must load without
//! console errors, list the tables with their replicas, browse items (scan
//! with pages, query, an item's JSON), draw the replication lag while
//! writes run, and partition and heal a link (the region's `/admin/links`
//! says so). A screenshot is saved to `target/tmp/console.png`. A drill run
//! beside a region posts its report there, and the page lists it and draws
//! its timeline (`target/tmp/console-drill.png`).

mod browser;
mod cluster;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue as Av;
use browser::Browser;
use cluster::{Cluster, create_table, eventually, http_get};
use serde_json::{Value, json};

/// Items put before the page opens: two pages of 25 and 5.
const ITEMS: usize = 30;

async fn put(cluster: &Cluster, region: usize, pk: &str, n: usize) {
    cluster
        .client(region)
        .put_item()
        .table_name("users")
        .item("pk", Av::S(pk.to_string()))
        .item("n", Av::N(n.to_string()))
        .send()
        .await
        .unwrap();
}

/// Whether region `at`'s `/admin/links` shows its link to `to` partitioned.
async fn partitioned(cluster: &Cluster, at: usize, to: &str) -> bool {
    let links: Value = serde_json::from_str(&http_get(cluster.topology.region[at].api, "/admin/links").await).unwrap();
    links["links"][to]["partitioned"] == json!(true)
}

/// Puts into `users` from eu-west-1 until `stop` (at most 20,000 writes),
/// so the lag into us-east-1 has samples every second.
fn spawn_writer(cluster: &Cluster, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    let client = cluster.client(1);
    tokio::spawn(async move {
        for i in 0..20_000 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let _ = client
                .put_item()
                .table_name("users")
                .item("pk", Av::S(format!("load#{}", i % 100)))
                .item("n", Av::N(i.to_string()))
                .send()
                .await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_the_cluster_browses_items_and_drives_a_partition() {
    let cluster = Cluster::start(3, &[]).await;
    create_table(&cluster, 0, "users").await;
    for i in 0..ITEMS {
        put(&cluster, 0, &format!("user#{i:02}"), i).await;
    }
    let browser = Browser::start().await;
    let url = format!("http://{}/console", cluster.topology.region[0].api);
    browser.goto(&url).await;

    // The cluster: this region and both peers, and the table with its replicas.
    browser
        .wait_for(
            "the region's name",
            "return document.getElementById('region-name').textContent === 'us-east-1';",
        )
        .await;
    browser
        .wait_for(
            "both peers listed",
            "return document.querySelectorAll('#peers tbody tr').length === 2;",
        )
        .await;
    let replicas = browser
        .wait_for(
            "users with both replicas ACTIVE",
            "const c = document.querySelector('tr[data-table=users] td.replicas');
             return c && c.textContent.includes('eu-west-1 ACTIVE') && c.textContent.includes('ap-southeast-2 ACTIVE') && c.textContent;",
        )
        .await;
    let mut shown: Vec<&str> = replicas.as_str().unwrap().split(", ").collect();
    shown.sort();
    assert_eq!(shown, ["ap-southeast-2 ACTIVE", "eu-west-1 ACTIVE"]);
    // Not under `meridian up`: the regions are listed without commands.
    let regions = browser
        .wait_for(
            "the regions",
            "const rows = [...document.querySelectorAll('#up-regions tbody tr')];
             return rows.length === 3 && rows.map((r) => r.textContent).join('|');",
        )
        .await;
    assert_eq!(regions, json!("us-east-1 (this page)|eu-west-1|ap-southeast-2"));
    assert_eq!(
        browser.text("#up-hint").await,
        "This region does not run under meridian up: stop and start regions where they run."
    );

    browse_items(&browser).await;
    watch_lag(&browser, &cluster).await;
    partition_and_heal(&browser, &cluster).await;

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console.png");
    browser.screenshot(&shot).await;

    let page_errors = browser.execute("return window.meridianErrors;", json!([])).await;
    assert_eq!(page_errors, json!([]), "errors met by the page");
    let severe: Vec<Value> = browser
        .console_log()
        .await
        .into_iter()
        .filter(|entry| entry["level"] == json!("SEVERE"))
        .collect();
    assert!(severe.is_empty(), "console errors: {severe:?}");
    browser.quit().await;
    cluster.shutdown().await;
}

/// Scans `users` in pages of 25, opens an item's JSON, then queries one key.
async fn browse_items(browser: &Browser) {
    browser.click("tr[data-table=users] button").await;
    browser
        .wait_for_text("#browse-summary", "Scan of users: page 1, 25 items, more to come")
        .await;
    browser.click("#next-page").await;
    browser
        .wait_for_text("#browse-summary", "Scan of users: page 2, 5 items, the last page")
        .await;
    assert_eq!(
        browser
            .execute(
                "return document.querySelectorAll('#item-list tbody tr').length;",
                json!([])
            )
            .await,
        json!(5)
    );
    browser.click("#browse-op option:nth-child(2)").await;
    browser.type_into("#hash-value", "user#07").await;
    browser.click("#browse-form button[type=submit]").await;
    browser
        .wait_for_text("#browse-summary", "Query of users: page 1, 1 items, the last page")
        .await;
    browser.click("#item-list tbody tr").await;
    let shown = browser.text("#item-json").await;
    let item: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(item, json!({ "pk": { "S": "user#07" }, "n": { "N": "7" } }));
}

/// Writes from eu-west-1 until the chart draws at least three points of
/// its lag into us-east-1.
async fn watch_lag(browser: &Browser, cluster: &Cluster) {
    let stop = Arc::new(AtomicBool::new(false));
    let writer = spawn_writer(cluster, stop.clone());
    let points = browser
        .wait_for(
            "the lag chart to draw eu-west-1",
            "const l = document.querySelector('#lag-chart polyline[data-peer=\"eu-west-1\"]');
             return l && Number(l.dataset.points) >= 3 && l.getAttribute('points');",
        )
        .await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let points: Vec<&str> = points.as_str().unwrap().split(' ').collect();
    assert!(points.len() >= 3, "{points:?}");
    assert!(points.iter().all(|p| p.split(',').count() == 2), "{points:?}");
    let legend = browser.text("#lag-legend").await;
    assert!(legend.contains("eu-west-1 → us-east-1"), "{legend}");
}

/// Partitions us-east-1 -> eu-west-1 from the page, then heals it.
async fn partition_and_heal(browser: &Browser, cluster: &Cluster) {
    assert!(!partitioned(cluster, 0, "eu-west-1").await);
    browser.click("tr[data-to=eu-west-1] button.partition").await;
    eventually("the partition in /admin/links", Duration::from_secs(60), || async {
        partitioned(cluster, 0, "eu-west-1").await.then_some(())
    })
    .await;
    browser
        .wait_for(
            "the page to show the partition",
            "const r = document.querySelector('tr[data-to=eu-west-1]');
             return r && r.cells[1].textContent === 'PARTITIONED' && r.querySelector('button.partition').textContent === 'Heal';",
        )
        .await;
    assert!(!partitioned(cluster, 0, "ap-southeast-2").await);
    browser.click("tr[data-to=eu-west-1] button.partition").await;
    eventually("the heal in /admin/links", Duration::from_secs(60), || async {
        (!partitioned(cluster, 0, "eu-west-1").await).then_some(())
    })
    .await;
    browser
        .wait_for(
            "the page to show the link connected",
            "const r = document.querySelector('tr[data-to=eu-west-1]');
             return r && r.cells[1].textContent === 'connected';",
        )
        .await;
}

/// With `auth = "sigv4"` the page says what to do, then signs its
/// requests with the access key typed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_its_requests_when_the_region_checks_signatures() {
    use std::os::unix::fs::PermissionsExt;
    let secrets = tempfile::tempdir().unwrap();
    let users = secrets.path().join("users.toml");
    let allow_all = r#"{"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}"#;
    // The harness's SDK clients sign with the key "test" and secret "test".
    let text = format!(
        "[[user]]\nname = \"ops\"\naccess_key_id = \"test\"\nsecret_access_key = \"test\"\npolicy = '{allow_all}'\n"
    );
    std::fs::write(&users, text).unwrap();
    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = meridian::config::NodeConfig {
        auth: "sigv4".into(),
        auth_credentials: users.display().to_string(),
        ..Default::default()
    };
    let cluster = Cluster::start_configured(1, &[], 1, config).await;
    cluster::create_local_table(&cluster, 0, "signed").await;
    let browser = Browser::start().await;
    browser
        .goto(&format!("http://{}/console", cluster.topology.region[0].api))
        .await;
    let why = browser
        .wait_for(
            "the page to ask for credentials",
            "return !document.getElementById('credentials').hidden && document.getElementById('credentials-why').textContent;",
        )
        .await;
    assert_eq!(
        why,
        json!(
            "This region checks request signatures (auth = \"sigv4\"): Request is missing Authentication Token. \
             Enter an access key from its credentials file."
        )
    );
    browser.type_into("#access-key", "test").await;
    browser.type_into("#secret-key", "test").await;
    browser.click("#credentials-form button[type=submit]").await;
    browser
        .wait_for(
            "the signed ListTables and DescribeTable",
            "const r = document.querySelector('tr[data-table=signed]'); return r && r.cells[1].textContent === 'ACTIVE';",
        )
        .await;
    assert_eq!(
        browser.execute("return window.meridianErrors;", json!([])).await,
        json!([])
    );
    browser.quit().await;
    cluster.shutdown().await;
}

/// A short drill: two regions, a partition and its heal under writes.
const DRILL: &str = r#"
name = "console-drill"
description = "partition two regions for a moment under writes"
duration_s = 5
settle_s = 60
regions = ["us-east-1", "eu-west-1"]

[workload]
rate = 40
keys = 20

[[event]]
at_s = 1.5
action = "partition"
region = "us-east-1"
peer = "eu-west-1"

[[event]]
at_s = 3
action = "heal"
region = "us-east-1"
peer = "eu-west-1"
"#;

/// Runs `DRILL` with the real binary, posting its report to `region`; its
/// standard output.
async fn run_drill(region: std::net::SocketAddr) -> String {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("drill.toml");
    std::fs::write(&script, DRILL).unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .arg("drill")
        .arg(&script)
        .arg("--out")
        .arg(dir.path().join("reports"))
        .arg("--post-to")
        .arg(region.to_string())
        // No `meridian up` record of the machine's user: only --post-to counts.
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

/// A drill run while the region is up posts its report there; the page
/// lists it, and shows its timeline (writes per region, lag, the events)
/// and its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_past_drills_with_their_timelines() {
    let cluster = Cluster::start(1, &[]).await;
    let api = cluster.topology.region[0].api;
    let browser = Browser::start().await;
    browser.goto(&format!("http://{api}/console")).await;
    browser
        .wait_for(
            "the page to say no drill has reported",
            "return !document.getElementById('drill-none').hidden;",
        )
        .await;

    let stdout = run_drill(api).await;
    assert!(
        stdout.contains(&format!("report posted to http://{api}/console")),
        "{stdout}"
    );
    let listed: Value = serde_json::from_str(&http_get(api, "/admin/drills").await).unwrap();
    let drills = listed["drills"].as_array().unwrap();
    assert_eq!(drills.len(), 1, "{listed}");
    let id = drills[0]["id"].as_str().unwrap().to_string();
    assert!(id.ends_with("-console-drill"), "{id}");
    assert_eq!(drills[0]["passed"], json!(true));
    assert_eq!(drills[0]["events"], json!(2));

    // The list refreshes itself; the button draws the report.
    let row = format!("tr[data-drill='{id}']");
    let cells = browser
        .wait_for(
            "the drill in the list",
            &format!(
                "const r = document.querySelector(\"{row}\");
                 return r && [...r.cells].slice(1, 3).map((c) => c.textContent).join('|');"
            ),
        )
        .await;
    assert_eq!(cells, json!("console-drill|passed"));
    assert!(
        browser
            .execute("return document.getElementById('drill-none').hidden;", json!([]))
            .await
            == json!(true)
    );
    browser.click(&format!("{row} button")).await;
    let labels = browser
        .wait_for(
            "the timeline's events",
            "const lines = [...document.querySelectorAll('#drill-timeline line.event')];
             return lines.length === 2 && lines.map((l) => l.dataset.label).join('|');",
        )
        .await;
    assert_eq!(
        labels,
        json!("partition us-east-1<->eu-west-1|heal us-east-1<->eu-west-1")
    );
    assert_eq!(browser.text("#drill-title").await, "console-drill: passed");
    let series = browser
        .execute(
            "return [...document.querySelectorAll('#drill-timeline polyline')]
               .filter((l) => Number(l.dataset.points) > 0).map((l) => l.dataset.series);",
            json!([]),
        )
        .await;
    let series: Vec<&str> = series.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    // Writes per second of both regions, drawn first; then lag, where sampled.
    assert_eq!(series[..2], ["eu-west-1", "us-east-1"], "{series:?}");
    assert!(series[2..].iter().all(|s| s.contains(" -> ")), "{series:?}");
    let events = browser
        .execute(
            "return [...document.querySelectorAll('#drill-events tbody tr')].map((r) => r.cells[1].textContent);",
            json!([]),
        )
        .await;
    assert_eq!(
        events,
        json!(["partition us-east-1<->eu-west-1", "heal us-east-1<->eu-west-1"])
    );
    let healed = browser
        .text("#drill-events tbody tr:nth-child(2) td:nth-child(4)")
        .await;
    let digits = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == ',');
    assert!(digits(&healed), "the heal's convergence time: {healed:?}");
    let summary = browser.text("#drill-summary").await;
    assert!(summary.contains("acknowledged writes lost: 0; converged:"), "{summary}");

    browser
        .execute("document.getElementById('drill-history').scrollIntoView();", json!([]))
        .await;
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-drill.png");
    browser.screenshot(&shot).await;
    assert_eq!(
        browser.execute("return window.meridianErrors;", json!([])).await,
        json!([])
    );
    browser.quit().await;
    cluster.shutdown().await;
}
