//! Start, stop and restart a real `redis-server` on a free port, in its own temporary
//! directory, with `appendonly yes` and `appendfsync always`, so that data written before a
//! [`RedisServer::stop`] (a `SIGKILL`) is there again after [`RedisServer::start_again`].
//! [`RedisServer::start_volatile`] starts one that keeps nothing (`--save "" --appendonly no`,
//! as many managed and container Redis instances run), and
//! [`RedisServer::start_empty_again`] restarts any of them with its data gone.
//!
//! The server's output is shown only when `TEST_LOG` is set.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long [`RedisServer::start`] waits for `PING` to answer.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// A running (or stopped) `redis-server` owned by a test; killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    durable: bool,
}

impl RedisServer {
    /// Starts `redis-server` (from `PATH`) on a free port bound to 127.0.0.1 and waits until it
    /// answers `PING`. Panics with instructions when the binary is missing.
    pub fn start() -> RedisServer {
        Self::start_with(true)
    }

    /// Starts a `redis-server` that persists nothing: a restart loses everything.
    pub fn start_volatile() -> RedisServer {
        Self::start_with(false)
    }

    fn start_with(durable: bool) -> RedisServer {
        let dir = tempfile::tempdir().expect("create a temporary directory for redis-server");
        let mut last_error = String::new();
        // A free port can be taken between choosing it and binding it: try a few.
        for _ in 0..5 {
            let port = free_port();
            let mut child = match spawn(port, dir.path(), durable) {
                Ok(child) => child,
                Err(e) => {
                    last_error = e;
                    continue;
                }
            };
            match wait_ready(port, &mut child) {
                Ok(()) => {
                    return RedisServer {
                        port,
                        dir,
                        child: Some(child),
                        durable,
                    }
                }
                Err(e) => {
                    last_error = e;
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        panic!("could not start redis-server: {last_error}");
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (`SIGKILL`, like a crash) and waits for it to exit. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (so with the same data) and
    /// waits until it answers `PING`.
    pub fn start_again(&mut self) {
        self.stop();
        let mut child =
            spawn(self.port, self.dir.path(), self.durable).unwrap_or_else(|e| panic!("{e}"));
        let ready = wait_ready(self.port, &mut child);
        self.child = Some(child);
        if let Err(e) = ready {
            panic!("redis-server did not come back on port {}: {e}", self.port);
        }
    }
}

/// Waits until `PING` answers `+PONG`, or the process exits, or the deadline passes.
fn wait_ready(port: u16, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("redis-server on port {port} exited: {status}"));
        }
        if ping(port) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "redis-server on port {port} did not answer PING within {START_DEADLINE:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl RedisServer {
    /// Kills the server and starts it again on the same port with no data at all (its files
    /// removed), as a Redis without persistence comes back after a restart.
    pub fn start_empty_again(&mut self) {
        self.stop();
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
        self.start_again();
    }

    /// A synchronous connection to this server, for tests that look inside.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("connect to the test redis-server")
    }

    /// Commands Redis has processed since it started (`INFO stats`), its own `INFO` included.
    pub fn commands_processed(&self) -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query(&mut self.connection())
            .expect("INFO stats");
        info.lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("total_commands_processed in INFO stats")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    listener
        .local_addr()
        .expect("local address of a bound socket")
        .port()
}

fn spawn(port: u16, dir: &Path, durable: bool) -> Result<Child, String> {
    let verbose = std::env::var_os("TEST_LOG").is_some();
    let output = || {
        if verbose {
            Stdio::inherit()
        } else {
            Stdio::null()
        }
    };
    Command::new("redis-server")
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--protected-mode", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .args(if durable {
            ["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            ["--appendonly", "no", "--appendfsync", "everysec"]
        })
        .args(["--save", ""])
        .args(["--loglevel", if verbose { "notice" } else { "warning" }])
        .stdin(Stdio::null())
        .stdout(output())
        .stderr(output())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                panic!("redis-server is not on PATH: install it (`apt-get install redis-server`) to run these tests");
            }
            format!("cannot run redis-server: {e}")
        })
}

/// One `PING` over a fresh connection.
fn ping(port: u16) -> bool {
    let Ok(mut s) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
