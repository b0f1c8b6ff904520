//! Live-update benchmark (not a test): propagation latency through two instances on one
//! Redis, memory per idle stream connection, and `is_enabled` cost with and without a stream.
//!
//! Servers run as separate `flag-server` processes (release build) so that their memory can be
//! measured; Redis is a real `redis-server`. Run it with `tests/benches/propagation.sh`, or:
//!
//! ```sh
//! cargo build --release -p flag-server
//! cargo bench -p flag-tests --bench propagation -- [propagation|memory|evaluate|all] \
//!     [--toggles 250] [--clients 1000] [--connections 10000]
//! ```

use std::hint::black_box;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flag_sdk::{Context, Flag, FlagClient};
use flag_tests::redis::RedisServer;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "bench-admin-token";
const ENV: &str = "production";

struct Args {
    what: String,
    toggles: usize,
    clients: usize,
    connections: usize,
}

fn args() -> Args {
    let mut a = Args {
        what: "all".into(),
        toggles: 250,
        clients: 1000,
        connections: 10_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = || {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{arg} needs a number"))
        };
        match arg.as_str() {
            "--toggles" => a.toggles = num(),
            "--clients" => a.clients = num(),
            "--connections" => a.connections = num(),
            "--bench" => {}
            other if !other.starts_with('-') => a.what = other.to_owned(),
            _ => {}
        }
    }
    a
}

/// A `flag-server` process on a free port.
struct ServerProcess {
    child: Child,
    url: String,
    _data: Option<tempfile::TempDir>,
}

impl ServerProcess {
    fn start(redis: Option<&RedisServer>) -> ServerProcess {
        let bin = std::env::var("FLAG_SERVER_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/flag-server")
            });
        assert!(
            bin.exists(),
            "{} is missing: run `cargo build --release -p flag-server`",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(&bin);
        cmd.env("FLAG_LISTEN", format!("127.0.0.1:{port}"))
            .env("FLAG_ADMIN_TOKEN", TOKEN)
            .env(
                "FLAG_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null());
        let data = match redis {
            Some(r) => {
                cmd.env("FLAG_REDIS_URL", r.url());
                None
            }
            None => {
                let dir = tempfile::tempdir().unwrap();
                cmd.env("FLAG_DATA_DIR", dir.path());
                Some(dir)
            }
        };
        let child = cmd.spawn().expect("start flag-server");
        ServerProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _data: data,
        }
    }

    async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/readyz", self.url)).await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("flag-server at {} did not become ready", self.url);
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

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn admin(url: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .request(method, format!("{url}/api/v1{path}"))
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

async fn setup_flags(url: &str, n: usize) -> String {
    let mut flags = vec![json!({"key": "new_checkout", "enabled": false, "percentage": 100})];
    for i in 0..n {
        flags.push(json!({"key": format!("flag_{i}"), "enabled": true, "percentage": 50,
            "rules": [{"id": "de", "percentage": 100, "conditions": [{"attribute": "country", "operator": "in", "values": ["DE", "FR"]}]}]}));
    }
    admin(
        url,
        reqwest::Method::POST,
        &format!("/environments/{ENV}/apply"),
        json!({ "flags": flags }),
    )
    .await;
    let key = admin(
        url,
        reqwest::Method::POST,
        &format!("/environments/{ENV}/sdk-keys"),
        json!({"name": "bench"}),
    )
    .await;
    key["key"].as_str().unwrap().to_owned()
}

/// An SSE client that reads and discards everything; counts connections that got their first bytes.
async fn raw_client(url: String, key: String, connected: Arc<AtomicUsize>) {
    let addr = url.trim_start_matches("http://").to_owned();
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        return;
    };
    let req = format!("GET /api/v1/sdk/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 2048];
    let mut counted = false;
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if !counted {
                    counted = true;
                    connected.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

async fn open_clients(urls: &[String], key: &str, n: usize) -> Arc<AtomicUsize> {
    let connected = Arc::new(AtomicUsize::new(0));
    for i in 0..n {
        tokio::spawn(raw_client(
            urls[i % urls.len()].clone(),
            key.to_owned(),
            connected.clone(),
        ));
        if i % 200 == 199 {
            // Let the accept queues drain.
            while connected.load(Ordering::Relaxed) + 50 < i {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} streams opened",
            connected.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    connected
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

async fn propagation(a: &Args) {
    let redis = RedisServer::start();
    let srv_a = ServerProcess::start(Some(&redis));
    let srv_b = ServerProcess::start(Some(&redis));
    srv_a.ready().await;
    srv_b.ready().await;
    let key = setup_flags(&srv_a.url, 20).await;
    // B learns of the key through its refresh (about a second).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/sdk/flags", srv_b.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            break;
        }
        assert!(Instant::now() < deadline, "B does not accept the key");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let urls = [srv_a.url.clone(), srv_b.url.clone()];
    let t = Instant::now();
    open_clients(&urls, &key, a.clients).await;
    println!(
        "opened {} other stream clients (half on A, half on B) in {:?}",
        a.clients,
        t.elapsed()
    );

    let client = FlagClient::builder(srv_b.url.as_str(), key.as_str())
        .metrics(false)
        .build()
        .await
        .unwrap();
    assert!(client.is_initialized());
    let mut changes = client.subscribe();
    let http = reqwest::Client::new();
    let mut after_200 = Vec::new();
    let mut after_send = Vec::new();
    let warmup = 20;
    for i in 0..a.toggles + warmup {
        let sent = Instant::now();
        let resp = http
            .patch(format!(
                "{}/api/v1/environments/{ENV}/flags/new_checkout",
                srv_a.url
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
        let answered = ok;
        tokio::time::timeout(Duration::from_secs(10), changes.wait_for(|v| *v >= version))
            .await
            .expect("the change reached the client")
            .unwrap();
        let seen = Instant::now();
        assert_eq!(client.is_enabled("new_checkout"), i % 2 == 0);
        if i >= warmup {
            after_200.push(seen.saturating_duration_since(answered));
            after_send.push(seen - sent);
        }
        tokio::time::sleep(Duration::from_millis(rand_ms(i))).await;
    }
    after_200.sort();
    after_send.sort();
    println!(
        "propagation, PATCH via A -> SDK client on B, {} toggles, {} other streams:\n  from the PATCH's 200: p50 {}  p90 {}  p99 {}  max {}\n  from sending the PATCH: p50 {}  p99 {}",
        after_200.len(),
        a.clients,
        ms(percentile(&after_200, 0.5)),
        ms(percentile(&after_200, 0.9)),
        ms(percentile(&after_200, 0.99)),
        ms(*after_200.last().unwrap()),
        ms(percentile(&after_send, 0.5)),
        ms(percentile(&after_send, 0.99)),
    );
    client.close().await;
}

/// A few milliseconds between toggles, varied so that they do not fall into lockstep.
fn rand_ms(i: usize) -> u64 {
    (i as u64 * 7919) % 20
}

async fn memory(a: &Args) {
    let srv = ServerProcess::start(None);
    srv.ready().await;
    let key = setup_flags(&srv.url, 20).await;
    // Warm up: a few streams opened and the allocator settled.
    {
        let c = open_clients(std::slice::from_ref(&srv.url), &key, 100).await;
        black_box(c);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = srv.rss_kib();
    let t = Instant::now();
    let n = a.connections;
    open_clients(std::slice::from_ref(&srv.url), &key, n).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = srv.rss_kib();
    println!(
        "memory: {n} idle stream connections (each got its snapshot of 21 flags) opened in {:?}; server RSS {before} KiB -> {after} KiB: {:.1} KiB per connection",
        t.elapsed(),
        (after.saturating_sub(before)) as f64 / n as f64
    );
}

fn per_call(client: &FlagClient, ctx: &Context, iters: u64) -> f64 {
    let t = Instant::now();
    let mut on = 0u64;
    for i in 0..iters {
        let key = if i % 2 == 0 { "flag_3" } else { "new_checkout" };
        on += black_box(client.is_enabled_for(black_box(key), black_box(ctx))) as u64;
    }
    black_box(on);
    t.elapsed().as_nanos() as f64 / iters as f64
}

async fn evaluate() {
    let ctx = Context::new().user_id("42").set("country", "DE");
    let iters = 5_000_000;
    let mut flags = vec![Flag::off("new_checkout").unwrap()];
    for i in 0..20 {
        flags.push(
            Flag::from_value(json!({"key": format!("flag_{i}"), "enabled": true, "percentage": 50,
            "rules": [{"id": "de", "percentage": 100, "conditions": [{"attribute": "country", "operator": "in", "values": ["DE", "FR"]}]}]}))
            .unwrap(),
        );
    }
    let offline = FlagClient::offline(flags);
    per_call(&offline, &ctx, iters / 5);
    let offline_ns = per_call(&offline, &ctx, iters);

    let srv = ServerProcess::start(None);
    srv.ready().await;
    let key = setup_flags(&srv.url, 20).await;
    let client = FlagClient::builder(srv.url.as_str(), key.as_str())
        .build()
        .await
        .unwrap();
    assert!(client.is_initialized());
    per_call(&client, &ctx, iters / 5);
    let idle_ns = tokio::task::block_in_place(|| per_call(&client, &ctx, iters));
    let uncounted = FlagClient::builder(srv.url.as_str(), key.as_str())
        .metrics(false)
        .build()
        .await
        .unwrap();
    per_call(&uncounted, &ctx, iters / 5);
    let uncounted_ns = tokio::task::block_in_place(|| per_call(&uncounted, &ctx, iters));
    uncounted.close().await;

    // With the stream delivering a change every 10 ms while evaluating.
    let url = srv.url.clone();
    let toggler = tokio::spawn(async move {
        let http = reqwest::Client::new();
        for i in 0.. {
            let _ = http
                .patch(format!(
                    "{url}/api/v1/environments/{ENV}/flags/new_checkout"
                ))
                .bearer_auth(TOKEN)
                .json(&json!({"enabled": i % 2 == 0}))
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let v0 = client.version();
    let busy_ns = tokio::task::block_in_place(|| per_call(&client, &ctx, iters * 10));
    let updates = client.version() - v0;
    toggler.abort();
    println!(
        "is_enabled_for (context of 2 attributes, 21 flags; alternating a rule flag and a plain flag):\n  offline client (no counting): {offline_ns:.1} ns\n  connected, stream idle, metrics(false): {uncounted_ns:.1} ns\n  connected, stream idle, counting: {idle_ns:.1} ns\n  connected, counting, {updates} updates applied during the run: {busy_ns:.1} ns"
    );
    client.close().await;
}

fn main() {
    // `cargo test --all-targets` runs bench binaries without `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "propagation: a benchmark; run it with `cargo bench -p flag-tests --bench propagation`"
        );
        return;
    }
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if matches!(a.what.as_str(), "all" | "propagation") {
            propagation(&a).await;
        }
        if matches!(a.what.as_str(), "all" | "memory") {
            memory(&a).await;
        }
        if matches!(a.what.as_str(), "all" | "evaluate") {
            evaluate().await;
        }
    });
}
