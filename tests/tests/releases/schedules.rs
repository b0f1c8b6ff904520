//! Scheduled changes on one server: applied once at their time, as their author, with their
//! reason; listed, cancelled, refused when wrong; kept across a restart.

use chrono::{Duration as Span, SecondsFormat, Utc};
use flag_tests::app::{StoreChoice, TestApp};
use serde_json::json;

use crate::support::*;

fn in_ms(ms: i64) -> String {
    (Utc::now() + Span::milliseconds(ms)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test]
async fn a_scheduled_change_applies_once_at_its_time() {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    let api = Api::new(&app.address);
    api.create_flag("promo", 100.0).await;
    let at = in_ms(1500);
    let (status, created) = api
        .post(
            "/flags/promo/schedule",
            &json!({"at": at, "patch": {"enabled": false}, "reason": "campaign ends"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sch_"), "{id}");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["created_by"], "admin");
    let (_, listed) = api.get("/schedules").await;
    assert_eq!(listed["schedules"][0]["id"], id.as_str());
    assert_eq!(
        api.flag("promo").await["enabled"],
        true,
        "not before its time"
    );

    // Listed as applied only once the flag is written, with the version of that write.
    let listed = wait_for("the change is applied", WITHIN, || async {
        let (_, listed) = api.get("/flags/promo/schedule").await;
        (listed["schedules"][0]["status"] == "applied").then_some(listed)
    })
    .await;
    let flag = api.flag("promo").await;
    assert_eq!(flag["enabled"], false);
    let change = &listed["schedules"][0];
    assert_eq!(change["status"], "applied", "{listed}");
    assert_eq!(change["version"], flag["version"]);
    let entries = api.entries_with("promo", &id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].0, flag["version"].as_u64().unwrap());
    assert_eq!(
        entries[0].1,
        format!("campaign ends (scheduled change {id})")
    );
    let audit = api.audit("promo").await;
    assert_eq!(audit.last().unwrap()["actor"], "admin");
    // Applied is not pending: it cannot be cancelled.
    let (status, body) = api.delete(&format!("/flags/promo/schedule/{id}")).await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn pending_changes_are_cancelled_and_listed_by_time() {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    let api = Api::new(&app.address);
    api.create_flag("a", 0.0).await;
    api.create_flag("b", 0.0).await;
    let later = in_ms(3_600_000);
    let sooner = in_ms(1_800_000);
    let (_, x) = api
        .post(
            "/flags/a/schedule",
            &json!({"at": later, "patch": {"percentage": 50}}),
        )
        .await;
    let (_, y) = api
        .post(
            "/flags/b/schedule",
            &json!({"at": sooner, "patch": {"percentage": 5}}),
        )
        .await;
    let (_, all) = api.get("/schedules").await;
    let ids: Vec<&str> = all["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [y["id"].as_str().unwrap(), x["id"].as_str().unwrap()]);
    let (_, of_a) = api.get("/flags/a/schedule").await;
    assert_eq!(of_a["schedules"].as_array().unwrap().len(), 1);

    // Cancelled through the wrong flag: not found; through its own: gone.
    let xid = x["id"].as_str().unwrap();
    assert_eq!(api.delete(&format!("/flags/b/schedule/{xid}")).await.0, 404);
    assert_eq!(api.delete(&format!("/flags/a/schedule/{xid}")).await.0, 204);
    assert_eq!(api.delete(&format!("/flags/a/schedule/{xid}")).await.0, 404);
    let (_, all) = api.get("/schedules").await;
    assert_eq!(all["schedules"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn wrong_schedules_are_refused_with_the_field() {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    let api = Api::new(&app.address);
    api.create_flag("f", 0.0).await;
    let soon = in_ms(60_000);
    for (body, field) in [
        (
            json!({"at": "2020-01-01T00:00:00Z", "patch": {"enabled": false}}),
            "at",
        ),
        (
            json!({"at": in_ms(400 * 86_400_000), "patch": {"enabled": false}}),
            "at",
        ),
        (
            json!({"at": soon, "patch": {"percentage": 101}}),
            "patch.percentage",
        ),
        (json!({"at": soon, "patch": [1]}), "patch"),
        (
            json!({"at": soon, "patch": {}, "reason": "tab\there"}),
            "reason",
        ),
    ] {
        let (status, problem) = api.post("/flags/f/schedule", &body).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let (status, problem) = api
        .post(
            "/flags/f/schedule",
            &json!({"at": soon, "patch": {}, "when": 1}),
        )
        .await;
    assert_eq!(status, 400, "unknown field: {problem}");
    let (status, _) = api
        .post("/flags/nope/schedule", &json!({"at": soon, "patch": {}}))
        .await;
    assert_eq!(status, 404);
    let (_, all) = api.get("/schedules").await;
    assert_eq!(all["schedules"], json!([]), "nothing was written");
}

#[tokio::test]
async fn a_change_due_while_the_server_was_down_applies_after_the_restart() {
    let mut app = TestApp::spawn(StoreChoice::Embedded).await;
    let api = Api::new(&app.address);
    api.create_flag("night", 0.0).await;
    let (status, created) = api
        .post(
            "/flags/night/schedule",
            &json!({"at": in_ms(1000), "patch": {"percentage": 30}}),
        )
        .await;
    assert_eq!(status, 201);
    let at = chrono::DateTime::parse_from_rfc3339(created["at"].as_str().unwrap()).unwrap();
    app.stop().await;
    // Down past its time.
    wait_until("the change is due", WITHIN, || async { Utc::now() > at }).await;
    let mut again = TestApp::spawn(app.store_choice_for_restart()).await;
    app.share_temp_with(&mut again);
    let api = Api::new(&again.address);
    wait_until(
        "the change is applied after the restart",
        WITHIN,
        || async { api.percentage("night").await == 30.0 },
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(api.entries_with("night", id).await.len(), 1);
}
