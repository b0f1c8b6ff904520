//! `rediss://`: the Redis store over TLS, against a real `redis-server` listening only on a TLS
//! port, with a certificate authority made for the test (`openssl`). The server trusts that
//! authority through `SSL_CERT_FILE`, as an operator with a private CA would; without it the
//! server refuses the connection at start and says why.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use flag_tests::process::{ProcessStore, ServerProcess};
use flag_tests::redis::free_port;

use crate::support::{wait_until, Admin, SERVER_BIN};

/// Kills the TLS redis-server when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl (Debian's openssl package)");
    assert!(status.success(), "openssl {args:?}: {status}");
}

/// A CA (`ca.pem`) and a certificate for 127.0.0.1 signed by it (`server.pem`, `server.key`).
fn certificates(dir: &Path) {
    let subj = |cn: &str| format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            &subj("flag-test-ca"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            &subj("127.0.0.1"),
        ],
    );
    std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\n").expect("write ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_works_over_tls_with_a_trusted_ca_only() {
    let dir = tempfile::tempdir().expect("temporary directory");
    certificates(dir.path());
    let port = free_port();
    let redis = Killed(
        Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--tls-cert-file",
                "server.pem",
                "--tls-key-file",
                "server.key",
            ])
            .args(["--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run redis-server"),
    );
    wait_until(
        "the TLS port accepts connections",
        Duration::from_secs(10),
        || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;
    let url = format!("rediss://127.0.0.1:{port}/");
    let ca = dir.path().join("ca.pem");

    let server = ServerProcess::start_with_env(
        SERVER_BIN,
        ProcessStore::redis(&url, flag_tests::unique_prefix()),
        &[("SSL_CERT_FILE", ca.to_str().expect("UTF-8 path"))],
    )
    .await;
    let ready: serde_json::Value = reqwest::get(format!("{}/readyz", server.url()))
        .await
        .expect("readyz")
        .json()
        .await
        .expect("JSON");
    assert_eq!(ready["store"], "redis", "{ready}");
    let admin = Admin::new(&server.url(), flag_tests::app::ADMIN_TOKEN);
    admin.create("over_tls", true).await;
    let flag: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/environments/production/flags/over_tls",
            server.url()
        ))
        .bearer_auth(flag_tests::app::ADMIN_TOKEN)
        .send()
        .await
        .expect("GET flag")
        .json()
        .await
        .expect("JSON");
    assert_eq!(flag["enabled"], true, "{flag}");
    drop(server);

    // Without the CA, the certificate is not trusted: the server stops at start and says why.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(SERVER_BIN)
            .env_remove("SSL_CERT_FILE")
            .env("FLAG_REDIS_URL", &url)
            .env("FLAG_LISTEN", "127.0.0.1:0")
            .env("FLAG_ADMIN_TOKEN", "unused")
            .output()
            .expect("run the server")
    })
    .await
    .expect("join");
    assert!(!out.status.success(), "started without trusting the CA");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
    drop(redis);
}
