//! Helpers of the fault tests: admin calls over HTTP, SDK clients with test settings, and
//! wait-until with a deadline.

use std::future::Future;
use std::time::Duration;

use flag_tests::app::ADMIN_TOKEN;
use flag_tests::process::ServerProcess;
use serde_json::{json, Value};
use tokio::time::Instant;

pub const ENV: &str = "production";

/// flag-server's `main`, built as this crate's `fault-server` binary.
pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_fault-server");

/// Taken by the fault tests of this module set for their whole run: they restart servers
/// and measure recovery deadlines, so they do not compete with each other for the CPU.
pub static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Polls `check` every 10 ms until it is true; panics with `what` after `within`. Returns
/// how long it took.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    let deadline = start + within;
    loop {
        if check().await {
            return start.elapsed();
        }
        if Instant::now() >= deadline {
            panic!("timed out after {within:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Admin calls against one server.
#[derive(Clone)]
pub struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    pub fn new(base: &str) -> Admin {
        Admin {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/environments/{ENV}{path}", self.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }

    /// Creates a flag on for everyone (or off); returns its version.
    pub async fn create(&self, key: &str, enabled: bool) -> u64 {
        let (status, body) = self
            .send(
                self.http
                    .post(self.url("/flags"))
                    .json(&json!({"key": key, "enabled": enabled, "percentage": 100})),
            )
            .await;
        assert_eq!(status, 201, "create {key}: {body}");
        body["version"].as_u64().unwrap()
    }

    /// Sets a flag's kill switch; returns the new version (the environment's).
    pub async fn set_enabled(&self, key: &str, enabled: bool) -> u64 {
        let (status, body) = self
            .send(
                self.http
                    .patch(self.url(&format!("/flags/{key}")))
                    .json(&json!({"enabled": enabled})),
            )
            .await;
        assert_eq!(status, 200, "patch {key}: {body}");
        body["version"].as_u64().unwrap()
    }

    /// Issues an SDK key of the environment; returns its secret.
    pub async fn sdk_key(&self) -> String {
        let (status, body) = self
            .send(
                self.http
                    .post(self.url("/sdk-keys"))
                    .json(&json!({"name": "fault-test"})),
            )
            .await;
        assert_eq!(status, 201, "issue an SDK key: {body}");
        body["key"].as_str().unwrap().to_owned()
    }
}

/// Whether `server` answers `GET /sdk/flags` with `key` (200).
pub async fn sdk_key_accepted(server: &ServerProcess, key: &str) -> bool {
    reqwest::Client::new()
        .get(format!("{}/api/v1/sdk/flags", server.url()))
        .bearer_auth(key)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Sorted durations' percentile (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A flag-server instance in this process on `redis` under `prefix`.
pub async fn instance(
    redis: &flag_tests::redis::RedisServer,
    prefix: &str,
) -> flag_tests::app::TestApp {
    flag_tests::app::TestApp::spawn(flag_tests::app::StoreChoice::Redis {
        url: redis.url(),
        prefix: prefix.to_owned(),
    })
    .await
}
