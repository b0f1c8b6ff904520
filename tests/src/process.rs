//! A real flag-server in its own process (the `fault-server` binary of this crate, whose
//! `main` is flag-server's; an integration test passes `env!("CARGO_BIN_EXE_fault-server")`,
//! which Cargo defines only for tests), for tests that crash a server: [`ServerProcess::kill`] sends
//! `SIGKILL`, [`ServerProcess::start_again`] restarts it on the same port with the same
//! configuration. The process is killed on drop. Its output is shown only when `TEST_LOG`
//! is set (its value is the log filter; `1` means `info`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::time::Instant;

use crate::app::{ADMIN_TOKEN, CI_TOKEN};

/// How long a start waits for `/healthz` to answer.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// The store of a server process.
#[derive(Debug, Clone)]
pub enum ProcessStore {
    /// Redis at `url`, under key prefix `prefix`.
    Redis {
        /// `redis://127.0.0.1:<port>/`.
        url: String,
        /// Key namespace.
        prefix: String,
    },
    /// The embedded store in a directory.
    Dir(PathBuf),
}

impl ProcessStore {
    /// Redis at `url` under `prefix`.
    pub fn redis(url: impl Into<String>, prefix: impl Into<String>) -> ProcessStore {
        ProcessStore::Redis {
            url: url.into(),
            prefix: prefix.into(),
        }
    }
}

/// A flag-server process on a fixed local port; killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    bin: PathBuf,
    port: u16,
    store: ProcessStore,
    /// More environment variables of the process (beyond the FLAG_* set here).
    env: Vec<(String, String)>,
    child: Option<Child>,
    http: reqwest::Client,
}

impl ServerProcess {
    /// Starts the server binary `bin` on a free port with the test admin tokens
    /// ([`ADMIN_TOKEN`], and `ci:`[`CI_TOKEN`]) and waits until `/healthz` answers.
    pub async fn start(bin: impl Into<PathBuf>, store: ProcessStore) -> ServerProcess {
        Self::start_with_env(bin, store, &[]).await
    }

    /// [`ServerProcess::start`] with more environment variables (`SSL_CERT_FILE`, say).
    pub async fn start_with_env(
        bin: impl Into<PathBuf>,
        store: ProcessStore,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let bin = bin.into();
        let mut last_error = String::new();
        // A free port can be taken between choosing it and binding it: try a few.
        for _ in 0..5 {
            let mut server = ServerProcess {
                bin: bin.clone(),
                port: free_port(),
                store: store.clone(),
                env: env
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                child: None,
                http: reqwest::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(2))
                    .build()
                    .expect("an HTTP client"),
            };
            match server.try_start().await {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("could not start fault-server: {last_error}");
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills the server with `SIGKILL` (a crash: no graceful shutdown, streams cut) and waits
    /// for it to exit. Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same configuration (killing it
    /// first if it runs) and waits until `/healthz` answers.
    pub async fn start_again(&mut self) {
        self.kill();
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            match self.try_start().await {
                Ok(()) => return,
                // The port may still be held for a moment after a kill: retry until the deadline.
                Err(e) if Instant::now() < deadline => {
                    eprintln!(
                        "fault-server: restart on port {} failed, retrying: {e}",
                        self.port
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("fault-server did not come back on port {}: {e}", self.port),
            }
        }
    }

    /// Starts the server again on the same port with another store (say, another Redis
    /// prefix), which is kept for later restarts.
    pub async fn start_again_with(&mut self, store: ProcessStore) {
        self.kill();
        self.store = store;
        self.start_again().await;
    }

    /// Spawns the process and waits for `/healthz`; on failure the process is gone.
    async fn try_start(&mut self) -> Result<(), String> {
        let mut child = self.spawn()?;
        let deadline = Instant::now() + START_DEADLINE;
        let health = format!("{}/healthz", self.url());
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "fault-server on port {} exited: {status}",
                    self.port
                ));
            }
            if let Ok(resp) = self.http.get(&health).send().await {
                if resp.status().is_success() {
                    self.child = Some(child);
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "fault-server on port {} did not answer /healthz within {START_DEADLINE:?}",
                    self.port
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn spawn(&self) -> Result<Child, String> {
        let log = std::env::var("TEST_LOG").ok();
        let output = || {
            if log.is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            }
        };
        let mut cmd = Command::new(&self.bin);
        // Only the configuration given here: no FLAG_* from the test's environment.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("FLAG_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("FLAG_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("FLAG_ADMIN_TOKEN", format!("{ADMIN_TOKEN},ci:{CI_TOKEN}"))
            .env(
                "FLAG_LOG",
                match log.as_deref() {
                    None | Some("") | Some("1") => "info",
                    Some(filter) => filter,
                },
            );
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        match &self.store {
            ProcessStore::Redis { url, prefix } => {
                cmd.env("FLAG_REDIS_URL", url)
                    .env("FLAG_REDIS_PREFIX", prefix);
            }
            ProcessStore::Dir(dir) => {
                cmd.env("FLAG_DATA_DIR", dir);
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(output())
            .stderr(output())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

use crate::redis::free_port;
