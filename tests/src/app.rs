//! Start flag-server instances in-process on port 0 for black-box tests, with typed helpers
//! for HTTP calls. Logs are shown only when `TEST_LOG` is set (its value is the filter,
//! e.g. `TEST_LOG=debug`; `1` means `info`).

use std::path::PathBuf;
use std::sync::Arc;

use flag_server::{Application, Config, ShutdownHandle};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use tokio::task::JoinHandle;

/// The secret of the admin token named `admin` that test servers accept.
pub const ADMIN_TOKEN: &str = "test-admin-secret";
/// The secret of a second admin token, named `ci`.
pub const CI_TOKEN: &str = "test-ci-secret";

/// Which store a test server uses.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    /// The embedded store in a fresh temporary directory, removed when the last server using it is dropped.
    Embedded,
    /// The embedded store in a given directory (to restart a server on the same data).
    EmbeddedAt(PathBuf),
    /// Redis at `url`, under key prefix `prefix`.
    Redis {
        /// `redis://127.0.0.1:<port>/`.
        url: String,
        /// Key namespace.
        prefix: String,
    },
}

/// A flag-server running in this process on a free port.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// An HTTP client (no proxy).
    pub client: Client,
    /// Where the embedded store lives (None for Redis).
    pub data_dir: Option<PathBuf>,
    _temp: Option<Arc<tempfile::TempDir>>,
    handle: ShutdownHandle,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

fn init_logs() {
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let filter = if filter == "1" || filter.is_empty() {
            "info".to_owned()
        } else {
            filter
        };
        flag_server::telemetry::init(&filter, flag_server::LogFormat::Text);
    }
}

impl TestApp {
    /// Starts a server on `store` with the test admin tokens.
    pub async fn spawn(store: StoreChoice) -> TestApp {
        Self::spawn_with(store, |_| {}).await
    }

    /// Starts a server on `store`, letting the caller adjust the configuration.
    pub async fn spawn_with(store: StoreChoice, adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::try_spawn_with(store, adjust)
            .await
            .unwrap_or_else(|e| panic!("build the test server: {e:#}"))
    }

    /// Starts a server on `store`, or says why it could not.
    pub async fn try_spawn(store: StoreChoice) -> anyhow::Result<TestApp> {
        Self::try_spawn_with(store, |_| {}).await
    }

    /// Starts a server on `store` with an adjusted configuration, or says why it could not.
    pub async fn try_spawn_with(
        store: StoreChoice,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestApp> {
        init_logs();
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            admin_token: Some(format!("{ADMIN_TOKEN},ci:{CI_TOKEN}")),
            workers: Some(1),
            handle_signals: false,
            ..Config::default()
        };
        let (temp, data_dir) = match store {
            StoreChoice::Embedded => {
                let temp = tempfile::tempdir().expect("temporary directory");
                let dir = temp.path().to_path_buf();
                (Some(Arc::new(temp)), Some(dir))
            }
            StoreChoice::EmbeddedAt(dir) => (None, Some(dir)),
            StoreChoice::Redis { url, prefix } => {
                config.redis_url = Some(url);
                config.redis_prefix = prefix;
                (None, None)
            }
        };
        if let Some(dir) = &data_dir {
            config.data_dir = dir.clone();
        }
        adjust(&mut config);
        let app = Application::build(config).await?;
        let port = app.port();
        let handle = app.shutdown_handle();
        let task = tokio::spawn(app.run_until_stopped());
        Ok(TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: Client::builder().no_proxy().build()?,
            data_dir,
            _temp: temp,
            handle,
            task: Some(task),
        })
    }

    /// Stops the server and waits until it has stopped (the data stays).
    pub async fn stop(&mut self) {
        self.handle.stop().await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// The temporary directory of an embedded store, to start another server on the same data.
    pub fn store_choice_for_restart(&self) -> StoreChoice {
        StoreChoice::EmbeddedAt(self.data_dir.clone().expect("an embedded store"))
    }

    /// Keeps the temporary data directory alive as long as `other` lives, too.
    pub fn share_temp_with(&self, other: &mut TestApp) {
        other._temp = self._temp.clone();
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `http://127.0.0.1:<port>/api/v1<path>`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.address)
    }

    /// A request to `/api/v1<path>` with a bearer token.
    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, self.api(path))
            .bearer_auth(token)
    }

    /// An admin request to `/api/v1<path>`.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path, ADMIN_TOKEN)
    }

    /// `GET /api/v1<path>` as admin.
    pub async fn admin_get(&self, path: &str) -> Response {
        self.admin(Method::GET, path).send().await.expect("GET")
    }

    /// `PUT /api/v1<path>` as admin with a JSON body.
    pub async fn admin_put(&self, path: &str, body: &Value) -> Response {
        self.admin(Method::PUT, path)
            .json(body)
            .send()
            .await
            .expect("PUT")
    }

    /// `POST /api/v1<path>` as admin with a JSON body.
    pub async fn admin_post(&self, path: &str, body: &Value) -> Response {
        self.admin(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// `PATCH /api/v1<path>` as admin with a JSON merge patch.
    pub async fn admin_patch(&self, path: &str, body: &Value) -> Response {
        self.admin(Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

    /// `DELETE /api/v1<path>` as admin.
    pub async fn admin_delete(&self, path: &str) -> Response {
        self.admin(Method::DELETE, path)
            .send()
            .await
            .expect("DELETE")
    }

    /// Creates a flag in `env` (panics unless 201) and returns it.
    pub async fn create_flag(&self, env: &str, flag: &Value) -> Value {
        let res = self
            .admin_post(&format!("/environments/{env}/flags"), flag)
            .await;
        assert_eq!(
            res.status(),
            201,
            "create flag: {}",
            res.text().await.unwrap_or_default()
        );
        res.json().await.expect("flag JSON")
    }

    /// The current version of an environment.
    pub async fn env_version(&self, env: &str) -> u64 {
        let res = self.admin_get(&format!("/environments/{env}/flags")).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("flag list JSON");
        body["version"].as_u64().expect("version")
    }

    /// Issues an SDK key for `env` and returns its secret.
    pub async fn sdk_key(&self, env: &str) -> String {
        let res = self
            .admin_post(
                &format!("/environments/{env}/sdk-keys"),
                &serde_json::json!({"name": "test"}),
            )
            .await;
        assert_eq!(res.status(), 201, "issue SDK key");
        let body: Value = res.json().await.expect("key JSON");
        body["key"].as_str().expect("secret").to_owned()
    }

    /// `GET /api/v1/sdk/flags` with an SDK key.
    pub async fn sdk_flags(&self, key: &str) -> Response {
        self.request(Method::GET, "/sdk/flags", key)
            .send()
            .await
            .expect("GET /sdk/flags")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Tell the follower and streams to stop; the HTTP server ends with the runtime.
        let handle = self.handle.clone();
        if self.task.is_some() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { handle.stop().await });
            }
        }
    }
}
