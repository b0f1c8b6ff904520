//! Several server instances on one Redis: fan-out between instances, and Redis restarts
//! under live streams.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flag_sdk::FlagClient;
use flag_tests::redis::RedisServer;
use serde_json::json;

use crate::helpers::{wait_until, Sse};
use crate::Server;

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_write_through_one_instance_reaches_clients_of_another() {
    let redis = RedisServer::start();
    let a = Server::on_redis(&redis).await;
    let b = Server::on_redis(&redis).await;
    let admin_a = a.admin();
    admin_a.create("new_checkout", false).await;
    let (_, key) = admin_a.sdk_key().await;

    // The key issued through A is known to B within its refresh.
    let b_url = b.url();
    wait_until("B accepts the SDK key issued through A", T, || {
        let (url, key) = (b_url.clone(), key.clone());
        async move {
            Sse::request(&url, "/api/v1/sdk/flags", &key, None)
                .await
                .status()
                .as_u16()
                == 200
        }
    })
    .await;

    let client = FlagClient::builder(b.url(), key.clone())
        .metrics(false)
        .build()
        .await
        .unwrap();
    assert!(client.is_initialized());
    let mut raw = Sse::sdk(&b.url(), &key, None).await;
    let snap = raw.next_event(T).await;

    let v = admin_a
        .patch("new_checkout", json!({"enabled": true}))
        .await;
    wait_until(
        "the SDK client on B sees the change made through A",
        T,
        || {
            let on = client.is_enabled("new_checkout");
            async move { on }
        },
    )
    .await;
    assert_eq!(client.version(), v);
    let put = raw.next_event(T).await;
    assert_eq!((put.event.as_str(), put.version()), ("put", v));
    assert_eq!(put.version(), snap.version() + 1);
    client.close().await;
}

#[tokio::test]
async fn streams_survive_a_redis_restart() {
    let mut redis = RedisServer::start();
    let a = Server::on_redis(&redis).await;
    let b = Server::on_redis(&redis).await;
    let admin_a = a.admin();
    admin_a.create("flag", false).await;
    let (_, key) = admin_a.sdk_key().await;
    let b_url = b.url();
    wait_until("B accepts the SDK key", T, || {
        let (url, key) = (b_url.clone(), key.clone());
        async move {
            Sse::request(&url, "/api/v1/sdk/flags", &key, None)
                .await
                .status()
                .as_u16()
                == 200
        }
    })
    .await;
    let client = FlagClient::builder(b.url(), key.clone())
        .metrics(false)
        .build()
        .await
        .unwrap();
    assert!(client.is_initialized());

    redis.stop();
    assert!(
        !client.is_enabled("flag"),
        "evaluation goes on while Redis is down"
    );
    redis.start_again();

    // Writes succeed again once the store reconnects.
    let version = Arc::new(AtomicU64::new(0));
    wait_until(
        "a write through A succeeds after the restart",
        Duration::from_secs(15),
        || {
            let admin = admin_a.clone();
            let version = version.clone();
            async move {
                let (status, body) = admin.try_patch("flag", json!({"enabled": true})).await;
                if status == 200 {
                    version.store(body["version"].as_u64().unwrap(), Ordering::SeqCst);
                }
                status == 200
            }
        },
    )
    .await;
    let version = version.load(Ordering::SeqCst);
    wait_until(
        "the client on B sees the change made after the restart",
        Duration::from_secs(10),
        || {
            let seen = client.is_enabled("flag") && client.version() >= version;
            async move { seen }
        },
    )
    .await;
    client.close().await;
}
