//! Redis outage and recovery: SDK reads keep working from memory, writes answer 503 and
//! change nothing, /readyz is 503; when Redis returns the server recovers by itself.

use std::time::Duration;

use flag_tests::app::{StoreChoice, TestApp};
use flag_tests::redis::RedisServer;
use reqwest::Method;
use serde_json::json;

use crate::support::{eventually, flag, json_of, problem};

#[tokio::test]
async fn reads_survive_a_redis_outage_and_writes_resume_after_it() {
    let mut redis = RedisServer::start();
    let choice = StoreChoice::Redis {
        url: redis.url(),
        prefix: "outage".into(),
    };
    let a = TestApp::spawn(choice.clone()).await;
    a.create_flag("production", &flag("steady")).await;
    let key = a.sdk_key("production").await;

    redis.stop();
    // SDK reads: from memory.
    let snap = json_of(a.sdk_flags(&key).await, 200).await;
    assert_eq!(snap["flags"][0]["key"], "steady");
    let res = a
        .request(Method::POST, "/sdk/evaluate", &key)
        .json(&json!({"context": {"user_id": "1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(res, 200).await["results"]["steady"]["enabled"],
        true
    );
    // Writes: 503 problem+json.
    let body = problem(
        a.admin_post("/environments/production/flags", &flag("lost"))
            .await,
        503,
    )
    .await;
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("nothing was changed"));
    problem(
        a.admin_patch(
            "/environments/production/flags/steady",
            &json!({"enabled": false}),
        )
        .await,
        503,
    )
    .await;
    // Readiness: 503.
    problem(a.client.get(a.url("/readyz")).send().await.unwrap(), 503).await;
    // Still serving the old snapshot.
    assert_eq!(json_of(a.sdk_flags(&key).await, 200).await["version"], 1);

    redis.start_again();
    // Recovers without a restart.
    let ready = eventually(Duration::from_secs(10), || async {
        a.client
            .get(a.url("/readyz"))
            .send()
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false)
    })
    .await;
    assert!(ready, "readyz recovers");
    // Another instance writes; the first picks it up through its follower.
    let b = TestApp::spawn(choice).await;
    b.create_flag("production", &flag("written_by_b")).await;
    let seen = eventually(Duration::from_secs(5), || async {
        let snap: serde_json::Value = a.sdk_flags(&key).await.json().await.unwrap_or_default();
        snap["version"] == 2
    })
    .await;
    assert!(
        seen,
        "the first instance follows changes again after the outage"
    );
    // And it writes again.
    let created = a.create_flag("production", &flag("after_outage")).await;
    assert_eq!(created["version"], 3);
    // The write that failed during the outage left nothing behind.
    problem(
        a.admin_get("/environments/production/flags/lost").await,
        404,
    )
    .await;
}
