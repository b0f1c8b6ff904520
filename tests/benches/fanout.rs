//! Fan-out benchmark (not a test): one change written to a server reaches stream clients
//! through two edges. Reports propagation (from the admin write's 200 to the event arriving at
//! each client) and memory per idle stream on each tier (RSS delta of each process divided by
//! its connections, from `/proc/PID/status`).
//!
//! The server and the edges are separate release processes (this crate's `fault-server`,
//! which is flag-server's `main`); the server uses the embedded store. Clients are tokio tasks
//! on raw TCP connections that read the SSE body and note when each event id arrives. Run it
//! with `tests/benches/fanout.sh` (raises the fd limit), or:
//!
//! ```sh
//! cargo bench -p flag-tests --bench fanout -- [--clients 10000] [--toggles 50] [--direct]
//! ```
//!
//! `--direct` connects the same clients to the server itself, with no edge: the baseline.
//! `--edge-workers N` sets each edge's `FLAG_WORKERS`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const TOKEN: &str = "bench-admin-token";
const ENV: &str = "production";
const BIN: &str = env!("CARGO_BIN_EXE_fault-server");

struct Args {
    clients: usize,
    toggles: usize,
    direct: bool,
    /// `FLAG_WORKERS` of each edge (default: one per core).
    edge_workers: Option<usize>,
}

fn args() -> Args {
    let mut a = Args {
        clients: 10_000,
        toggles: 50,
        direct: false,
        edge_workers: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = || {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{arg} needs a number"))
        };
        match arg.as_str() {
            "--clients" => a.clients = num(),
            "--toggles" => a.toggles = num(),
            "--direct" => a.direct = true,
            "--edge-workers" => a.edge_workers = Some(num()),
            _ => {}
        }
    }
    a
}

/// A flag-server process (a server, or an edge) on a free port; killed on drop.
struct Process {
    child: Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Process {
    fn start(edge_of: Option<(&str, &str, Option<usize>)>) -> Process {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(BIN);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("FLAG_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("FLAG_LISTEN", format!("127.0.0.1:{port}"))
            .env("FLAG_ADMIN_TOKEN", TOKEN)
            .env("FLAG_DATA_DIR", data.path())
            .env(
                "FLAG_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null());
        if let Some((upstream, key, workers)) = edge_of {
            cmd.env("FLAG_UPSTREAM_URL", upstream)
                .env("FLAG_UPSTREAM_KEYS", key);
            if let Some(w) = workers {
                cmd.env("FLAG_WORKERS", w.to_string());
            }
        }
        Process {
            child: cmd.spawn().expect("start flag-server"),
            url: format!("http://127.0.0.1:{port}"),
            _data: data,
        }
    }

    async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/readyz", self.url)).await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not become ready", self.url);
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn admin(url: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .request(method, format!("{url}/api/v1/environments/{ENV}{path}"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// The flag set of the propagation benchmark (21 flags), and two SDK keys: the edges' and
/// the clients'.
async fn setup(url: &str) -> (String, String) {
    let mut flags = vec![json!({"key": "new_checkout", "enabled": false, "percentage": 100})];
    for i in 0..20 {
        flags.push(json!({"key": format!("flag_{i}"), "enabled": true, "percentage": 50,
            "rules": [{"id": "de", "percentage": 100, "conditions": [{"attribute": "country", "operator": "in", "values": ["DE", "FR"]}]}]}));
    }
    admin(
        url,
        reqwest::Method::POST,
        "/apply",
        json!({ "flags": flags }),
    )
    .await;
    let mut keys = Vec::new();
    for name in ["edges", "apps"] {
        let k = admin(
            url,
            reqwest::Method::POST,
            "/sdk-keys",
            json!({ "name": name }),
        )
        .await;
        keys.push(k["key"].as_str().unwrap().to_owned());
    }
    (keys.remove(0), keys.remove(0))
}

/// One arrival: which edge's client saw which version, when.
type Arrival = (usize, u64, Instant);

/// A stream client on a raw connection: reads the SSE body, reports every event id it sees.
async fn client(
    url: String,
    key: String,
    edge: usize,
    connected: Arc<AtomicUsize>,
    arrivals: mpsc::UnboundedSender<Arrival>,
) {
    let addr = url.trim_start_matches("http://").to_owned();
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        return;
    };
    let req = format!("GET /api/v1/sdk/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 4096];
    let mut carry: Vec<u8> = Vec::new();
    let mut counted = false;
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let at = Instant::now();
        if !counted {
            counted = true;
            connected.fetch_add(1, Ordering::Relaxed);
        }
        carry.extend_from_slice(&buf[..n]);
        // Every complete `id: N` line; what may be the start of one is kept for the next read.
        let mut done = 0;
        let mut i = 0;
        while let Some(pos) = find(&carry[i..], b"id: ") {
            let start = i + pos + 4;
            let Some(end) = carry[start..].iter().position(|&b| b == b'\n') else {
                break;
            };
            if let Ok(v) = std::str::from_utf8(&carry[start..start + end])
                .unwrap_or("")
                .trim()
                .parse::<u64>()
            {
                let _ = arrivals.send((edge, v, at));
            }
            i = start + end;
            done = i;
        }
        let keep_from = done.max(carry.len().saturating_sub(32));
        carry.drain(..keep_from);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

async fn run(a: &Args) {
    let server = Process::start(None);
    server.ready().await;
    let (edge_key, app_key) = setup(&server.url).await;
    let edges: Vec<Process> = if a.direct {
        Vec::new()
    } else {
        vec![
            Process::start(Some((&server.url, &edge_key, a.edge_workers))),
            Process::start(Some((&server.url, &edge_key, a.edge_workers))),
        ]
    };
    for e in &edges {
        e.ready().await;
        // The clients' key, checked with the upstream once before the clients come.
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/sdk/flags", e.url))
            .bearer_auth(&app_key)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "the edge accepts the key");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before: Vec<u64> = std::iter::once(&server)
        .chain(&edges)
        .map(|p| p.rss_kib())
        .collect();

    let (tx, mut rx) = mpsc::unbounded_channel::<Arrival>();
    let connected = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let targets: Vec<&Process> = if a.direct {
        vec![&server]
    } else {
        edges.iter().collect()
    };
    for i in 0..a.clients {
        let edge = i % targets.len();
        tokio::spawn(client(
            targets[edge].url.clone(),
            app_key.clone(),
            edge,
            connected.clone(),
            tx.clone(),
        ));
        if i % 200 == 199 {
            while connected.load(Ordering::Relaxed) + 100 < i {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < a.clients {
        assert!(
            Instant::now() < deadline,
            "only {} of {} streams opened",
            connected.load(Ordering::Relaxed),
            a.clients
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "opened {} streams ({} per {}) in {:?}",
        a.clients,
        a.clients / targets.len(),
        if a.direct { "server" } else { "edge" },
        t.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after: Vec<u64> = std::iter::once(&server)
        .chain(&edges)
        .map(|p| p.rss_kib())
        .collect();
    while rx.try_recv().is_ok() {}

    let http = reqwest::Client::new();
    let warmup = 5;
    let mut from_200: Vec<Vec<Duration>> = vec![Vec::new(); targets.len()];
    let mut from_send = Vec::new();
    let mut last_client = Vec::new();
    for i in 0..a.toggles + warmup {
        let sent = Instant::now();
        let resp = http
            .patch(format!(
                "{}/api/v1/environments/{ENV}/flags/new_checkout",
                server.url
            ))
            .bearer_auth(TOKEN)
            .json(&json!({"enabled": i % 2 == 0}))
            .send()
            .await
            .unwrap();
        let ok = Instant::now();
        assert_eq!(resp.status().as_u16(), 200);
        let version = resp.json::<Value>().await.unwrap()["version"]
            .as_u64()
            .unwrap();
        let mut seen = 0;
        let mut latest = ok;
        let wait = Instant::now() + Duration::from_secs(30);
        while seen < a.clients {
            let (edge, v, at) = tokio::time::timeout_at(wait.into(), rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "toggle {i}: {seen} of {} clients got version {version}",
                        a.clients
                    )
                })
                .expect("arrivals");
            if v != version {
                continue;
            }
            seen += 1;
            latest = latest.max(at);
            if i >= warmup {
                from_200[edge].push(at.saturating_duration_since(ok));
                from_send.push(at - sent);
            }
        }
        if i >= warmup {
            last_client.push(latest.saturating_duration_since(ok));
        }
        tokio::time::sleep(Duration::from_millis(((i as u64 * 7919) % 20) + 20)).await;
    }
    let mut all: Vec<Duration> = from_200.iter().flatten().copied().collect();
    all.sort();
    from_send.sort();
    last_client.sort();
    println!(
        "propagation, PATCH on the server -> {} stream clients {}, {} toggles ({} arrivals):",
        a.clients,
        if a.direct {
            "on the server itself"
        } else {
            "through 2 edges"
        },
        a.toggles,
        all.len()
    );
    println!(
        "  from the PATCH's 200: p50 {}  p90 {}  p99 {}  max {}",
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.9)),
        ms(percentile(&all, 0.99)),
        ms(*all.last().unwrap())
    );
    for (e, d) in from_200.iter_mut().enumerate() {
        d.sort();
        println!(
            "  {} {}: p50 {}  p99 {}",
            if a.direct { "server" } else { "edge" },
            e + 1,
            ms(percentile(d, 0.5)),
            ms(percentile(d, 0.99))
        );
    }
    println!(
        "  from sending the PATCH: p50 {}  p99 {};  last client of a toggle (from the 200): p50 {}  p99 {}",
        ms(percentile(&from_send, 0.5)),
        ms(percentile(&from_send, 0.99)),
        ms(percentile(&last_client, 0.5)),
        ms(percentile(&last_client, 0.99))
    );
    let names = ["server", "edge 1", "edge 2"];
    let conns = if a.direct {
        vec![a.clients]
    } else {
        vec![2, a.clients.div_ceil(2), a.clients / 2]
    };
    println!("memory (RSS before the clients -> with them idle):");
    for i in 0..conns.len() {
        println!(
            "  {}: {} KiB -> {} KiB, {} stream connections: {:.1} KiB per connection",
            names[i],
            before[i],
            after[i],
            conns[i],
            after[i].saturating_sub(before[i]) as f64 / conns[i] as f64
        );
    }
}

fn main() {
    // `cargo test --all-targets` runs bench binaries without `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("fanout: a benchmark; run it with `cargo bench -p flag-tests --bench fanout`");
        return;
    }
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(&a));
}
