//! Restart persistence: a server stopped and started again on the same store sees the same
//! flags, versions, audit and SDK keys.

use std::time::{Duration, Instant};

use flag_tests::app::{StoreChoice, TestApp};
use flag_tests::redis::RedisServer;
use serde_json::json;

use crate::support::{flag, json_of};

async fn write_some(app: &TestApp) -> String {
    app.create_flag(
        "production",
        &json!({"key": "kept", "enabled": true, "percentage": 12.5}),
    )
    .await;
    app.create_flag("production", &flag("removed")).await;
    assert_eq!(
        app.admin_delete("/environments/production/flags/removed")
            .await
            .status(),
        204
    );
    app.sdk_key("production").await
}

async fn check_same(app: &TestApp, key: &str) {
    assert_eq!(app.env_version("production").await, 3);
    let snap = json_of(app.sdk_flags(key).await, 200).await;
    assert_eq!(snap["version"], 3);
    assert_eq!(snap["flags"].as_array().unwrap().len(), 1);
    assert_eq!(snap["flags"][0]["percentage"], 12.5);
    let audit = json_of(app.admin_get("/environments/production/audit").await, 200).await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 3);
    // Writing continues from the stored version.
    let created = app.create_flag("production", &flag("after_restart")).await;
    assert_eq!(created["version"], 4);
}

#[tokio::test]
async fn embedded_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::spawn(StoreChoice::EmbeddedAt(dir.path().to_path_buf())).await;
    let key = write_some(&app).await;
    app.stop().await;
    drop(app);
    // The store's file lock is released once its last blocking task has finished, which may
    // be just after the server stopped: retry briefly.
    let deadline = Instant::now() + Duration::from_secs(5);
    let app = loop {
        match TestApp::try_spawn(StoreChoice::EmbeddedAt(dir.path().to_path_buf())).await {
            Ok(app) => break app,
            Err(e) if Instant::now() < deadline && format!("{e:#}").contains("already open") => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("restart on the same data: {e:#}"),
        }
    };
    check_same(&app, &key).await;
}

#[tokio::test]
async fn redis_store_survives_a_server_restart() {
    let mut redis = RedisServer::start();
    let choice = StoreChoice::Redis {
        url: redis.url(),
        prefix: "persist".into(),
    };
    let mut app = TestApp::spawn(choice.clone()).await;
    let key = write_some(&app).await;
    app.stop().await;
    drop(app);
    redis.start_again();
    let app = TestApp::spawn(choice).await;
    check_same(&app, &key).await;
}
