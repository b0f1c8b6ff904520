//! A job whose writer died between deciding a write and making it (its pending write, written
//! here straight into the store the way the driver writes it): the driver makes the write once
//! when it was not made, does not make it again when it was, and makes it on the newer version
//! when someone else changed the flag meanwhile.

use chrono::{Duration as Span, Utc};
use flag_sdk::wire::{ReleasePlan, ReleaseStatus};
use flag_sdk::{EnvName, Percentage};
use flag_server::releases::plan::ReleaseJob;
use flag_server::releases::Pending;
use flag_server::store::redis::RedisStore;
use flag_server::store::Store;
use flag_tests::process::{ProcessStore, ServerProcess};
use flag_tests::redis::RedisServer;
use serde_json::json;

use crate::support::*;

const SERVER_BIN: &str = env!("CARGO_BIN_EXE_fault-server");
const PREFIX: &str = "flags";

/// A running plan of `key` at step 1 of 2 whose step-1 write (to 10%, decided on flag version
/// `expected`) is pending; its next step is an hour away.
fn job_with_pending(key: &str, marker: &str, expected: u64) -> String {
    let now = Utc::now();
    let p = |v: f64| Percentage::from_f64(v).unwrap();
    let job = ReleaseJob {
        plan: ReleasePlan {
            id: "rel_0000000000000001".into(),
            key: key.into(),
            steps: vec![p(10.0), p(20.0)],
            interval: "1h".into(),
            guard: None,
            rollback_to: Percentage::ZERO,
            reason: None,
            created_by: "admin".into(),
            created_at: now,
            status: ReleaseStatus::Running,
            step: 1,
            next_at: Some(now + Span::hours(1)),
            last_check: None,
            message: None,
            updated_at: now,
            updated_by: None,
        },
        pending: Some(Pending {
            marker: marker.into(),
            key: key.into(),
            patch: json!({"percentage": 10}),
            expected,
            actor: "admin".into(),
            reason: format!("{marker} 10%"),
        }),
        guard_errors: 0,
        then: None,
    };
    serde_json::to_string(&job).unwrap()
}

async fn pending_of(store: &RedisStore, key: &str) -> bool {
    let env = EnvName::parse(ENV).unwrap();
    store
        .jobs(&env)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == format!("release:{key}"))
        .is_some_and(|j| j.body.contains("\"pending\""))
}

#[tokio::test]
async fn pending_writes_are_seen_through_exactly_once() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(SERVER_BIN, ProcessStore::redis(redis.url(), PREFIX)).await;
    let api = Api::new(&server.url());
    let store = RedisStore::connect(&redis.url(), PREFIX).unwrap();
    let env = EnvName::parse(ENV).unwrap();
    for key in ["unwritten", "written", "moved"] {
        api.create_flag(key, 0.0).await;
    }
    let version = |key: &'static str| {
        let api = api.clone();
        async move { api.flag(key).await["version"].as_u64().unwrap() }
    };

    // Written already, by the writer that then died: the reason carries the marker.
    let v_written = version("written").await;
    let resp = reqwest::Client::new()
        .patch(format!(
            "{}/api/v1/environments/{ENV}/flags/written",
            server.url()
        ))
        .bearer_auth(flag_tests::app::ADMIN_TOKEN)
        .header(
            "X-Change-Reason",
            "release rel_0000000000000001 step 1/2: 10%",
        )
        .json(&json!({"percentage": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let after_write = version("written").await;
    // Changed by someone else after the decision: the write goes on top.
    let v_moved = version("moved").await;
    let (status, _) = api
        .send_patch("moved", json!({"description": "someone else"}))
        .await;
    assert_eq!(status, 200);

    let marker = "release rel_0000000000000001 step 1/2:";
    for (key, expected) in [
        ("unwritten", version("unwritten").await),
        ("written", v_written),
        ("moved", v_moved),
    ] {
        store
            .put_job(
                &env,
                &format!("release:{key}"),
                0,
                &job_with_pending(key, marker, expected),
            )
            .await
            .unwrap();
    }
    for key in ["unwritten", "written", "moved"] {
        wait_until(
            &format!("the pending write of {key} is settled"),
            WITHIN,
            || async { !pending_of(&store, key).await },
        )
        .await;
        assert_eq!(api.percentage(key).await, 10.0, "{key}");
        assert_eq!(api.entries_with(key, marker).await.len(), 1, "{key}: once");
    }
    assert_eq!(version("written").await, after_write, "not written again");
    assert_eq!(api.flag("moved").await["description"], "someone else");
}
