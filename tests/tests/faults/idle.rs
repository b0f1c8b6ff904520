//! Idle instances cost Redis a few commands a second, whatever the number of environments.

use std::time::Duration;

use flag_tests::redis::RedisServer;

use crate::support::{instance, wait_until, EXCLUSIVE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_idle_instances_with_many_environments_send_few_commands() {
    let _exclusive = EXCLUSIVE.lock().await;
    const ENVIRONMENTS: usize = 1000;
    let redis = RedisServer::start_volatile();
    let a = instance(&redis, "idle").await;
    let b = instance(&redis, "idle").await;
    for i in 0..ENVIRONMENTS {
        let res = a
            .admin(reqwest::Method::PUT, &format!("/environments/env-{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    // B learns of them from events.
    wait_until(
        "B knows every environment",
        Duration::from_secs(30),
        || async {
            let res = b.admin_get("/environments").await;
            let body: serde_json::Value = res.json().await.unwrap();
            body["environments"].as_array().map(Vec::len) == Some(ENVIRONMENTS + 2)
        },
    )
    .await;
    // Let the creation settle, then count what two idle instances send.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let window = Duration::from_secs(4);
    let before = redis.commands_processed();
    tokio::time::sleep(window).await;
    let spent = redis.commands_processed() - before;
    let per_second = spent as f64 / window.as_secs_f64();
    println!("two idle instances, {ENVIRONMENTS} environments: {per_second:.1} Redis commands/s");
    assert!(
        per_second < 50.0,
        "{per_second:.1} commands/s with nothing changing (goal: under 50)"
    );
}
