//! An SDK key issued through one instance works at once on every other, and a flood of bad
//! keys cannot hammer the store.

use std::time::Duration;

use flag_sdk::FlagClient;
use flag_tests::redis::RedisServer;

use crate::support::{instance, EXCLUSIVE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_issued_on_one_instance_is_accepted_at_once_on_another() {
    let _exclusive = EXCLUSIVE.lock().await;
    let redis = RedisServer::start();
    let a = instance(&redis, "keys").await;
    let b = instance(&redis, "keys").await;
    for round in 0..20 {
        let key = a.sdk_key("production").await;
        let res = b.sdk_flags(&key).await;
        assert_eq!(
            res.status(),
            200,
            "round {round}: the new key was refused on B"
        );
    }
    // The way a deployment does it: issue a key, start the application at once on B.
    let key = a.sdk_key("production").await;
    let client = FlagClient::builder(b.address.clone(), key)
        .metrics(false)
        .init_timeout(Duration::from_secs(5))
        .build()
        .await
        .unwrap();
    assert!(client.is_initialized());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_keys_costs_the_store_little() {
    let _exclusive = EXCLUSIVE.lock().await;
    let redis = RedisServer::start();
    let a = instance(&redis, "flood").await;
    let before = redis.commands_processed();
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..500 {
        let (client, url) = (a.client.clone(), a.api("/sdk/flags"));
        tasks.push(tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(format!("bad-key-{}", i % 50))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 401);
    }
    let elapsed = start.elapsed();
    let spent = redis.commands_processed() - before;
    // At most one read of the keys per 100 ms, plus the follower's own few commands a second
    // and the two INFO commands.
    let allowed = 10 + 15 * (elapsed.as_secs() + 1);
    assert!(
        spent <= allowed,
        "500 requests with unknown keys cost Redis {spent} commands in {elapsed:?} (allowed {allowed})"
    );
    println!("500 unknown-key requests in {elapsed:?}: {spent} Redis commands");
}
