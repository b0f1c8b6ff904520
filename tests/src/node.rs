//! One `redis-server` process (a cluster node, a primary, a replica or a sentinel) owned by a
//! test harness, on a free loopback port, in its own temporary directory.
//!
//! The server runs under a small `sh` guard that kills it when the guard's standard input
//! closes: when the [`Node`] is dropped, and also when the test process exits without dropping
//! it (a harness shared by every test of a binary lives in a `static`). So no test leaves a
//! `redis-server` behind.

use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::redis::free_port;

/// How long a node may take to answer `PING` after it was started.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// A running `redis-server`; killed on drop.
#[derive(Debug)]
pub struct Node {
    port: u16,
    dir: tempfile::TempDir,
    guard: Option<(Child, ChildStdin)>,
}

impl Node {
    /// Starts `redis-server` on a free port with `args` (after `--port`, `--bind`, `--dir` and
    /// the logging options) and waits until it answers `PING`. `config` is written to
    /// `node.conf` in the node's directory and given as the configuration file when not empty
    /// (a sentinel needs one it can rewrite). `args` may contain `{free}`, replaced by another
    /// free port (for `--cluster-port`).
    pub fn start(config: &str, args: &[&str]) -> Node {
        let mut last_error = String::new();
        // A free port can be taken between choosing it and binding it: try a few.
        for _ in 0..5 {
            let mut node = Node {
                port: free_port(),
                dir: tempfile::tempdir().expect("create a temporary directory for redis-server"),
                guard: None,
            };
            let extra = free_port().to_string();
            let args: Vec<String> = args.iter().map(|a| a.replace("{free}", &extra)).collect();
            match node.spawn(config, &args) {
                Ok(()) => return node,
                Err(e) => last_error = e,
            }
        }
        panic!("could not start redis-server: {last_error}");
    }

    fn spawn(&mut self, config: &str, args: &[String]) -> Result<(), String> {
        let verbose = std::env::var_os("TEST_LOG").is_some();
        let output = || {
            if verbose {
                Stdio::inherit()
            } else {
                Stdio::null()
            }
        };
        let mut server_args: Vec<String> = Vec::new();
        if !config.is_empty() {
            let file = self.dir.path().join("node.conf");
            std::fs::write(&file, config).map_err(|e| format!("write {}: {e}", file.display()))?;
            server_args.push(file.display().to_string());
        }
        server_args.extend(
            [
                "--port".to_owned(),
                self.port.to_string(),
                "--bind".to_owned(),
                "127.0.0.1".to_owned(),
                "--protected-mode".to_owned(),
                "no".to_owned(),
                "--daemonize".to_owned(),
                "no".to_owned(),
                "--dir".to_owned(),
                self.dir.path().display().to_string(),
                "--loglevel".to_owned(),
                if verbose { "notice" } else { "warning" }.to_owned(),
            ]
            .into_iter()
            .chain(args.iter().cloned()),
        );
        // The guard: runs the server, and kills it as soon as its own stdin closes.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("redis-server \"$@\" & pid=$!; read -r _; kill -9 $pid 2>/dev/null; wait $pid")
            .arg("redis-node")
            .args(&server_args)
            .stdin(Stdio::piped())
            .stdout(output())
            .stderr(output())
            .spawn()
            .map_err(|e| format!("cannot run sh: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin for the guard")?;
        self.guard = Some((child, stdin));
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some((child, _)) = self.guard.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "redis-server on port {} exited: {status}",
                        self.port
                    ));
                }
            }
            if self.ping() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "redis-server on port {} did not answer PING within {START_DEADLINE:?}",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous connection to this node (not cluster-aware), with timeouts.
    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        let client = redis::Client::open(self.url())?;
        let c = client.get_connection_with_timeout(Duration::from_secs(1))?;
        c.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(c)
    }

    /// Runs one command on this node.
    pub fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        cmd.query(&mut self.connection()?)
    }

    fn ping(&self) -> bool {
        self.query::<String>(&redis::cmd("PING"))
            .is_ok_and(|p| p == "PONG")
    }

    /// Kills the server (`SIGKILL`) and waits for it. Idempotent.
    pub fn stop(&mut self) {
        if let Some((mut child, stdin)) = self.guard.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `check` every 50 ms until it returns `Some`; panics naming `what` after `within`.
pub(crate) fn poll<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(t) = check() {
            return t;
        }
        if Instant::now() > deadline {
            panic!("timed out after {within:?} waiting until {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value of `field:` in an `INFO` text.
pub(crate) fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}
