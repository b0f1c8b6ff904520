//! An SDK client with default settings is live again, at the latest version, within 5 s of
//! its server's return after a short outage, also when it started on its backup file during
//! the outage; a refused key is a state the client recovers from, not the end.

use std::time::Duration;

use flag_sdk::{ClientStatus, FlagClient};
use flag_tests::process::{ProcessStore, ServerProcess};
use flag_tests::redis::RedisServer;
use tokio::time::Instant;

use flag_tests::app::ADMIN_TOKEN;

use crate::support::{two_instances, wait_until, Admin, TwoInstances, EXCLUSIVE, SERVER_BIN};

/// The recovery deadline after the server's return (a functional requirement).
const RECOVERY: Duration = Duration::from_secs(5);

fn client(url: String, key: &str) -> flag_sdk::FlagClientBuilder {
    // Default reconnection settings: only the metrics are off.
    FlagClient::builder(url, key).metrics(false)
}

fn caught_up(client: &FlagClient, version: u64) -> bool {
    client.status() == ClientStatus::Live && client.version() >= version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_second_outage_change_via_other_instance() {
    let _exclusive = EXCLUSIVE.lock().await;
    let TwoInstances {
        redis: _redis,
        a: _a,
        mut b,
        admin,
        key,
    } = two_instances(RECOVERY).await;
    let flags = client(b.url(), &key).build().await.unwrap();
    assert_eq!(flags.status(), ClientStatus::Live);
    assert!(!flags.is_enabled("new_checkout"));
    // Connected for a moment, as in production (not only just connected).
    tokio::time::sleep(Duration::from_millis(500)).await;

    b.kill();
    let killed = Instant::now();
    wait_until("the client sees the outage", RECOVERY, || {
        let s = flags.status();
        async move { s == ClientStatus::Stale }
    })
    .await;
    tokio::time::sleep_until(killed + Duration::from_millis(500)).await;
    let v = admin.set_enabled("new_checkout", true).await;
    assert!(!flags.is_enabled("new_checkout"), "B is down: nothing yet");
    tokio::time::sleep_until(killed + Duration::from_secs(2)).await;

    let restarting = Instant::now();
    b.start_again().await;
    let back = Instant::now();
    let took = wait_until(
        "the client has the change made during the outage",
        RECOVERY,
        || {
            let done = caught_up(&flags, v) && flags.is_enabled("new_checkout");
            async move { done }
        },
    )
    .await;
    println!(
        "two_second_outage: outage {:?} (B answering {:?} after the restart began); client caught up {:?} after B answered",
        back - killed,
        back - restarting,
        took
    );
    flags.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_file_start_while_server_down() {
    let _exclusive = EXCLUSIVE.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("flags.json");
    let mut server =
        ServerProcess::start(SERVER_BIN, ProcessStore::Dir(dir.path().join("data"))).await;
    let admin = Admin::new(&server.url(), ADMIN_TOKEN);
    admin.create("new_checkout", true).await;
    let v1 = admin.create("other", false).await;
    let (_, key) = admin.sdk_key().await;

    // An earlier run of the application leaves a backup file at v1.
    let earlier = client(server.url(), &key)
        .backup_file(&backup)
        .build()
        .await
        .unwrap();
    assert_eq!(earlier.status(), ClientStatus::Live);
    wait_until("the backup file holds v1", RECOVERY, || {
        let ok = std::fs::read(&backup)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|doc| doc["version"] == v1);
        async move { ok }
    })
    .await;
    earlier.close().await;
    drop(earlier);
    // A change the backup does not have, then the server goes down.
    let v2 = admin.set_enabled("other", true).await;
    server.kill();

    // The application starts during the outage.
    let init_timeout = Duration::from_millis(500);
    let started = Instant::now();
    let flags = client(server.url(), &key)
        .backup_file(&backup)
        .init_timeout(init_timeout)
        .build()
        .await
        .unwrap();
    let build_took = started.elapsed();
    assert!(
        build_took < init_timeout + Duration::from_secs(1),
        "build() returns after init_timeout ({build_took:?})"
    );
    assert_eq!(flags.status(), ClientStatus::Stale);
    assert!(!flags.is_initialized());
    assert_eq!(flags.version(), v1);
    assert!(flags.is_enabled("new_checkout"), "flags from the backup");
    assert!(!flags.is_enabled("other"));

    // The outage goes on for a while: the client is deep in its backoff.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(flags.status(), ClientStatus::Stale);
    server.start_again().await;
    let took = wait_until("the client catches up with v2", RECOVERY, || {
        let done = caught_up(&flags, v2) && flags.is_enabled("other");
        async move { done }
    })
    .await;
    assert!(flags.is_initialized());
    println!(
        "backup_file_start: build() returned after {build_took:?} on the backup; caught up {took:?} after the server answered (outage since start {:?})",
        started.elapsed() - took
    );
    flags.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_key_keeps_flags_and_recovers() {
    let _exclusive = EXCLUSIVE.lock().await;
    let redis = RedisServer::start();
    let mut server =
        ServerProcess::start(SERVER_BIN, ProcessStore::redis(redis.url(), "flags")).await;
    let admin = Admin::new(&server.url(), ADMIN_TOKEN);
    let v = admin.create("new_checkout", true).await;
    let (_, key) = admin.sdk_key().await;
    let retry = Duration::from_millis(300);
    let flags = client(server.url(), &key)
        .refused_retry(retry)
        .build()
        .await
        .unwrap();
    assert_eq!(flags.status(), ClientStatus::Live);
    assert!(flags.is_enabled("new_checkout"));
    let mut statuses = flags.status_changes();

    // The server comes back misconfigured: another Redis prefix, where the key is unknown.
    server
        .start_again_with(ProcessStore::redis(redis.url(), "elsewhere"))
        .await;
    let refused_after = wait_until("the client reports the refusal", RECOVERY, || {
        let s = flags.status();
        async move { s == ClientStatus::Refused }
    })
    .await;
    // It stays refused while the server refuses, and keeps its flags.
    let until = Instant::now() + retry * 5;
    while Instant::now() < until {
        assert_eq!(flags.status(), ClientStatus::Refused);
        assert!(flags.is_enabled("new_checkout"), "the last flags stay");
        assert_eq!(flags.version(), v);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // An operator fixes the configuration: the client was never given up.
    server
        .start_again_with(ProcessStore::redis(redis.url(), "flags"))
        .await;
    let fixed = Instant::now();
    tokio::time::timeout(RECOVERY, statuses.wait_for(|s| *s == ClientStatus::Live))
        .await
        .expect("live again after the fix")
        .unwrap();
    let live_after = fixed.elapsed();
    // And it follows changes again.
    let v2 = admin.set_enabled("new_checkout", false).await;
    wait_until("the client follows changes again", RECOVERY, || {
        let done = flags.version() >= v2 && !flags.is_enabled("new_checkout");
        async move { done }
    })
    .await;
    println!(
        "refused_key: Refused {refused_after:?} after the misconfigured restart; Live {live_after:?} after the fix (refused_retry {retry:?})"
    );
    flags.close().await;
}

/// A server (or proxy) that accepts the stream and cuts it at once must not get a tight
/// reconnection loop: a successful connect alone does not reset the backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_at_once_gets_no_tight_reconnection_loop() {
    let _exclusive = EXCLUSIVE.lock().await;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let streams = Arc::new(AtomicUsize::new(0));
    let counted = streams.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if head.starts_with(b"GET /api/v1/sdk/stream") {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                // Accepted, then cut before any event.
                let _ = conn
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = conn.shutdown().await;
            });
        }
    });

    let flags = client(url, "sdk-key")
        .init_timeout(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let watch = Duration::from_secs(4);
    tokio::time::sleep(watch).await;
    let n = streams.load(Ordering::SeqCst);
    println!("cut_at_once: {n} stream connections in {watch:?}");
    assert_eq!(flags.status(), ClientStatus::Connecting);
    // Default backoff (ceilings 0.5, 1, 2, 4 s, full jitter): a handful of attempts, where
    // resetting on connect would make one every 250 ms on average (16 in 4 s).
    assert!(n >= 2, "the client keeps trying ({n})");
    assert!(n <= 10, "no tight reconnection loop ({n} in {watch:?})");
    flags.close().await;
    server.abort();
}
