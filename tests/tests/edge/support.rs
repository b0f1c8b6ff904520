//! Helpers of the edge tests: edges in this process, a stream reader over the SDK's own SSE
//! parser, and waits with a deadline.

use std::path::PathBuf;
use std::time::Duration;

use flag_sdk::wire::sse::{self, EventStream, StreamEvent};
use flag_tests::app::{StoreChoice, TestApp};
use serde_json::Value;

pub use flag_tests::admin::{Admin, ENV};
pub use flag_tests::app::ADMIN_TOKEN;
pub use flag_tests::wait::wait_until;

/// How long a test waits for anything.
pub const WITHIN: Duration = Duration::from_secs(10);
/// The edges' key TTL in these tests, in seconds.
pub const KEY_TTL: u64 = 1;

/// An edge in this process following `upstream` with `keys`, with a short key TTL.
pub async fn edge(upstream: &str, keys: &[&str], backup: Option<PathBuf>) -> TestApp {
    let upstream = upstream.to_owned();
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    TestApp::spawn_with(StoreChoice::Embedded, move |c| {
        c.upstream_url = Some(upstream);
        c.upstream_keys = keys;
        c.upstream_backup = backup;
        c.upstream_key_ttl = KEY_TTL;
    })
    .await
}

/// An edge that answers `/readyz` with 200 (every upstream environment held).
pub async fn ready_edge(upstream: &str, keys: &[&str], backup: Option<PathBuf>) -> TestApp {
    let app = edge(upstream, keys, backup).await;
    wait_ready(&app).await;
    app
}

/// Waits until `app` answers `/readyz` with 200.
pub async fn wait_ready(app: &TestApp) {
    wait_until("the edge is ready", WITHIN, || async {
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
}

/// `GET /api/v1/sdk/flags` on `base` with `key`: status and body.
pub async fn sdk_flags(base: &str, key: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/v1/sdk/flags"))
        .bearer_auth(key)
        .send()
        .await
        .expect("GET /sdk/flags");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The version `base` serves `key`'s environment at (None unless 200).
pub async fn served_version(base: &str, key: &str) -> Option<u64> {
    let (status, body) = sdk_flags(base, key).await;
    (status == 200).then(|| body["version"].as_u64()).flatten()
}

/// An SDK stream, read with the SDK's own SSE parser.
pub struct Stream(EventStream);

impl Stream {
    /// Opens `base`'s SDK stream with `key`, resuming after `last_event_id`; panics unless 200.
    pub async fn open(base: &str, key: &str, last_event_id: Option<u64>) -> Stream {
        let req = reqwest::Client::new()
            .get(format!("{base}/api/v1/sdk/stream"))
            .bearer_auth(key);
        let resume = last_event_id.map(|v| v.to_string());
        let resp = sse::request(req, resume.as_deref())
            .send()
            .await
            .expect("open the stream");
        assert_eq!(resp.status(), 200, "open the stream of {base}");
        Stream(EventStream::new(resp))
    }

    /// The next event; `None` when the server ended the stream. Panics after [`WITHIN`].
    pub async fn next(&mut self) -> Option<StreamEvent> {
        match tokio::time::timeout(WITHIN, self.0.next()).await {
            Ok(Some(Ok(event))) => Some(event),
            Ok(Some(Err(e))) => panic!("stream error: {e}"),
            Ok(None) => None,
            Err(_) => panic!("no stream event within {WITHIN:?}"),
        }
    }

    /// The next event, which must be a change: its version and event name.
    pub async fn next_change(&mut self) -> (u64, &'static str, Value) {
        match self.next().await.expect("an event") {
            StreamEvent::Put { version, data } => (version, "put", data.flag),
            StreamEvent::Delete { version, data } => (version, "delete", Value::from(data.key)),
            other => panic!("expected a change, got {other:?}"),
        }
    }

    /// The next event, which must be a snapshot: its version.
    pub async fn next_snapshot(&mut self) -> u64 {
        match self.next().await.expect("an event") {
            StreamEvent::Snapshot(s) => s.version,
            other => panic!("expected a snapshot, got {other:?}"),
        }
    }
}

/// An upstream server (embedded store) with a flag and the edge's SDK key for `production`.
pub async fn upstream() -> (TestApp, Admin, String) {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    let admin = Admin::new(&app.address, ADMIN_TOKEN);
    admin.create("checkout", true).await;
    let (_, key) = admin.sdk_key().await;
    (app, admin, key)
}
