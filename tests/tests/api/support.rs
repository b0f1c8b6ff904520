//! Shared helpers of the API tests.

use std::time::{Duration, Instant};

use flag_tests::app::{StoreChoice, TestApp};
use flag_tests::redis::RedisServer;
use reqwest::Response;
use serde_json::{json, Value};

/// A server and, for Redis, the redis-server it uses (stopped when dropped).
pub struct Running {
    pub app: TestApp,
    /// Kept so that the redis-server lives as long as the app.
    pub _redis: Option<RedisServer>,
    pub name: &'static str,
}

/// A server on the embedded store.
pub async fn embedded() -> Running {
    Running {
        app: TestApp::spawn(StoreChoice::Embedded).await,
        _redis: None,
        name: "embedded",
    }
}

/// A server on a fresh redis-server.
pub async fn redis() -> Running {
    let server = RedisServer::start();
    let app = TestApp::spawn(StoreChoice::Redis {
        url: server.url(),
        prefix: unique_prefix(),
    })
    .await;
    Running {
        app,
        _redis: Some(server),
        name: "redis",
    }
}

pub use flag_tests::unique_prefix;

/// Runs a test body against a server on each store.
pub async fn on_both_stores(body: impl AsyncFn(&TestApp, &str)) {
    let r = embedded().await;
    body(&r.app, r.name).await;
    drop(r);
    let r = redis().await;
    body(&r.app, r.name).await;
}

/// A minimal valid flag.
pub fn flag(key: &str) -> Value {
    json!({"key": key, "enabled": true, "percentage": 100})
}

/// Asserts a problem+json answer of `status` and returns its body.
pub async fn problem(res: Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = res.text().await.unwrap_or_default();
    assert_eq!(got, status, "status; body: {text}");
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type {content_type:?}; body: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "problem has {field}: {body}");
    }
    assert!(body["errors"].is_array(), "problem has errors: {body}");
    body
}

/// Polls `check` until it returns true or `deadline` passes.
pub async fn eventually<F, Fut>(deadline: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + deadline;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The body of a response as JSON, asserting its status.
pub async fn json_of(res: Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    assert_eq!(got, status, "body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
