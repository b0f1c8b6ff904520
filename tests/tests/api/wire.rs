//! Every answer of the server is exactly its `flag_sdk::wire` type, and the requests written
//! from the wire types are accepted: the types are the API, not a guess of it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use flag_sdk::wire::sse::{self, EventStream, StreamEvent};
use flag_sdk::wire::{
    ApplyRequest, AuditAction, AuditPage, Counts, EnvironmentInfo, EnvironmentList,
    EvaluateRequest, EvaluateResponse, FlagList, IssuedSdkKey, MetricsReport, NewSdkKey, Plan,
    Problem, SdkKeyList, SnapshotBody, StoredFlag,
};
use flag_sdk::{Context, ReasonKind};
use flag_tests::app::{StoreChoice, TestApp};
use flag_tests::wire::round_trip;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::json_of;

fn rich_flag(key: &str) -> Value {
    json!({
        "key": key, "description": "New checkout flow", "enabled": true,
        "rules": [
            {"id": "staff", "percentage": 100, "conditions": [
                {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]},
            {"id": "eu-canary", "percentage": 25.5, "conditions": [
                {"attribute": "country", "operator": "in", "values": ["DE", "FR"]},
                {"attribute": "app_version", "operator": "semver_gte", "values": ["2.3.0"]}]}
        ],
        "percentage": 5, "stickiness": "user_id", "salt": "s1", "tags": ["checkout"],
        "owner": "team-payments", "expires_at": "2030-01-01T00:00:00Z"
    })
}

#[tokio::test]
async fn admin_answers_are_the_wire_types() {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    // Environments.
    let info: EnvironmentInfo =
        round_trip(&json_of(app.admin_put("/environments/wire", &json!({})).await, 201).await);
    assert_eq!(info.name, "wire");
    let list: EnvironmentList =
        round_trip(&json_of(app.admin_get("/environments").await, 200).await);
    assert!(list.environments.iter().any(|e| e.name == "production"));

    // Flags: create, read with usage, list, patch.
    let created: StoredFlag = round_trip(&app.create_flag("wire", &rich_flag("checkout")).await);
    assert_eq!(created.flag.rules.len(), 2);
    assert!(created.flag.version > 0 && created.flag.updated_at.is_some());
    let one: StoredFlag = round_trip(
        &json_of(
            app.admin_get("/environments/wire/flags/checkout").await,
            200,
        )
        .await,
    );
    assert!(one.usage.is_some(), "admin reads carry usage");
    assert_eq!(one.flag, created.flag);
    let patched: StoredFlag = round_trip(
        &json_of(
            app.admin_patch(
                "/environments/wire/flags/checkout",
                &json!({"percentage": 25}),
            )
            .await,
            200,
        )
        .await,
    );
    assert_eq!(patched.flag.percentage.basis_points(), 2500);
    app.create_flag("wire", &json!({"key": "gone", "enabled": true}))
        .await;
    let all: FlagList =
        round_trip(&json_of(app.admin_get("/environments/wire/flags").await, 200).await);
    assert_eq!(all.flags.len(), 2);
    assert_eq!(all.environment, "wire");
    json_of(app.admin_delete("/environments/wire/flags/gone").await, 204).await;

    // SDK keys: the request written from `NewSdkKey`, with and without a name.
    for name in [Some("checkout-service".to_owned()), None] {
        let body = serde_json::to_value(NewSdkKey { name }).unwrap();
        let issued: IssuedSdkKey = round_trip(
            &json_of(
                app.admin_post("/environments/wire/sdk-keys", &body).await,
                201,
            )
            .await,
        );
        assert!(!issued.key.is_empty());
        assert_eq!(issued.info.environment, "wire");
    }
    let keys: SdkKeyList =
        round_trip(&json_of(app.admin_get("/environments/wire/sdk-keys").await, 200).await);
    assert_eq!(keys.keys.len(), 2);

    // Apply: a dry run with a created, an updated (with its field diff) and a kept flag.
    let mut changed = rich_flag("checkout");
    changed["percentage"] = json!(50);
    let request = ApplyRequest {
        flags: vec![changed, json!({"key": "fresh", "enabled": false})],
        segments: None,
    };
    let body = serde_json::to_value(&request).unwrap();
    let plan: Plan = round_trip(
        &json_of(
            app.admin_post("/environments/wire/apply?dry_run=true", &body)
                .await,
            200,
        )
        .await,
    );
    assert_eq!(plan.created, ["fresh"]);
    assert_eq!(plan.updated.len(), 1);
    assert_eq!(plan.updated[0].changes[0].field, "percentage");
    assert!(plan.dry_run && plan.has_drift());
    let plan: Plan = round_trip(
        &json_of(
            app.admin_post("/environments/wire/apply?prune=true", &body)
                .await,
            200,
        )
        .await,
    );
    assert!(!plan.dry_run);

    // Audit: create, update, delete entries, with the flag before and after.
    let audit: AuditPage =
        round_trip(&json_of(app.admin_get("/environments/wire/audit").await, 200).await);
    let actions: Vec<AuditAction> = audit.entries.iter().map(|e| e.action).collect();
    for action in [
        AuditAction::Create,
        AuditAction::Update,
        AuditAction::Delete,
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }

    // Problems.
    let bad = app
        .admin_post(
            "/environments/wire/flags",
            &json!({"key": "x", "percentage": 250}),
        )
        .await;
    let problem: Problem = round_trip(&json_of(bad, 400).await);
    assert_eq!(problem.status, 400);
    assert_eq!(problem.errors[0].field, "percentage");
    let missing: Problem =
        round_trip(&json_of(app.admin_get("/environments/nope/flags").await, 404).await);
    assert!(missing.errors.is_empty() && !missing.detail.is_empty());
}

#[tokio::test]
async fn sdk_answers_and_stream_events_are_the_wire_types() {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    app.create_flag("production", &rich_flag("checkout")).await;
    let key = app.sdk_key("production").await;

    let snap: SnapshotBody = round_trip(&json_of(app.sdk_flags(&key).await, 200).await);
    assert_eq!(snap.environment, "production");
    assert_eq!(snap.flags.len(), 1);

    // Evaluate: the request written from `EvaluateRequest`, with and without `flags`.
    for flags in [
        Some(vec!["checkout".to_owned(), "unknown".to_owned()]),
        None,
    ] {
        let request = EvaluateRequest {
            context: Context::new().user_id("42").set("email", "ann@example.com"),
            flags,
        };
        let res = app
            .request(Method::POST, "/sdk/evaluate", &key)
            .json(&request)
            .send()
            .await
            .unwrap();
        let answer: EvaluateResponse = round_trip(&json_of(res, 200).await);
        assert_eq!(answer.version, snap.version);
        assert!(answer.results["checkout"].enabled);
        assert_eq!(answer.results["checkout"].reason.kind, ReasonKind::Rule);
        if answer.results.len() == 2 {
            assert_eq!(answer.results["unknown"].reason.kind, ReasonKind::NotFound);
        }
    }

    // Metrics: the report written from `MetricsReport` is taken and shows in the usage.
    let now = Utc::now();
    let report = MetricsReport {
        period_start: now - chrono::Duration::seconds(60),
        period_end: now,
        flags: BTreeMap::from([("checkout".to_owned(), Counts { yes: 3, no: 1 })]),
    };
    let res = app
        .request(Method::POST, "/sdk/metrics", &key)
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        202,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let one: StoredFlag = round_trip(
        &json_of(
            app.admin_get("/environments/production/flags/checkout")
                .await,
            200,
        )
        .await,
    );
    let usage = one.usage.expect("usage");
    assert_eq!((usage.yes, usage.no), (3, 1));

    // The stream: a snapshot, then (resumed after it) a put and a delete.
    let stream = |resume: Option<String>| {
        let req = app.request(Method::GET, "/sdk/stream", &key);
        async move { EventStream::new(sse::request(req, resume.as_deref()).send().await.unwrap()) }
    };
    let mut events = stream(None).await;
    let StreamEvent::Snapshot(first) = next(&mut events).await else {
        panic!("a snapshot first")
    };
    assert_eq!(first, snap);
    app.create_flag("production", &json!({"key": "b", "enabled": true}))
        .await;
    json_of(
        app.admin_delete("/environments/production/flags/b").await,
        204,
    )
    .await;
    let mut events = stream(Some(first.version.to_string())).await;
    match next(&mut events).await {
        StreamEvent::Put { version, data } => {
            assert_eq!(version, first.version + 1);
            let flag: StoredFlag = round_trip(&data.flag);
            assert_eq!(flag.flag.key.as_str(), "b");
        }
        other => panic!("a put, got {other:?}"),
    }
    match next(&mut events).await {
        StreamEvent::Delete { version, data } => {
            assert_eq!(version, first.version + 2);
            assert_eq!(data.key, "b");
        }
        other => panic!("a delete, got {other:?}"),
    }
    assert_eq!(
        events.last_event_id(),
        Some((first.version + 2).to_string().as_str())
    );
}

/// The next event, which must come in time and be usable.
async fn next(events: &mut EventStream) -> StreamEvent {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("in time")
        .expect("an event")
        .expect("a usable event")
}
