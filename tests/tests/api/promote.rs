//! Promotion of a flag between environments: the plan, dry runs that write nothing, the
//! target's kill switch kept, the audit reason naming the source, and every refusal
//! (same environment, unknown source, missing references, stale If-Match, bad bodies).

use flag_tests::app::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{embedded, json_of, on_both_stores, problem};

const PROMOTE: &str = "/environments/production/flags/new_checkout/promote";

/// A flag with every field a person writes set away from its default.
fn rich_flag() -> Value {
    json!({
        "key": "new_checkout", "description": "New checkout flow", "enabled": true,
        "percentage": 5, "stickiness": "account_id", "salt": "nc-2026",
        "tags": ["checkout"], "owner": "team-payments", "expires_at": "2027-01-01T00:00:00Z",
        "rules": [{"id": "staff", "percentage": 100, "conditions": [
            {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]}]
    })
}

/// The fields a person writes, without `enabled` and the fields the server sets.
fn definition(flag: &Value) -> Value {
    let mut f = flag.clone();
    let o = f.as_object_mut().unwrap();
    for server_set in ["enabled", "version", "updated_at", "updated_by", "usage"] {
        o.remove(server_set);
    }
    f
}

async fn promote(
    app: &TestApp,
    path: &str,
    body: Value,
    reason: Option<&str>,
) -> reqwest::Response {
    let mut req = app.admin(Method::POST, path).json(&body);
    if let Some(r) = reason {
        req = req.header("X-Change-Reason", r);
    }
    req.send().await.unwrap()
}

async fn newest_audit(app: &TestApp, env: &str) -> Value {
    let page = json_of(
        app.admin_get(&format!("/environments/{env}/audit?limit=1"))
            .await,
        200,
    )
    .await;
    page["entries"][0].clone()
}

async fn staging(app: &TestApp) {
    json_of(
        app.admin_put("/environments/staging", &json!({})).await,
        201,
    )
    .await;
}

#[tokio::test]
async fn a_flag_is_promoted_created_then_updated_keeping_the_target_enabled_state() {
    on_both_stores(async |app, store| {
        staging(app).await;
        let source = app.create_flag("staging", &rich_flag()).await;
        let before = app.env_version("production").await;

        // Dry run: the plan and the flag as it would arrive, nothing written.
        let plan = json_of(
            promote(
                app,
                &format!("{PROMOTE}?dry_run=true"),
                json!({"from": "staging"}),
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(plan["action"], "create", "{store}: {plan}");
        assert_eq!(plan["environment"], "production");
        assert_eq!(plan["from"], "staging");
        assert_eq!(plan["key"], "new_checkout");
        assert_eq!(plan["dry_run"], true);
        assert_eq!(plan["changes"], json!([]));
        assert_eq!(
            plan["flag"]["enabled"], false,
            "a new flag arrives disabled"
        );
        assert_eq!(plan["flag"]["version"], before + 1);
        assert_eq!(definition(&plan["flag"]), definition(&source));
        assert_eq!(
            app.env_version("production").await,
            before,
            "a dry run writes nothing"
        );
        problem(
            app.admin_get("/environments/production/flags/new_checkout")
                .await,
            404,
        )
        .await;

        // The real run: created disabled, every other field as in staging, one audit entry.
        let done = json_of(
            promote(app, PROMOTE, json!({"from": "staging"}), Some("release 42")).await,
            200,
        )
        .await;
        assert_eq!(done["action"], "create", "{store}: {done}");
        assert_eq!(done["dry_run"], false);
        let version = app.env_version("production").await;
        assert_eq!(version, before + 1, "one write");
        assert_eq!(done["flag"]["version"], version);
        let stored = json_of(
            app.admin_get("/environments/production/flags/new_checkout")
                .await,
            200,
        )
        .await;
        assert_eq!(stored["enabled"], false);
        assert_eq!(definition(&stored), definition(&source));
        let entry = newest_audit(app, "production").await;
        assert_eq!(entry["action"], "create");
        assert_eq!(entry["key"], "new_checkout");
        assert_eq!(entry["reason"], "promoted from staging: release 42");
        assert_eq!(entry["actor"], "admin");

        // Switched on in production, changed in staging: an update with the field diff, and
        // production stays on.
        json_of(
            app.admin_patch(
                "/environments/production/flags/new_checkout",
                &json!({"enabled": true}),
            )
            .await,
            200,
        )
        .await;
        json_of(
            app.admin_patch(
                "/environments/staging/flags/new_checkout",
                &json!({"percentage": 25, "tags": ["checkout", "q4"], "enabled": false}),
            )
            .await,
            200,
        )
        .await;
        let before = app.env_version("production").await;
        let done = json_of(
            promote(app, PROMOTE, json!({"from": "staging"}), None).await,
            200,
        )
        .await;
        assert_eq!(done["action"], "update", "{store}: {done}");
        assert_eq!(
            done["changes"],
            json!([
                {"field": "percentage", "before": 5, "after": 25},
                {"field": "tags", "before": ["checkout"], "after": ["checkout", "q4"]},
            ])
        );
        assert_eq!(
            done["flag"]["enabled"], true,
            "the target's enabled state is kept"
        );
        assert_eq!(done["flag"]["percentage"], 25);
        assert_eq!(app.env_version("production").await, before + 1);
        assert_eq!(done["flag"]["version"], before + 1);
        let entry = newest_audit(app, "production").await;
        assert_eq!(entry["action"], "update");
        assert_eq!(entry["reason"], "promoted from staging");
        assert_eq!(entry["before"]["percentage"], 5);
        assert_eq!(entry["after"]["percentage"], 25);

        // Nothing left to promote: unchanged, nothing written, the stored flag answered.
        let same = json_of(
            promote(app, PROMOTE, json!({"from": "staging"}), None).await,
            200,
        )
        .await;
        assert_eq!(same["action"], "unchanged", "{store}: {same}");
        assert_eq!(same["changes"], json!([]));
        assert_eq!(same["flag"]["version"], before + 1);
        assert_eq!(
            app.env_version("production").await,
            before + 1,
            "unchanged writes nothing"
        );

        // `enabled` set explicitly: the only change.
        let off = json_of(
            promote(
                app,
                PROMOTE,
                json!({"from": "staging", "enabled": false}),
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(off["action"], "update");
        assert_eq!(
            off["changes"],
            json!([{"field": "enabled", "before": true, "after": false}])
        );
        assert_eq!(off["flag"]["enabled"], false);
        let on = json_of(
            promote(
                app,
                "/environments/development/flags/new_checkout/promote",
                json!({"from": "staging", "enabled": true}),
                None,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(on["action"], "create");
        assert_eq!(
            on["flag"]["enabled"], true,
            "enabled: true switches a new flag on"
        );
    })
    .await;
}

#[tokio::test]
async fn a_dry_run_of_an_update_writes_nothing() {
    let r = embedded().await;
    let app = &r.app;
    staging(app).await;
    app.create_flag("staging", &rich_flag()).await;
    json_of(
        promote(app, PROMOTE, json!({"from": "staging"}), None).await,
        200,
    )
    .await;
    json_of(
        app.admin_patch(
            "/environments/staging/flags/new_checkout",
            &json!({"owner": "team-growth"}),
        )
        .await,
        200,
    )
    .await;
    let before = app.env_version("production").await;
    let plan = json_of(
        promote(
            app,
            &format!("{PROMOTE}?dry_run=1"),
            json!({"from": "staging"}),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(plan["action"], "update", "{plan}");
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        plan["changes"],
        json!([{"field": "owner", "before": "team-payments", "after": "team-growth"}])
    );
    assert_eq!(plan["flag"]["owner"], "team-growth");
    assert_eq!(plan["flag"]["version"], before + 1);
    assert_eq!(
        app.env_version("production").await,
        before,
        "a dry run writes nothing"
    );
    let stored = json_of(
        app.admin_get("/environments/production/flags/new_checkout")
            .await,
        200,
    )
    .await;
    assert_eq!(stored["owner"], "team-payments");
    assert_eq!(stored["version"], before);
}

#[tokio::test]
async fn refusals_name_what_is_wrong_and_write_nothing() {
    let r = embedded().await;
    let app = &r.app;
    staging(app).await;
    app.create_flag("staging", &rich_flag()).await;
    let before = app.env_version("production").await;

    // The target as the source.
    let p = problem(
        promote(app, PROMOTE, json!({"from": "production"}), None).await,
        400,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "from", "{p}");
    assert!(p["detail"].as_str().unwrap().contains("production"), "{p}");

    // An unknown source environment, a flag the source lacks, an unknown target.
    let p = problem(
        promote(app, PROMOTE, json!({"from": "nowhere"}), None).await,
        404,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("\"nowhere\""), "{p}");
    let p = problem(
        promote(
            app,
            "/environments/production/flags/ghost/promote",
            json!({"from": "staging"}),
            None,
        )
        .await,
        404,
    )
    .await;
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("ghost") && detail.contains("staging"),
        "{p}"
    );
    let p = problem(
        promote(
            app,
            "/environments/nowhere/flags/new_checkout/promote",
            json!({"from": "staging"}),
            None,
        )
        .await,
        404,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("\"nowhere\""), "{p}");

    // Bad bodies and queries: 400 naming the field.
    for (body, field) in [
        (json!({}), ""),
        (json!({"from": "Staging"}), "from"),
        (json!({"from": 7}), "from"),
        (json!({"from": "staging", "enabled": "yes"}), "enabled"),
        (json!({"from": "staging", "force": true}), ""),
    ] {
        let p = problem(promote(app, PROMOTE, body.clone(), None).await, 400).await;
        if !field.is_empty() {
            assert_eq!(p["errors"][0]["field"], field, "{body}: {p}");
        }
    }
    problem(promote(app, PROMOTE, json!(["staging"]), None).await, 400).await;
    problem(
        promote(
            app,
            &format!("{PROMOTE}?dry_run=maybe"),
            json!({"from": "staging"}),
            None,
        )
        .await,
        400,
    )
    .await;
    problem(
        promote(
            app,
            &format!("{PROMOTE}?dryrun=1"),
            json!({"from": "staging"}),
            None,
        )
        .await,
        400,
    )
    .await;
    assert_eq!(
        app.env_version("production").await,
        before,
        "no refusal writes"
    );
}

#[tokio::test]
async fn a_flag_whose_segments_or_prerequisites_the_target_lacks_is_refused() {
    let r = embedded().await;
    let app = &r.app;
    staging(app).await;
    json_of(
        app.admin_put(
            "/environments/staging/segments/beta",
            &json!({"key": "beta", "included": ["u1"]}),
        )
        .await,
        201,
    )
    .await;
    app.create_flag(
        "staging",
        &json!({"key": "base", "enabled": true, "percentage": 100}),
    )
    .await;
    app.create_flag(
        "staging",
        &json!({"key": "new_checkout", "enabled": true, "percentage": 0,
            "prerequisites": [{"flag": "base", "variants": ["on"]}],
            "rules": [{"id": "beta", "percentage": 100, "conditions": [
                {"attribute": "user_id", "operator": "in_segment", "values": ["beta"]}]}]}),
    )
    .await;
    let before = app.env_version("production").await;

    let p = problem(
        promote(app, PROMOTE, json!({"from": "staging"}), None).await,
        409,
    )
    .await;
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("segment \"beta\""), "{p}");
    assert!(detail.contains("flag \"base\""), "{p}");
    // A dry run is refused the same way: the plan could not be carried out.
    problem(
        promote(
            app,
            &format!("{PROMOTE}?dry_run=true"),
            json!({"from": "staging"}),
            None,
        )
        .await,
        409,
    )
    .await;
    assert_eq!(
        app.env_version("production").await,
        before,
        "nothing copied silently"
    );
    problem(
        app.admin_get("/environments/production/segments/beta")
            .await,
        404,
    )
    .await;
    problem(
        app.admin_get("/environments/production/flags/base").await,
        404,
    )
    .await;

    // With only the segment there, the prerequisite is still named.
    json_of(
        app.admin_put(
            "/environments/production/segments/beta",
            &json!({"key": "beta"}),
        )
        .await,
        201,
    )
    .await;
    let p = problem(
        promote(app, PROMOTE, json!({"from": "staging"}), None).await,
        409,
    )
    .await;
    let detail = p["detail"].as_str().unwrap();
    assert!(!detail.contains("segment"), "{p}");
    assert!(detail.contains("flag \"base\""), "{p}");

    // Once the target has both, the promotion goes through.
    json_of(
        promote(
            app,
            "/environments/production/flags/base/promote",
            json!({"from": "staging"}),
            None,
        )
        .await,
        200,
    )
    .await;
    let done = json_of(
        promote(app, PROMOTE, json!({"from": "staging"}), None).await,
        200,
    )
    .await;
    assert_eq!(done["action"], "create", "{done}");
    assert_eq!(
        done["flag"]["prerequisites"],
        json!([{"flag": "base", "variants": ["on"]}])
    );
}

#[tokio::test]
async fn if_match_is_checked_against_the_target_flag() {
    let r = embedded().await;
    let app = &r.app;
    staging(app).await;
    app.create_flag("staging", &rich_flag()).await;

    // No target flag: an If-Match cannot hold.
    let res = app
        .admin(Method::POST, PROMOTE)
        .header("If-Match", "\"1\"")
        .json(&json!({"from": "staging"}))
        .send()
        .await
        .unwrap();
    problem(res, 412).await;

    let done = json_of(
        promote(app, PROMOTE, json!({"from": "staging"}), None).await,
        200,
    )
    .await;
    let version = done["flag"]["version"].as_u64().unwrap();
    json_of(
        app.admin_patch(
            "/environments/staging/flags/new_checkout",
            &json!({"percentage": 50}),
        )
        .await,
        200,
    )
    .await;

    // A stale version: 412, nothing written (a dry run too).
    for path in [PROMOTE.to_owned(), format!("{PROMOTE}?dry_run=true")] {
        let res = app
            .admin(Method::POST, &path)
            .header("If-Match", format!("\"{}\"", version - 1))
            .json(&json!({"from": "staging"}))
            .send()
            .await
            .unwrap();
        let p = problem(res, 412).await;
        assert!(
            p["detail"].as_str().unwrap().contains("new_checkout"),
            "{p}"
        );
    }
    assert_eq!(app.env_version("production").await, version);

    // The current version: written.
    let res = app
        .admin(Method::POST, PROMOTE)
        .header("If-Match", format!("\"{version}\""))
        .json(&json!({"from": "staging"}))
        .send()
        .await
        .unwrap();
    let done = json_of(res, 200).await;
    assert_eq!(done["action"], "update");
    assert_eq!(done["flag"]["percentage"], 50);
    assert_eq!(done["flag"]["version"], version + 1);
    let res = app
        .admin(Method::POST, PROMOTE)
        .header("If-Match", "seven")
        .json(&json!({"from": "staging"}))
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
}

#[tokio::test]
async fn a_flag_that_would_not_fit_the_target_is_refused() {
    let r = embedded().await;
    let app = &r.app;
    staging(app).await;
    let color = |variants: Value| {
        json!({"key": "color", "type": "string", "enabled": true, "variants": variants,
            "default_serve": {"variant": "x"}})
    };
    app.create_flag(
        "staging",
        &color(json!([{"key": "x", "value": "1"}, {"key": "y", "value": "2"}])),
    )
    .await;
    app.create_flag("production", &color(json!([{"key": "x", "value": "1"}])))
        .await;
    app.create_flag(
        "staging",
        &json!({"key": "new_checkout", "enabled": true, "percentage": 100,
            "prerequisites": [{"flag": "color", "variants": ["y"]}]}),
    )
    .await;
    let before = app.env_version("production").await;
    // The prerequisite exists in production, without the variant the flag needs there.
    let p = problem(
        promote(app, PROMOTE, json!({"from": "staging"}), None).await,
        409,
    )
    .await;
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("prerequisites[0]") && detail.contains("\"y\""),
        "{p}"
    );
    assert_eq!(app.env_version("production").await, before);
}
