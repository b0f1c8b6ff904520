//! Segments come back when Redis loses its data under a running instance.

use std::time::Duration;

use flag_tests::redis::RedisServer;
use serde_json::{json, Value};

use crate::support::{instance, wait_until, EXCLUSIVE};

async fn segments_of(app: &flag_tests::app::TestApp) -> Option<(u64, Value)> {
    let res = app.admin_get("/environments/production/segments").await;
    if res.status() != 200 {
        return None;
    }
    let body: Value = res.json().await.ok()?;
    Some((body["version"].as_u64()?, body["segments"].clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn segments_are_restored_after_redis_lost_its_data() {
    let _exclusive = EXCLUSIVE.lock().await;
    let mut redis = RedisServer::start_volatile();
    let a = instance(&redis, "segloss").await;
    let res = a
        .admin_put(
            "/environments/production/segments/beta",
            &json!({"key": "beta", "included": ["u1"]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    a.create_flag(
        "production",
        &json!({"key": "f", "enabled": true, "rules": [{"id": "r", "percentage": 100,
            "conditions": [{"attribute": "user_id", "operator": "in_segment", "values": ["beta"]}]}]}),
    )
    .await;
    let before = segments_of(&a).await.unwrap();

    redis.start_empty_again();
    wait_until("the segments are back", Duration::from_secs(5), || async {
        segments_of(&a).await.as_ref() == Some(&before)
    })
    .await;
    // In Redis, as an instance starting now with nothing in memory sees it.
    let c = instance(&redis, "segloss").await;
    assert_eq!(segments_of(&c).await.unwrap(), before);
    let audit: Value = c
        .admin_get("/environments/production/audit?limit=1")
        .await
        .json()
        .await
        .unwrap();
    let first = &audit["entries"][0];
    assert_eq!(first["action"], "restore", "{audit}");
    assert_eq!(first["restored"]["segments"], 1, "{audit}");
    assert_eq!(first["restored"]["flags"], 1);
}
