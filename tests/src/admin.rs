//! Admin calls over HTTP against one server, on one environment, asserting success.

use std::time::Duration;

use flag_sdk::wire::{IssuedSdkKey, StoredFlag};
use serde_json::{json, Value};

/// The environment the admin calls work on.
pub const ENV: &str = "production";

/// Admin calls against one server.
#[derive(Clone)]
pub struct Admin {
    /// The HTTP client.
    pub http: reqwest::Client,
    /// The server's base URL, without a trailing slash.
    pub base: String,
    /// The admin token.
    pub token: String,
}

fn version(what: &str, body: &Value) -> u64 {
    let flag: StoredFlag = serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("{what}: not a flag ({e}): {body}"));
    flag.flag.version
}

impl Admin {
    /// Admin calls against the server at `base` with `token`.
    pub fn new(base: &str, token: &str) -> Admin {
        Admin {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/environments/{ENV}{path}", self.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.bearer_auth(&self.token).send().await.unwrap();
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
        version(&format!("create {key}"), &body)
    }

    /// Applies a merge patch; returns the flag's new version (the environment's).
    pub async fn patch(&self, key: &str, patch: Value) -> u64 {
        let (status, body) = self.try_patch(key, patch).await;
        assert_eq!(status, 200, "patch {key}: {body}");
        version(&format!("patch {key}"), &body)
    }

    /// Sets a flag's kill switch; returns the new version.
    pub async fn set_enabled(&self, key: &str, enabled: bool) -> u64 {
        self.patch(key, json!({ "enabled": enabled })).await
    }

    /// Applies a merge patch; returns the status and the answer.
    pub async fn try_patch(&self, key: &str, patch: Value) -> (u16, Value) {
        self.send(
            self.http
                .patch(self.url(&format!("/flags/{key}")))
                .json(&patch),
        )
        .await
    }

    /// Makes the environment match a flag set (flags-as-code, no pruning).
    pub async fn apply(&self, doc: Value) {
        let (status, body) = self
            .send(self.http.post(self.url("/apply")).json(&doc))
            .await;
        assert_eq!(status, 200, "apply: {body}");
    }

    /// Deletes a flag.
    pub async fn delete(&self, key: &str) {
        let (status, body) = self
            .send(self.http.delete(self.url(&format!("/flags/{key}"))))
            .await;
        assert!(
            (200..300).contains(&status),
            "delete {key}: {status} {body}"
        );
    }

    /// Issues an SDK key of the environment: (id, secret).
    pub async fn sdk_key(&self) -> (String, String) {
        let (status, body) = self
            .send(
                self.http
                    .post(self.url("/sdk-keys"))
                    .json(&json!({"name": "test"})),
            )
            .await;
        assert_eq!(status, 201, "issue an SDK key: {body}");
        let issued: IssuedSdkKey = serde_json::from_value(body.clone())
            .unwrap_or_else(|e| panic!("not an issued SDK key ({e}): {body}"));
        (issued.info.id, issued.key)
    }

    /// Revokes an SDK key.
    pub async fn revoke(&self, id: &str) {
        let (status, body) = self
            .send(self.http.delete(self.url(&format!("/sdk-keys/{id}"))))
            .await;
        assert!((200..300).contains(&status), "revoke: {status} {body}");
    }
}
