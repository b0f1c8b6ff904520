//! The SDK client against real servers: it keeps evaluating while the server is down, starts
//! from its backup file, and catches up when the server returns.

use std::time::{Duration, Instant};

use flag_sdk::{ClientStatus, Context, FlagClient, ReasonKind};
use serde_json::json;

use std::sync::atomic::Ordering;

use crate::helpers::{socket_addr, wait_until, Proxy};
use crate::Server;

const T: Duration = Duration::from_secs(5);

fn builder(url: String, key: &str) -> flag_sdk::FlagClientBuilder {
    FlagClient::builder(url, key)
        .backoff(Duration::from_millis(20), Duration::from_millis(300))
        .metrics(false)
}

#[tokio::test]
async fn the_client_follows_changes_and_notifies_them() {
    let server = Server::embedded().await;
    let admin = server.admin();
    admin.create("new_checkout", false).await;
    let (_, key) = admin.sdk_key().await;
    let client = builder(server.url(), &key).build().await.unwrap();
    assert!(client.is_initialized());
    assert!(!client.is_enabled("new_checkout"));
    assert_eq!(
        client.evaluate("missing", &Context::new()).reason.kind,
        ReasonKind::NotFound
    );

    let mut changes = client.subscribe();
    let v = admin.patch("new_checkout", json!({"enabled": true})).await;
    tokio::time::timeout(T, changes.wait_for(|seen| *seen >= v))
        .await
        .unwrap()
        .unwrap();
    assert!(client.is_enabled("new_checkout"));

    admin.delete("new_checkout").await;
    tokio::time::timeout(T, changes.wait_for(|seen| *seen > v))
        .await
        .unwrap()
        .unwrap();
    assert!(!client.is_enabled("new_checkout"));
    assert_eq!(
        client.evaluate("new_checkout", &Context::new()).reason.kind,
        ReasonKind::NotFound
    );
    client.close().await;
}

#[tokio::test]
async fn a_refused_key_does_not_fail_build_and_is_retried_until_accepted() {
    // The server that issued the key, and a misconfigured one (other data) that refuses it.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded_in(dir.path()).await;
    let admin = server.admin();
    admin.create("new_checkout", true).await;
    let (_, key) = admin.sdk_key().await;
    let stranger = Server::embedded().await;
    let proxy = Proxy::start(Some(socket_addr(&stranger.url()))).await;

    let started = Instant::now();
    let client = builder(proxy.url(), &key)
        .refused_retry(Duration::from_millis(200))
        .init_timeout(Duration::from_secs(10))
        .build()
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "401 ends the wait at once"
    );
    assert!(!client.is_initialized());
    assert!(!client.is_enabled("new_checkout"));
    assert_eq!(client.status(), ClientStatus::Refused);
    // Retried, and refused again: the status stays, evaluation goes on (everything off).
    let until = Instant::now() + Duration::from_millis(600);
    while Instant::now() < until {
        assert_eq!(client.status(), ClientStatus::Refused);
        assert!(!client.is_enabled("new_checkout"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The misconfigured server is replaced by one that accepts the key: the client
    // follows it, by itself.
    proxy.set_target(Some(socket_addr(&server.url())));
    stranger.stop().await;
    wait_until("the client is live", T, || {
        let done = client.status() == ClientStatus::Live && client.is_enabled("new_checkout");
        async move { done }
    })
    .await;
    assert!(client.is_initialized());
    client.close().await;
}

#[tokio::test]
async fn the_client_keeps_evaluating_while_the_server_is_down_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::embedded_in(dir.path()).await;
    let admin = server.admin();
    admin.create("new_checkout", true).await;
    let (_, key) = admin.sdk_key().await;
    let proxy = Proxy::start(Some(socket_addr(&server.url()))).await;
    let client = builder(proxy.url(), &key).build().await.unwrap();
    assert!(client.is_enabled("new_checkout"));

    proxy.set_target(None);
    server.stop().await;
    // The stream is gone and reconnections are refused: evaluation goes on, unchanged.
    let until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < until {
        assert!(client.is_enabled("new_checkout"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A server on the same data comes back; a change made meanwhile reaches the client.
    let server = Server::embedded_in(dir.path()).await;
    let v = server
        .admin()
        .patch("new_checkout", json!({"enabled": false}))
        .await;
    proxy.set_target(Some(socket_addr(&server.url())));
    wait_until("the client catches up", T, || {
        let done = client.version() == v && !client.is_enabled("new_checkout");
        async move { done }
    })
    .await;
    client.close().await;
}

#[tokio::test]
async fn the_client_starts_from_its_backup_file_when_the_server_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("cache").join("flags.json");
    std::fs::create_dir_all(backup.parent().unwrap()).unwrap();
    let data = dir.path().join("data");
    let server = Server::embedded_in(&data).await;
    let admin = server.admin();
    admin.create("new_checkout", true).await;
    let v = admin.create("other", false).await;
    let (_, key) = admin.sdk_key().await;
    let proxy = Proxy::start(Some(socket_addr(&server.url()))).await;

    let client = builder(proxy.url(), &key)
        .backup_file(&backup)
        .build()
        .await
        .unwrap();
    wait_until("the backup file holds the current flags", T, || {
        let ok = std::fs::read(&backup)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|doc| doc["version"] == v);
        async move { ok }
    })
    .await;
    client.close().await;
    drop(client);
    proxy.set_target(None);
    server.stop().await;

    // The application restarts during the outage.
    let init_timeout = Duration::from_millis(500);
    let started = Instant::now();
    let client = builder(proxy.url(), &key)
        .backup_file(&backup)
        .init_timeout(init_timeout)
        .build()
        .await
        .unwrap();
    assert!(
        started.elapsed() < init_timeout + Duration::from_millis(500),
        "build() returns after init_timeout"
    );
    assert!(!client.is_initialized());
    assert_eq!(client.version(), v);
    assert!(
        client.is_enabled("new_checkout"),
        "flags come from the backup file"
    );
    assert!(!client.is_enabled("other"));

    // The server returns, with a change made while the client was away.
    let server = Server::embedded_in(&data).await;
    let v2 = server
        .admin()
        .patch("other", json!({"enabled": true}))
        .await;
    proxy.set_target(Some(socket_addr(&server.url())));
    wait_until("the client catches up with the server", T, || {
        let done = client.is_initialized() && client.version() == v2 && client.is_enabled("other");
        async move { done }
    })
    .await;
    assert!(client.is_enabled("new_checkout"));
    client.close().await;
}

#[tokio::test]
async fn without_server_or_backup_everything_is_off() {
    let proxy = Proxy::start(None).await;
    let started = Instant::now();
    let client = builder(proxy.url(), "sdk-key")
        .init_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(!client.is_enabled("new_checkout"));
    assert_eq!(client.version(), 0);
    client.close().await;
}

#[tokio::test]
async fn when_streaming_is_impossible_the_client_polls_with_if_none_match() {
    let server = Server::embedded().await;
    let admin = server.admin();
    admin.create("new_checkout", false).await;
    let (_, key) = admin.sdk_key().await;
    let (proxy, counts) = Proxy::start_refusing_streams(socket_addr(&server.url())).await;
    let client = FlagClient::builder(proxy.url(), key.as_str())
        .backoff(Duration::from_millis(10), Duration::from_secs(30))
        .poll_interval(Duration::from_millis(100))
        .metrics(false)
        .init_timeout(T)
        .build()
        .await
        .unwrap();
    assert!(
        client.is_initialized(),
        "the first poll initialises the client"
    );
    assert!(!client.is_enabled("new_checkout"));

    let v = admin.patch("new_checkout", json!({"enabled": true})).await;
    wait_until("a poll brings the change", T, || {
        let done = client.version() == v && client.is_enabled("new_checkout");
        async move { done }
    })
    .await;
    wait_until("unchanged flags are answered 304", T, || {
        let n = counts.not_modified.load(Ordering::SeqCst);
        async move { n >= 2 }
    })
    .await;
    assert!(client.is_enabled("new_checkout"));
    client.close().await;
}

#[tokio::test]
async fn evaluation_counts_reach_the_server_and_close_sends_the_last_ones() {
    let server = Server::embedded().await;
    let admin = server.admin();
    admin.create("on", true).await;
    admin.create("off", false).await;
    let (_, key) = admin.sdk_key().await;
    let client = FlagClient::builder(server.url(), key.as_str())
        .metrics_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let ctx = Context::new().user_id("7");
    for _ in 0..3 {
        assert!(client.is_enabled("on"));
        assert!(!client.is_enabled_for("off", &ctx));
    }
    assert!(!client.is_enabled("ghost"));
    let usage = |key: &'static str| {
        let admin = admin.clone();
        async move {
            let resp = admin
                .http
                .get(format!(
                    "{}/api/v1/environments/production/flags/{key}",
                    admin.base
                ))
                .bearer_auth(&admin.token)
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = resp.json().await.unwrap();
            (
                body["usage"]["yes"].as_u64().unwrap_or(0),
                body["usage"]["no"].as_u64().unwrap_or(0),
            )
        }
    };
    wait_until("the counts are reported", T, || async {
        usage("on").await == (3, 0) && usage("off").await == (0, 3)
    })
    .await;

    // Counts made just before close() are sent by close().
    assert!(client.evaluate("on", &ctx).enabled);
    client.close().await;
    assert_eq!(usage("on").await, (4, 0));
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_stream() {
    let server = Server::embedded().await;
    let (_, key) = server.admin().sdk_key().await;
    let proxy = Proxy::start(Some(socket_addr(&server.url()))).await;
    let client = builder(proxy.url(), &key).build().await.unwrap();
    let clone = client.clone();
    wait_until("the stream is open", T, || {
        let n = proxy.open.load(Ordering::SeqCst);
        async move { n == 1 }
    })
    .await;
    drop(client);
    assert!(!clone.is_enabled("x"), "a clone keeps working");
    assert_eq!(
        proxy.open.load(Ordering::SeqCst),
        1,
        "a clone keeps the stream"
    );
    drop(clone);
    wait_until("the stream is closed", T, || {
        let n = proxy.open.load(Ordering::SeqCst);
        async move { n == 0 }
    })
    .await;
}
