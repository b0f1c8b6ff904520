//! A failover of the Redis primary during a burst of writes, on a real Redis Cluster
//! (`CLUSTER FAILOVER` on a replica) and a real Sentinel deployment (`SENTINEL FAILOVER`).
//!
//! Instance A takes the writes (a flag created every few milliseconds); instance B follows the
//! store and serves an SDK stream, read here event by event. Every write A acknowledged
//! after the failover completed must be in the store (read by a third instance started
//! afterwards) and on B's stream; the stream's ids must be consecutive across any reconnection
//! (`Last-Event-ID`); a write that fails is a 503, never a 500. The time without successful
//! writes is printed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flag_sdk::wire::sse::{self, EventStream, StreamEvent};
use flag_tests::app::{StoreChoice, TestApp, ADMIN_TOKEN};
use flag_tests::cluster::RedisCluster;
use flag_tests::sentinel::RedisSentinel;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::support::{wait_until, EXCLUSIVE};

/// Writes acknowledged after the failover before the burst stops.
const AFTER: usize = 50;
/// Pace of the burst.
const EVERY: Duration = Duration::from_millis(5);
/// Bound on every wait of these tests.
const WITHIN: Duration = Duration::from_secs(30);

/// One write of the burst: flag `f<i>`, its status (0: no answer), when it was answered.
#[derive(Debug, Clone)]
struct Write {
    key: String,
    status: u16,
    at: Instant,
}

/// What B's SDK stream showed: the ids of change events in order, snapshots, reconnections.
#[derive(Debug, Default)]
struct Seen {
    ids: Vec<u64>,
    keys: BTreeSet<String>,
    snapshots: usize,
    reconnects: usize,
}

/// Reads B's SDK stream until `stop`, resuming with `Last-Event-ID` after a cut.
async fn follow(
    base: String,
    key: String,
    seen: Arc<Mutex<Seen>>,
    mut stop: watch::Receiver<bool>,
) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut last: Option<String> = None;
    loop {
        let req = sse::request(
            http.get(format!("{base}/api/v1/sdk/stream"))
                .bearer_auth(&key),
            last.as_deref(),
        );
        let resp = tokio::select! {
            r = req.send() => r,
            _ = stop.changed() => return,
        };
        if let Ok(resp) = resp.and_then(|r| r.error_for_status()) {
            let mut events = EventStream::new(resp);
            loop {
                let event = tokio::select! {
                    e = events.next() => e,
                    _ = stop.changed() => return,
                };
                let Some(Ok(event)) = event else { break };
                let mut s = seen.lock().unwrap();
                match event {
                    StreamEvent::Snapshot(body) => {
                        s.snapshots += 1;
                        s.ids.push(body.version);
                        for f in &body.flags {
                            s.keys
                                .insert(f["key"].as_str().unwrap_or_default().to_owned());
                        }
                    }
                    StreamEvent::Put { version, data } => {
                        s.ids.push(version);
                        s.keys
                            .insert(data.flag["key"].as_str().unwrap_or_default().to_owned());
                    }
                    other => panic!("unexpected event {other:?}"),
                }
                last = events.last_event_id().map(str::to_owned);
            }
        }
        seen.lock().unwrap().reconnects += 1;
        if *stop.borrow() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates `f0`, `f1`, … through A every [`EVERY`] until `stop`.
async fn burst(base: String, writes: Arc<Mutex<Vec<Write>>>, stop: watch::Receiver<bool>) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut tick = tokio::time::interval(EVERY);
    for i in 0.. {
        if *stop.borrow() {
            return;
        }
        tick.tick().await;
        let key = format!("f{i}");
        let status = http
            .post(format!("{base}/api/v1/environments/production/flags"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"key": key, "enabled": true, "percentage": 100}))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        writes.lock().unwrap().push(Write {
            key,
            status,
            at: Instant::now(),
        });
    }
}

/// The flag keys of production as a server started now reads them from the store (and
/// that server, to stop when the test ends).
async fn stored_keys(url: &str, prefix: &str) -> (BTreeSet<String>, TestApp) {
    let c = TestApp::spawn(StoreChoice::Redis {
        url: url.to_owned(),
        prefix: prefix.to_owned(),
    })
    .await;
    let body: Value = c
        .admin_get("/environments/production/flags")
        .await
        .json()
        .await
        .unwrap();
    let keys = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_owned())
        .collect();
    (keys, c)
}

/// The scenario, with `failover` run once some writes went through; it returns how long the
/// failover took.
async fn failover_during_writes(
    name: &str,
    url: String,
    failover: impl FnOnce() -> Duration + Send + 'static,
) {
    let prefix = flag_tests::unique_prefix();
    let store = || StoreChoice::Redis {
        url: url.clone(),
        prefix: prefix.clone(),
    };
    let a = TestApp::spawn(store()).await;
    let b = TestApp::spawn(store()).await;
    let key = a.sdk_key("production").await;
    wait_until("B accepts the SDK key", WITHIN, || async {
        b.sdk_flags(&key).await.status() == 200
    })
    .await;

    let (stop_reader, stop) = watch::channel(false);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let reader = tokio::spawn(follow(b.address.clone(), key, seen.clone(), stop));
    wait_until("B's stream is open", WITHIN, || async {
        seen.lock().unwrap().snapshots == 1
    })
    .await;
    let writes = Arc::new(Mutex::new(Vec::<Write>::new()));
    let (stop_writer, stop) = watch::channel(false);
    let writer = tokio::spawn(burst(a.address.clone(), writes.clone(), stop));
    let acked = |after: Option<Instant>| {
        writes
            .lock()
            .unwrap()
            .iter()
            .filter(|w| w.status == 201 && after.is_none_or(|t| w.at > t))
            .count()
    };
    wait_until("some writes went through", WITHIN, || async {
        acked(None) >= 20
    })
    .await;

    let took = tokio::task::spawn_blocking(failover).await.unwrap();
    let done = Instant::now();
    let recovered = tokio::time::timeout(WITHIN, async {
        while acked(Some(done)) < AFTER {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    if recovered.is_err() {
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for w in writes.lock().unwrap().iter().filter(|w| w.at > done) {
            *statuses.entry(w.status).or_default() += 1;
        }
        panic!("writes did not go through within {WITHIN:?} after the failover ({took:?}): statuses after it {statuses:?}");
    }
    stop_writer.send(true).unwrap();
    writer.await.unwrap();

    let writes = writes.lock().unwrap().clone();
    let failed: Vec<&Write> = writes.iter().filter(|w| w.status != 201).collect();
    assert!(
        failed.iter().all(|w| w.status == 503),
        "a failing write is a 503: {:?}",
        failed.iter().map(|w| w.status).collect::<Vec<_>>()
    );
    let after: Vec<&Write> = writes
        .iter()
        .filter(|w| w.status == 201 && w.at > done)
        .collect();
    let (stored, _c) = stored_keys(&url, &prefix).await;
    let missing: Vec<&str> = after
        .iter()
        .filter(|w| !stored.contains(&w.key))
        .map(|w| w.key.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged after the failover but not stored: {missing:?}"
    );
    wait_until(
        "B's stream shows every write acknowledged after the failover",
        WITHIN,
        || {
            let s = seen.lock().unwrap();
            let all = after.iter().all(|w| s.keys.contains(&w.key));
            async move { all }
        },
    )
    .await;
    // The time without writes: the longest stretch between two acknowledged writes.
    let acks: Vec<Instant> = writes
        .iter()
        .filter(|w| w.status == 201)
        .map(|w| w.at)
        .collect();
    let pause = acks
        .windows(2)
        .map(|p| p[1] - p[0])
        .max()
        .unwrap_or_default();
    {
        let s = seen.lock().unwrap();
        let gaps: Vec<(u64, u64)> = s
            .ids
            .windows(2)
            .filter(|p| p[1] != p[0] + 1)
            .map(|p| (p[0], p[1]))
            .collect();
        assert!(
            gaps.is_empty(),
            "B's stream skipped or repeated versions: {gaps:?}"
        );
        assert_eq!(s.snapshots, 1, "B's stream resumed without a new snapshot");
        println!(
            "{name}: failover took {took:?}; no write acknowledged for {pause:?}; {} writes, {} \
             answered 503, {} acknowledged after the failover; B's stream: {} events, {} \
             reconnections",
            writes.len(),
            failed.len(),
            after.len(),
            s.ids.len(),
            s.reconnects
        );
    }
    stop_reader.send(true).unwrap();
    reader.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_failover_during_writes() {
    let _exclusive = EXCLUSIVE.lock().await;
    let cluster = Arc::new(RedisCluster::start(3, 1));
    let url = cluster.url();
    // The environment's keys all live where its hash tag puts them.
    let c = cluster.clone();
    failover_during_writes("cluster_failover", url, move || {
        c.failover_owner_of("{production}").1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_failover_during_writes() {
    let _exclusive = EXCLUSIVE.lock().await;
    let sentinel = Arc::new(RedisSentinel::start());
    let url = sentinel.url();
    let s = sentinel.clone();
    failover_during_writes("sentinel_failover", url, move || s.failover().1).await;
}
