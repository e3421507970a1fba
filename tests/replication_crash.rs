//! A region killed with SIGKILL during a write load restarts, catches up,
//! and no write acknowledged anywhere is lost.
//!
//! us-east-1 and eu-west-1 run in this process; ap-southeast-2 runs as a real
//! `meridian serve` process. Its name sorts first, so it dials its peers and
//! is never dialled: it can bind port 0 for both its API and QUIC endpoint.

mod cluster;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue as Av;
use cluster::kill::Kill;
use cluster::{Cluster, client, create_table, eventually, scan_all};

struct Region {
    child: Child,
    api: SocketAddr,
}

fn spawn_region(cluster: &Cluster, topology_file: &std::path::Path, name: &str) -> Region {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["serve", "--region", name, "--topology"])
        .arg(topology_file)
        .arg("--data-dir")
        .arg(cluster.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    // Keep the pipe open and drained: a region must never stop because
    // nobody reads what it prints.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let api = line
        .trim()
        .rsplit("http://")
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("ready line: {line}"));
    Region { child, api }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_region_catches_up_without_losing_acknowledged_writes() {
    let mut cluster = Cluster::start_some(3, &[], 2).await;
    cluster.topology.region[2].api = "127.0.0.1:0".parse().unwrap();
    cluster.topology.region[2].peer = "127.0.0.1:0".parse().unwrap();
    let topology_file = cluster.dir.path().join("topology.toml");
    std::fs::write(&topology_file, toml::to_string(&cluster.topology).unwrap()).unwrap();
    cluster.nodes.truncate(2);

    let mut region = spawn_region(&cluster, &topology_file, "ap-southeast-2");
    create_table(&cluster, 0, "crash").await;
    let ap = client(region.api, "ap-southeast-2");
    eventually("the table in ap-southeast-2", Duration::from_secs(30), || {
        let ap = ap.clone();
        async move { ap.describe_table().table_name("crash").send().await.ok().map(|_| ()) }
    })
    .await;

    // Writers in the doomed region and in us-east-1 record each key only
    // after its PutItem was acknowledged. Those in the doomed region stop
    // at the connection error its kill causes, and say which write was in
    // flight then (it may or may not have landed); the one in us-east-1
    // must never fail.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let kill = Kill::default();
    let mut writers = Vec::new();
    for (w, target) in [(0, ap.clone()), (1, ap.clone()), (2, cluster.client(0))] {
        let (acked, kill) = (acked.clone(), kill.clone());
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("w{w}-{n}");
                match target
                    .put_item()
                    .table_name("crash")
                    .item("pk", Av::S(key.clone()))
                    .send()
                    .await
                {
                    Ok(_) => acked.lock().unwrap().push(key),
                    Err(e) if w < 2 => {
                        kill.expect_caused_by_kill(&format!("writer {w} in ap-southeast-2"), &e);
                        return Some(key);
                    }
                    Err(e) => panic!("write to a live region failed: {e:?}"),
                }
                if w == 2 && n >= 300 {
                    return None;
                }
            }
            unreachable!("writers end at the kill or after 300 writes")
        }));
    }
    eventually("some writes in ap-southeast-2", Duration::from_secs(30), || {
        let count = acked.lock().unwrap().iter().filter(|k| k.starts_with("w0")).count();
        async move { (count > 100).then_some(()) }
    })
    .await;
    kill.begin();
    region.child.kill().unwrap(); // SIGKILL
    region.child.wait().unwrap();
    let mut in_flight = Vec::new();
    for writer in writers {
        in_flight.extend(writer.await.unwrap());
    }
    assert_eq!(in_flight.len(), 2, "both writers in ap-southeast-2 stopped at the kill");

    let region = spawn_region(&cluster, &topology_file, "ap-southeast-2");
    let ap = client(region.api, "ap-southeast-2");
    let expected: Vec<String> = acked.lock().unwrap().clone();
    assert_eq!(expected.iter().filter(|k| k.starts_with("w2-")).count(), 301);
    let clients = [cluster.client(0), cluster.client(1), ap];
    let key_of = |item: &String| {
        let start = item.find("S(\"").expect("a string key") + 3;
        let end = item[start..].find('"').expect("a closing quote") + start;
        item[start..end].to_string()
    };
    let keys = eventually(
        "every acknowledged write in every region, the same items everywhere",
        Duration::from_secs(90),
        || {
            let (clients, expected) = (clients.clone(), expected.clone());
            async move {
                let mut scans = Vec::new();
                for client in &clients {
                    let items = scan_all(client, "crash").await?;
                    if !expected
                        .iter()
                        .all(|k| items.iter().any(|i| i.contains(&format!("S(\"{k}\")"))))
                    {
                        return None;
                    }
                    scans.push(items);
                }
                scans.windows(2).all(|w| w[0] == w[1]).then(|| scans.remove(0))
            }
        },
    )
    .await;
    // Besides the acknowledged writes, only those in flight at the kill.
    let keys: Vec<String> = keys.iter().map(key_of).collect();
    for key in &keys {
        assert!(
            expected.contains(key) || in_flight.contains(key),
            "{key} was never written"
        );
    }
    assert!(keys.len() <= expected.len() + in_flight.len(), "{} items", keys.len());
    // The in-process regions count exactly those items.
    assert_eq!(cluster::converged(&cluster, "crash").await.len(), keys.len());
    let mut region = region;
    region.child.kill().unwrap();
    let _ = region.child.wait();
    cluster.shutdown().await;
}
