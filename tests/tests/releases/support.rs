//! Admin calls of the release tests, against any server's base URL.

use std::time::Duration;

use flag_tests::app::ADMIN_TOKEN;
use serde_json::{json, Value};

pub use flag_tests::wait::{wait_for, wait_until};

/// The environment the tests work in.
pub const ENV: &str = "production";
/// Bound on every wait.
pub const WITHIN: Duration = Duration::from_secs(30);

/// Admin calls against one server.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// Calls to the server at `base` (`http://127.0.0.1:<port>`).
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(
                method,
                format!("{}/api/v1/environments/{ENV}{path}", self.base),
            )
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// GET.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// PATCH a flag with a merge patch.
    pub async fn send_patch(&self, key: &str, patch: Value) -> (u16, Value) {
        self.send(
            reqwest::Method::PATCH,
            &format!("/flags/{key}"),
            Some(&patch),
        )
        .await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Creates a boolean flag, enabled, at `percentage`.
    pub async fn create_flag(&self, key: &str, percentage: f64) {
        let (status, body) = self
            .post(
                "/flags",
                &json!({"key": key, "enabled": true, "percentage": percentage}),
            )
            .await;
        assert_eq!(status, 201, "create {key}: {body}");
    }

    /// The flag as the admin API answers it.
    pub async fn flag(&self, key: &str) -> Value {
        let (status, body) = self.get(&format!("/flags/{key}")).await;
        assert_eq!(status, 200, "get {key}: {body}");
        body
    }

    /// The flag's percentage.
    pub async fn percentage(&self, key: &str) -> f64 {
        self.flag(key).await["percentage"].as_f64().unwrap()
    }

    /// Starts a plan, asserting 201.
    pub async fn start_plan(&self, key: &str, plan: Value) -> Value {
        let (status, body) = self.post(&format!("/flags/{key}/release"), &plan).await;
        assert_eq!(status, 201, "start a plan of {key}: {body}");
        body
    }

    /// The flag's plan.
    pub async fn plan(&self, key: &str) -> Value {
        let (status, body) = self.get(&format!("/flags/{key}/release")).await;
        assert_eq!(status, 200, "the plan of {key}: {body}");
        body
    }

    /// Waits until the flag's plan has `status`; returns the plan.
    pub async fn plan_reaches(&self, key: &str, status: &str) -> Value {
        wait_for(
            &format!("the plan of {key} is {status}"),
            WITHIN,
            || async {
                let plan = self.plan(key).await;
                (plan["status"] == status).then_some(plan)
            },
        )
        .await
    }

    /// The flag's audit entries, oldest first.
    pub async fn audit(&self, key: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/audit?flag={key}&limit=1000")).await;
        assert_eq!(status, 200, "audit: {body}");
        let mut entries = body["entries"].as_array().unwrap().clone();
        entries.reverse();
        entries
    }

    /// The flag's audit entries whose reason contains `marker`: (version, reason, percentage after).
    pub async fn entries_with(&self, key: &str, marker: &str) -> Vec<(u64, String, f64)> {
        self.audit(key)
            .await
            .into_iter()
            .filter_map(|e| {
                let reason = e["reason"].as_str()?.to_owned();
                reason.contains(marker).then(|| {
                    (
                        e["version"].as_u64().unwrap(),
                        reason,
                        e["after"]["percentage"].as_f64().unwrap_or(-1.0),
                    )
                })
            })
            .collect()
    }
}

/// An HTTP endpoint on a local port that answers every request with `status`; for HTTP guards.
pub async fn http_endpoint(status: u16) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/health", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let body = format!("status {status}");
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, task)
}

/// A URL nothing listens on (a port just freed).
pub fn dead_url() -> String {
    format!("http://127.0.0.1:{}/health", flag_tests::redis::free_port())
}
