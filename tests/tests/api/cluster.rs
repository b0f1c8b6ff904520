//! Two server instances on one Redis converge: what is written through one is served by the
//! other within about a second; environments and SDK keys too.

use std::time::Duration;

use flag_tests::app::{StoreChoice, TestApp};
use flag_tests::redis::RedisServer;
use reqwest::Method;
use serde_json::json;

use crate::support::{eventually, flag, json_of};

const WITHIN: Duration = Duration::from_secs(1);

#[tokio::test]
async fn two_instances_on_one_redis_converge() {
    let redis = RedisServer::start();
    let choice = StoreChoice::Redis {
        url: redis.url(),
        prefix: "cluster".into(),
    };
    let a = TestApp::spawn(choice.clone()).await;
    let b = TestApp::spawn(choice).await;
    let key = a.sdk_key("production").await;

    // A key issued via A works on B (after B's refresh).
    let ok = eventually(Duration::from_secs(3), || async {
        b.sdk_flags(&key).await.status() == 200
    })
    .await;
    assert!(ok, "an SDK key issued on A is accepted by B");

    // A flag written via A is served by B within a second.
    a.create_flag(
        "production",
        &json!({"key": "shared", "enabled": true, "percentage": 5}),
    )
    .await;
    let seen = eventually(WITHIN, || async {
        let snap: serde_json::Value = b.sdk_flags(&key).await.json().await.unwrap_or_default();
        snap["flags"][0]["key"] == "shared"
    })
    .await;
    assert!(seen, "B serves A's write within {WITHIN:?}");

    // And the other way round, for a patch.
    let res = b
        .admin_patch(
            "/environments/production/flags/shared",
            &json!({"percentage": 50}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let seen = eventually(WITHIN, || async {
        let snap: serde_json::Value = a.sdk_flags(&key).await.json().await.unwrap_or_default();
        snap["flags"][0]["percentage"] == 50
    })
    .await;
    assert!(seen, "A serves B's patch within {WITHIN:?}");

    // An environment created on A is listed and usable on B.
    assert_eq!(
        a.admin(Method::PUT, "/environments/qa")
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let list = json_of(b.admin_get("/environments/qa/flags").await, 200).await;
    assert_eq!(list["version"], 0);
    b.create_flag("qa", &flag("on_b")).await;
    assert_eq!(
        json_of(a.admin_get("/environments/qa/flags/on_b").await, 200).await["key"],
        "on_b"
    );

    // A key revoked on A stops working on B within seconds.
    let keys = json_of(a.admin_get("/environments/production/sdk-keys").await, 200).await;
    let id = keys["keys"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a.admin_delete(&format!("/environments/production/sdk-keys/{id}"))
            .await
            .status(),
        204
    );
    let revoked = eventually(Duration::from_secs(3), || async {
        b.sdk_flags(&key).await.status() == 401
    })
    .await;
    assert!(revoked, "a key revoked on A is refused by B");
}
