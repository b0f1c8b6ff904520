//! Typed flags over HTTP: variants and splits written, patched, evaluated by `/sdk/evaluate`,
//! refused with field paths, and prerequisites refused when they do not hold together.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{json_of, on_both_stores, problem};

fn button() -> Value {
    json!({"key": "checkout_button", "type": "string", "enabled": true,
        "variants": [{"key": "blue", "value": "#0050ff"}, {"key": "green", "value": "#00a050"}],
        "rules": [{"id": "staff", "conditions": [
            {"attribute": "email", "operator": "ends_with", "values": ["@EXAMPLE.com"], "case_insensitive": true}],
            "serve": {"variant": "green"}}],
        "default_serve": {"split": [{"variant": "blue", "weight": 5000}, {"variant": "green", "weight": 5000}]},
        "off_variant": "blue"})
}

async fn evaluate(app: &flag_tests::app::TestApp, key: &str, context: Value) -> Value {
    let res = app
        .request(Method::POST, "/sdk/evaluate", key)
        .json(&json!({"context": context}))
        .send()
        .await
        .unwrap();
    json_of(res, 200).await["results"].clone()
}

#[tokio::test]
async fn a_string_flag_serves_its_split_and_rules_through_the_api() {
    on_both_stores(async |app, store| {
        let created = app.create_flag("production", &button()).await;
        assert_eq!(created["type"], "string", "{store}");
        assert_eq!(created["default_serve"]["split"][1]["weight"], 5000);
        assert!(created.get("percentage").is_none(), "{created}");
        let key = app.sdk_key("production").await;

        let staff = evaluate(app, &key, json!({"email": "ann@Example.com"})).await;
        assert_eq!(
            staff["checkout_button"],
            json!({"enabled": true, "variant": "green", "value": "#00a050",
                   "reason": {"kind": "rule", "rule": "staff"}}),
            "{store}"
        );
        let bucket = flag_sdk::bucket("checkout_button", "42");
        let user = evaluate(app, &key, json!({"user_id": "42"})).await;
        let expected = if bucket < 5000 { "blue" } else { "green" };
        assert_eq!(user["checkout_button"]["variant"], expected, "{store}");
        assert_eq!(user["checkout_button"]["reason"]["kind"], "split");
        assert_eq!(user["checkout_button"]["reason"]["bucket"], bucket);

        // Move everyone to green with a merge patch; then turn the flag off: its off variant.
        let res = app
            .admin_patch(
                "/environments/production/flags/checkout_button",
                &json!({"default_serve": {"variant": "green"}}),
            )
            .await;
        json_of(res, 200).await;
        let user = evaluate(app, &key, json!({"user_id": "42"})).await;
        assert_eq!(user["checkout_button"]["variant"], "green");
        assert_eq!(user["checkout_button"]["reason"]["kind"], "default");
        let res = app
            .admin_patch(
                "/environments/production/flags/checkout_button",
                &json!({"enabled": false}),
            )
            .await;
        json_of(res, 200).await;
        let off = evaluate(app, &key, json!({"user_id": "42"})).await;
        assert_eq!(
            off["checkout_button"],
            json!({"enabled": false, "variant": "blue", "value": "#0050ff", "reason": {"kind": "off"}})
        );
        // The snapshot an SDK reads carries the typed flag as written.
        let snap = json_of(app.sdk_flags(&key).await, 200).await;
        assert_eq!(snap["flags"][0]["variants"], button()["variants"]);
    })
    .await;
}

#[tokio::test]
async fn invalid_typed_flags_are_400_with_paths_and_write_nothing() {
    on_both_stores(async |app, store| {
        let mut bad = button();
        bad["default_serve"] = json!({"split": [{"variant": "blue", "weight": 5000}, {"variant": "red", "weight": 4000}]});
        bad["variants"][1]["value"] = json!(7);
        let res = app
            .admin_post("/environments/production/flags", &bad)
            .await;
        let p = problem(res, 400).await;
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["variants[1].value", "default_serve.split[1].variant"],
            "{store}: {p}"
        );
        // A patch that would break the flag is refused too, and leaves it as it was.
        app.create_flag("production", &button()).await;
        let res = app
            .admin_patch(
                "/environments/production/flags/checkout_button",
                &json!({"percentage": 50}),
            )
            .await;
        let p = problem(res, 400).await;
        assert_eq!(p["errors"][0]["field"], "default_serve", "{p}");
        let res = app
            .admin_get("/environments/production/flags/checkout_button")
            .await;
        assert_eq!(json_of(res, 200).await["version"], 1);
    })
    .await;
}

#[tokio::test]
async fn a_boolean_flag_written_before_types_reads_back_unchanged() {
    on_both_stores(async |app, store| {
        let old = json!({"key": "new_checkout", "description": "", "enabled": true,
            "rules": [{"id": "eu", "conditions": [{"attribute": "country", "operator": "in", "values": ["DE"]}], "percentage": 25}],
            "percentage": 5, "stickiness": "user_id", "salt": "new_checkout", "tags": [], "owner": null, "expires_at": null});
        let created = app.create_flag("production", &old).await;
        let mut spec = created.as_object().unwrap().clone();
        for server_set in ["version", "updated_at", "updated_by"] {
            spec.remove(server_set);
        }
        assert_eq!(Value::Object(spec), old, "{store}");
    })
    .await;
}
