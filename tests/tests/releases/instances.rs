//! Two server processes on one real Redis: a scheduled change fires once, and a release plan
//! goes on at the right step, each step applied once, after the instance driving it is killed.

use chrono::{Duration as Span, SecondsFormat, Utc};
use flag_tests::process::{ProcessStore, ServerProcess};
use flag_tests::redis::RedisServer;
use serde_json::json;

use crate::support::*;

const SERVER_BIN: &str = env!("CARGO_BIN_EXE_fault-server");
const PREFIX: &str = "flags";

/// Who holds the release driver's lease (an instance id), read from Redis.
fn lease_holder(redis: &RedisServer) -> Option<String> {
    let mut c = redis.connection();
    redis::cmd("GET")
        .arg(format!("{PREFIX}:lease:releases"))
        .query(&mut c)
        .unwrap()
}

/// Redis, and instance A started first (so that it drives), then B.
async fn two_instances() -> (RedisServer, ServerProcess, ServerProcess, String) {
    let redis = RedisServer::start();
    let store = ProcessStore::redis(redis.url(), PREFIX);
    let a = ServerProcess::start(SERVER_BIN, store.clone()).await;
    let holder = wait_for("A takes the release lease", WITHIN, || async {
        lease_holder(&redis)
    })
    .await;
    let b = ServerProcess::start(SERVER_BIN, store).await;
    (redis, a, b, holder)
}

#[tokio::test]
async fn a_plan_goes_on_at_the_right_step_when_its_driver_is_killed() {
    let (redis, mut a, b, holder_a) = two_instances().await;
    let (via_a, via_b) = (Api::new(&a.url()), Api::new(&b.url()));
    via_a.create_flag("checkout", 0.0).await;
    let plan = via_a
        .start_plan(
            "checkout",
            json!({"steps": [1, 2, 3, 4, 5, 6], "interval": "1s", "reason": "canary"}),
        )
        .await;
    let id = plan["id"].as_str().unwrap().to_owned();
    wait_until("step 2 is applied", WITHIN, || async {
        via_b.percentage("checkout").await >= 2.0
    })
    .await;
    a.kill();
    wait_until("B takes the lease over", WITHIN, || async {
        lease_holder(&redis).is_some_and(|h| h != holder_a)
    })
    .await;
    let done = via_b.plan_reaches("checkout", "completed").await;
    assert_eq!(done["step"], 6);
    let steps: Vec<f64> = via_b
        .entries_with("checkout", &format!("release {id} step"))
        .await
        .into_iter()
        .map(|(_, _, p)| p)
        .collect();
    assert_eq!(
        steps,
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "each step once, in order"
    );
    assert_eq!(via_b.percentage("checkout").await, 6.0);
}

#[tokio::test]
async fn a_schedule_fires_once_with_two_instances() {
    let (_redis, a, b, _) = two_instances().await;
    let (via_a, via_b) = (Api::new(&a.url()), Api::new(&b.url()));
    let at = (Utc::now() + Span::milliseconds(1500)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut ids = Vec::new();
    for (i, key) in ["one", "two", "three"].iter().enumerate() {
        via_a.create_flag(key, 0.0).await;
        // Scheduled through B, which does not drive: A applies them.
        let (status, created) = via_b
            .post(
                &format!("/flags/{key}/schedule"),
                &json!({"at": at, "patch": {"percentage": 10 * (i + 1)}}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        ids.push((key, created["id"].as_str().unwrap().to_owned()));
    }
    wait_until("every change is applied", WITHIN, || async {
        let (_, list) = via_a.get("/schedules").await;
        list["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "applied" && c["version"].is_u64())
    })
    .await;
    for (i, (key, id)) in ids.iter().enumerate() {
        assert_eq!(via_b.entries_with(key, id).await.len(), 1, "{key}");
        assert_eq!(via_b.percentage(key).await, 10.0 * (i + 1) as f64);
    }
}

#[tokio::test]
async fn jobs_come_back_after_redis_restarts_empty() {
    let mut redis = RedisServer::start_volatile();
    let server = ServerProcess::start(SERVER_BIN, ProcessStore::redis(redis.url(), PREFIX)).await;
    let api = Api::new(&server.url());
    api.create_flag("slow", 0.0).await;
    let plan = api
        .start_plan("slow", json!({"steps": [1, 2], "interval": "1h"}))
        .await;
    wait_until("the first step", WITHIN, || async {
        api.percentage("slow").await == 1.0
    })
    .await;
    api.create_flag("late", 0.0).await;
    let at = (Utc::now() + Span::seconds(4)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let (status, change) = api
        .post(
            "/flags/late/schedule",
            &json!({"at": at, "patch": {"percentage": 40}}),
        )
        .await;
    assert_eq!(status, 201, "{change}");
    // The driver renews its lease at the start of each round, then reads and remembers the
    // jobs: after two renewals that follow the write, a whole round has seen the schedule.
    let mut last = lease_ttl_ms(&redis);
    for round in 1..=2 {
        wait_until(
            &format!("lease renewal {round} after the schedule"),
            WITHIN,
            || {
                let now = lease_ttl_ms(&redis);
                let renewed = now > last;
                last = now;
                async move { renewed }
            },
        )
        .await;
    }
    redis.start_empty_again();
    wait_until("the schedule is back and applied", WITHIN, || async {
        let (status, list) = api.get("/flags/late/schedule").await;
        status == 200 && list["schedules"][0]["status"] == "applied"
    })
    .await;
    assert_eq!(api.percentage("late").await, 40.0);
    let back = api.plan("slow").await;
    assert_eq!(back["id"], plan["id"]);
    assert_eq!(back["status"], "running");
    assert_eq!(back["step"], 1, "at the step it had reached");
    assert_eq!(api.percentage("slow").await, 1.0);
}

/// The release lease's remaining time to live, in milliseconds (-2 when it is gone).
fn lease_ttl_ms(redis: &RedisServer) -> i64 {
    let mut c = redis.connection();
    redis::cmd("PTTL")
        .arg(format!("{PREFIX}:lease:releases"))
        .query(&mut c)
        .unwrap()
}
