//! Redis loses its data (restarted without persistence) under running instances, or is killed
//! in the middle of writes with AOF on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flag_sdk::FlagClient;
use flag_tests::redis::RedisServer;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{instance, wait_until, EXCLUSIVE};

/// Within this long after Redis is back, everything must be restored.
const RECOVERY: Duration = Duration::from_secs(5);

async fn flags_of(
    app: &flag_tests::app::TestApp,
    env: &str,
) -> Option<(u64, BTreeMap<String, Value>)> {
    let res = app.admin_get(&format!("/environments/{env}/flags")).await;
    if res.status() != 200 {
        return None;
    }
    let body: Value = res.json().await.ok()?;
    let flags = body["flags"]
        .as_array()?
        .iter()
        .map(|f| (f["key"].as_str().unwrap_or_default().to_owned(), f.clone()))
        .collect();
    Some((body["version"].as_u64()?, flags))
}

/// Every version a client's watch shows, in order.
fn record_versions(client: &FlagClient) -> Arc<Mutex<Vec<u64>>> {
    let seen = Arc::new(Mutex::new(vec![client.version()]));
    let mut rx = client.subscribe();
    let out = seen.clone();
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let v = *rx.borrow_and_update();
            out.lock().unwrap().push(v);
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_restarted_empty_is_restored_from_memory() {
    let _exclusive = EXCLUSIVE.lock().await;
    let mut redis = RedisServer::start_volatile();
    let a = instance(&redis, "loss").await;
    let b = instance(&redis, "loss").await;
    for (env, key) in [
        ("production", "checkout"),
        ("production", "search"),
        ("development", "beta"),
    ] {
        a.create_flag(env, &json!({"key": key, "enabled": true, "percentage": 25}))
            .await;
    }
    let res = a
        .admin_patch(
            "/environments/production/flags/search",
            &json!({"percentage": 50}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let key_a = a.sdk_key("production").await;
    let key_b = b.sdk_key("production").await;
    let (prod_version, prod_flags) = flags_of(&a, "production").await.unwrap();
    let (dev_version, _) = flags_of(&a, "development").await.unwrap();
    wait_until("B has every change", Duration::from_secs(5), || async {
        flags_of(&b, "production").await.map(|(v, _)| v) == Some(prod_version)
    })
    .await;

    let client_a = FlagClient::builder(a.address.clone(), key_a.clone())
        .metrics(false)
        .build()
        .await
        .unwrap();
    let client_b = FlagClient::builder(b.address.clone(), key_b.clone())
        .metrics(false)
        .build()
        .await
        .unwrap();
    assert_eq!(client_a.version(), prod_version);
    assert_eq!(client_b.version(), prod_version);
    let seen_a = record_versions(&client_a);
    let seen_b = record_versions(&client_b);

    redis.start_empty_again();
    let back = std::time::Instant::now();

    // Both instances, and so the store, have everything back: environments, flags with their
    // versions, both SDK keys.
    for app in [&a, &b] {
        wait_until("the environments are back", RECOVERY, || async {
            flags_of(app, "production").await.map(|(v, _)| v) == Some(prod_version)
                && flags_of(app, "development").await.map(|(v, _)| v) == Some(dev_version)
        })
        .await;
    }
    let restored = back.elapsed();
    assert_eq!(flags_of(&b, "production").await.unwrap().1, prod_flags);
    for key in [&key_a, &key_b] {
        for app in [&a, &b] {
            assert_eq!(app.sdk_flags(key).await.status(), 200);
        }
    }
    // What is in Redis, seen by an instance that starts now with nothing in memory.
    let c = instance(&redis, "loss").await;
    let (v, flags) = flags_of(&c, "production").await.unwrap();
    assert_eq!(v, prod_version);
    assert_eq!(flags, prod_flags);
    assert_eq!(c.sdk_flags(&key_a).await.status(), 200);
    assert_eq!(c.sdk_flags(&key_b).await.status(), 200);
    // The audit log says so.
    let audit: Value = c
        .admin_get("/environments/production/audit")
        .await
        .json()
        .await
        .unwrap();
    // A restore entry (no key, `restored`) is exactly the wire type.
    let page: flag_sdk::wire::AuditPage = flag_tests::wire::round_trip(&audit);
    assert!(page.entries[0].key.is_none() && page.entries[0].restored.is_some());
    let first = &audit["entries"][0];
    assert_eq!(first["action"], "restore", "{audit}");
    assert_eq!(first["version"], prod_version);
    assert_eq!(first["restored"]["flags"], 2);
    assert_eq!(first["restored"]["sdk_keys"], 2);
    // Ready again, and one restore counted between the two instances.
    let mut restores = 0.0;
    for app in [&a, &b] {
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let metrics = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        restores += metrics
            .lines()
            .find_map(|l| l.strip_prefix("flag_store_restores_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .expect("flag_store_restores_total");
    }
    assert!(restores >= 1.0, "no restore counted");

    // A change written after the recovery reaches every client, with the next version.
    let res = b
        .admin(Method::PATCH, "/environments/production/flags/checkout")
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for client in [&client_a, &client_b] {
        wait_until(
            "the change reaches the client",
            Duration::from_secs(5),
            || async { client.version() == prod_version + 1 && !client.is_enabled("checkout") },
        )
        .await;
    }
    for seen in [&seen_a, &seen_b] {
        let seen = seen.lock().unwrap().clone();
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "a client saw a version go backwards: {seen:?}"
        );
    }
    println!("redis restarted empty: everything restored within {restored:?} of its return");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_acknowledged_before_redis_is_killed_survive() {
    let _exclusive = EXCLUSIVE.lock().await;
    let mut redis = RedisServer::start();
    let a = instance(&redis, "burst").await;
    let acked = Arc::new(Mutex::new(Vec::<(String, u64)>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, url, acked, stop) = (
            a.client.clone(),
            a.api("/environments/production/flags"),
            acked.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && i < 5_000 {
                let key = format!("w{w}-{i}");
                i += 1;
                let res = client
                    .post(&url)
                    .bearer_auth(flag_tests::app::ADMIN_TOKEN)
                    .json(&json!({"key": key, "enabled": true}))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let body: Value = r.json().await.unwrap();
                        acked
                            .lock()
                            .unwrap()
                            .push((key, body["version"].as_u64().unwrap()));
                    }
                    Ok(r) => assert!(
                        r.status() == 503,
                        "a write during the outage answered {}",
                        r.status()
                    ),
                    Err(_) => {}
                }
            }
        }));
    }
    wait_until(
        "some writes are acknowledged",
        Duration::from_secs(10),
        || async { acked.lock().unwrap().len() >= 50 },
    )
    .await;
    redis.stop(); // SIGKILL in the middle of the burst
    let at_kill = acked.lock().unwrap().len();
    redis.start_again();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    // Read what Redis has through an instance that starts now.
    let b = instance(&redis, "burst").await;
    let (_, flags) = flags_of(&b, "production").await.unwrap();
    let missing: Vec<_> = acked
        .iter()
        .filter(|(k, _)| !flags.contains_key(k))
        .collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    for (k, v) in &acked {
        assert!(flags[k]["version"].as_u64().unwrap() >= *v);
    }
    println!(
        "redis killed during a burst: {} writes acknowledged ({at_kill} before the kill), all present",
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_started_on_the_emptied_redis_gets_the_state_of_a_running_one() {
    let _exclusive = EXCLUSIVE.lock().await;
    let mut redis = RedisServer::start_volatile();
    let a = instance(&redis, "fresh").await;
    for key in ["one", "two", "three"] {
        a.create_flag("production", &json!({"key": key, "enabled": true}))
            .await;
    }
    let sdk_key = a.sdk_key("production").await;
    let (version, flags) = flags_of(&a, "production").await.unwrap();

    redis.start_empty_again();
    // A new instance starts at once on the empty Redis (it writes the defaults), racing A.
    let c = instance(&redis, "fresh").await;
    let took = wait_until(
        "the new instance serves the running one's flags",
        RECOVERY,
        || async {
            let res = c.sdk_flags(&sdk_key).await;
            if res.status() != 200 {
                return false;
            }
            let body: Value = res.json().await.unwrap();
            body["version"].as_u64() == Some(version)
        },
    )
    .await;
    assert_eq!(flags_of(&c, "production").await.unwrap(), (version, flags));
    println!("an instance started on the emptied Redis had the running one's state after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_went_back_in_time_is_brought_forward() {
    let _exclusive = EXCLUSIVE.lock().await;
    let redis = RedisServer::start();
    let a = instance(&redis, "old").await;
    a.create_flag("production", &json!({"key": "kill", "enabled": true}))
        .await;
    // A backup of production's keys, taken now...
    let mut conn = redis.connection();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("old:{production}:*")
        .query(&mut conn)
        .unwrap();
    let dumps: Vec<(String, Vec<u8>)> = keys
        .iter()
        .map(|k| {
            (
                k.clone(),
                redis::cmd("DUMP").arg(k).query(&mut conn).unwrap(),
            )
        })
        .collect();
    // ...then the kill switch is pulled...
    let res = a
        .admin_patch(
            "/environments/production/flags/kill",
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (version, flags) = flags_of(&a, "production").await.unwrap();
    let key = a.sdk_key("production").await;
    let client = FlagClient::builder(a.address.clone(), key.clone())
        .metrics(false)
        .build()
        .await
        .unwrap();
    let seen = record_versions(&client);
    // ...and an operator restores the old backup (the store's identity is unchanged).
    for (k, dump) in &dumps {
        let _: () = redis::cmd("RESTORE")
            .arg(k)
            .arg(0)
            .arg(dump.as_slice())
            .arg("REPLACE")
            .query(&mut conn)
            .unwrap();
    }
    // The next write (here a create, before any read) notices first and writes the newer
    // state back, then lands on top of it.
    let created = a
        .create_flag("production", &json!({"key": "after", "enabled": true}))
        .await;
    assert_eq!(created["version"], version + 1);
    let (now, now_flags) = flags_of(&a, "production").await.unwrap();
    assert_eq!(now, version + 1);
    assert_eq!(
        now_flags["kill"], flags["kill"],
        "the pulled kill switch came back"
    );
    let c = instance(&redis, "old").await;
    assert_eq!(flags_of(&c, "production").await.unwrap(), (now, now_flags));
    // Writes go on from there, and reach the client.
    let res = a
        .admin_patch(
            "/environments/production/flags/kill",
            &json!({"enabled": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    wait_until(
        "the change reaches the client",
        Duration::from_secs(5),
        || async { client.version() == version + 2 && client.is_enabled("kill") },
    )
    .await;
    let seen = seen.lock().unwrap().clone();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
}
