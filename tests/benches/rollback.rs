//! Guarded-rollout benchmark (not a test): how long from a failing guard to 0% at the clients.
//!
//! A release build of flag-server on a real Redis runs a release plan of one flag (one step to
//! 50%, a Prometheus guard checked every second against a fake Prometheus on a local port). An
//! SDK stream client follows the environment. Each trial turns the fake's answer bad and times:
//! - from the first guard check that got the bad answer to the `put` event with 0% on the
//!   stream (what the server adds: its reaction);
//! - from the moment the metric went bad to that event (at most one check interval more).
//!
//! The baseline, in the same run: a person's `PATCH` of the percentage to that `put` event on
//! the same stream. Run with `tests/benches/rollback.sh`, or:
//!
//! ```sh
//! cargo build --release -p flag-server
//! cargo bench -p flag-tests --bench rollback -- [--trials 20]
//! ```

use std::path::PathBuf;
use std::time::Duration;

use flag_sdk::wire::sse::{self, EventStream, StreamEvent};
use flag_tests::app::ADMIN_TOKEN;
use flag_tests::process::{ProcessStore, ServerProcess};
use flag_tests::prometheus::{Answer, FakePrometheus};
use flag_tests::redis::RedisServer;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

const ENV: &str = "production";
const KEY: &str = "guarded";

fn trials() -> usize {
    let mut it = std::env::args().skip_while(|a| a != "--trials").skip(1);
    it.next().and_then(|n| n.parse().ok()).unwrap_or(20)
}

async fn admin(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let resp = http
        .request(method, format!("{base}/api/v1/environments/{ENV}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("admin call");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Follows the SDK stream; sends (arrival time, percentage) of every `put` of [`KEY`].
async fn follow(base: String, key: String, tx: mpsc::UnboundedSender<(Instant, f64)>) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = sse::request(
        http.get(format!("{base}/api/v1/sdk/stream"))
            .bearer_auth(&key),
        None,
    )
    .send()
    .await
    .and_then(|r| r.error_for_status())
    .expect("the stream");
    let mut events = EventStream::new(resp);
    while let Some(Ok(event)) = events.next().await {
        if let StreamEvent::Put { data, .. } = event {
            if data.flag["key"] == KEY {
                let p = data.flag["percentage"].as_f64().unwrap_or(-1.0);
                if tx.send((Instant::now(), p)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Waits for the stream to show `percentage`; when it arrived.
async fn seen(rx: &mut mpsc::UnboundedReceiver<(Instant, f64)>, percentage: f64) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((at, p))) if p == percentage => return at,
            Ok(Some(_)) => {}
            _ => panic!("the stream did not show {percentage}% within 30 s"),
        }
    }
}

fn summary(name: &str, mut d: Vec<Duration>) -> Duration {
    d.sort();
    let pct = |p: f64| d[((p / 100.0) * d.len() as f64).ceil().max(1.0) as usize - 1];
    let (p50, p99, max) = (pct(50.0), pct(99.0), d[d.len() - 1]);
    println!(
        "{name:<52} p50 {:>8.1} ms   p99 {:>8.1} ms   max {:>8.1} ms   (n={})",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        d.len()
    );
    p50
}

async fn run(trials: usize) {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/flag-server");
    assert!(
        bin.exists(),
        "build it first: cargo build --release -p flag-server"
    );
    let redis = RedisServer::start();
    let server = ServerProcess::start(&bin, ProcessStore::redis(redis.url(), "bench")).await;
    let base = server.url();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let prometheus = FakePrometheus::start(Answer::Value(0.0)).await;
    admin(
        &http,
        &base,
        reqwest::Method::POST,
        "/flags",
        json!({"key": KEY, "enabled": true, "percentage": 0}),
    )
    .await;
    let issued = admin(&http, &base, reqwest::Method::POST, "/sdk-keys", json!({})).await;
    let sdk_key = issued["key"].as_str().expect("an SDK key").to_owned();
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(follow(base.clone(), sdk_key, tx));

    // Baseline: a person's PATCH to the stream.
    let mut patch = Vec::new();
    for i in 0..trials {
        let p = if i % 2 == 0 { 30.0 } else { 0.0 };
        let sent = Instant::now();
        admin(
            &http,
            &base,
            reqwest::Method::PATCH,
            &format!("/flags/{KEY}"),
            json!({"percentage": p}),
        )
        .await;
        patch.push(seen(&mut rx, p).await - sent);
    }
    admin(
        &http,
        &base,
        reqwest::Method::PATCH,
        &format!("/flags/{KEY}"),
        json!({"percentage": 0}),
    )
    .await;

    let mut from_check = Vec::new();
    let mut from_metric = Vec::new();
    for _ in 0..trials {
        prometheus.set(Answer::Value(0.0));
        let plan = json!({
            "steps": [50], "interval": "1h",
            "guard": {"type": "prometheus", "url": prometheus.url(), "query": "errors",
                      "op": "lt", "threshold": 0.5, "check_interval": "1s"}
        });
        admin(
            &http,
            &base,
            reqwest::Method::POST,
            &format!("/flags/{KEY}/release"),
            plan,
        )
        .await;
        seen(&mut rx, 50.0).await;
        let flipped = Instant::now();
        prometheus.set(Answer::Value(0.9));
        let zero = seen(&mut rx, 0.0).await;
        let check = prometheus
            .queries()
            .into_iter()
            .find(|q| q.at >= flipped && q.answer == Answer::Value(0.9))
            .expect("a failing check")
            .at;
        from_check.push(zero - check);
        from_metric.push(zero - flipped);
    }
    println!(
        "guarded rollback on one instance, Redis store, check interval 1 s, {trials} trials each:"
    );
    let base_p50 = summary("baseline: PATCH -> put on the SDK stream", patch);
    let check_p50 = summary("failing guard check -> 0% on the SDK stream", from_check);
    summary("metric goes bad -> 0% on the SDK stream", from_metric);
    println!(
        "ratio (failing check -> 0%) / (PATCH -> put), p50: {:.2}",
        check_p50.as_secs_f64() / base_p50.as_secs_f64()
    );
}

fn main() {
    let trials = trials();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(trials));
}
