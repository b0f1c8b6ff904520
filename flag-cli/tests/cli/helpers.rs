//! Runs the built `flag-cli` binary against a real flag-server on port 0.

use std::time::Duration;

use flag_tests::app::{StoreChoice, TestApp, ADMIN_TOKEN};
use serde_json::Value;
use tokio::process::Command;

/// How long one CLI run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The outcome of one CLI run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout as JSON (panics with the whole run when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// Asserts the exit code, showing the run when it differs.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        self
    }

    /// Asserts exit 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }
}

/// A server with the embedded store, and the CLI pointed at it.
pub struct Cli {
    pub app: TestApp,
}

impl Cli {
    pub async fn start() -> Cli {
        Self::on(StoreChoice::Embedded).await
    }

    /// A server on the given store.
    pub async fn on(store: StoreChoice) -> Cli {
        Cli {
            app: TestApp::spawn(store).await,
        }
    }

    pub fn url(&self) -> String {
        self.app.address.clone()
    }

    pub fn token(&self) -> String {
        ADMIN_TOKEN.to_owned()
    }

    /// The CLI with server and token set, and no FLAG_ENV from the outside.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flag-cli"));
        cmd.env("FLAG_SERVER_URL", self.url())
            .env("FLAG_TOKEN", self.token())
            .env_remove("FLAG_ENV")
            .kill_on_drop(true);
        cmd
    }

    /// Runs the CLI with these arguments.
    pub async fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        output(cmd).await
    }

    /// An admin request to the server (for checks the CLI does not offer, like the audit log).
    pub async fn admin_get(&self, path: &str) -> Value {
        let resp = reqwest::Client::new()
            .get(format!("{}/api/v1{path}", self.url()))
            .bearer_auth(self.token())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// The reasons of the audit entries of a flag, oldest first.
    pub async fn audit_reasons(&self, env: &str, key: &str) -> Vec<String> {
        let page = self
            .admin_get(&format!("/environments/{env}/audit?limit=100"))
            .await;
        let mut reasons: Vec<String> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["key"] == key)
            .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
            .collect();
        reasons.reverse();
        reasons
    }

    /// One flag as the server has it.
    pub async fn flag(&self, env: &str, key: &str) -> Value {
        self.admin_get(&format!("/environments/{env}/flags/{key}"))
            .await
    }
}

/// Runs a prepared command to completion within [`RUN_LIMIT`].
pub async fn output(mut cmd: Command) -> Run {
    let out = tokio::time::timeout(RUN_LIMIT, cmd.output())
        .await
        .expect("flag-cli did not finish in time")
        .expect("flag-cli could not be started");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
