//! The SDK API: snapshot with ETag / 304, server-side evaluation, usage intake shown to admins.

use reqwest::Method;
use serde_json::json;

use crate::support::{flag, json_of, on_both_stores, problem};

#[tokio::test]
async fn snapshot_with_etag_and_304() {
    on_both_stores(async |app, store| {
        app.create_flag("production", &flag("a")).await;
        let key = app.sdk_key("production").await;
        let res = app.sdk_flags(&key).await;
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        assert!(
            etag.starts_with("\"1-") && etag.ends_with('"'),
            "{store}: {etag}"
        );
        let snap = json_of(res, 200).await;
        assert_eq!(snap["version"], 1);
        assert_eq!(snap["environment"], "production");
        assert_eq!(snap["flags"].as_array().unwrap().len(), 1);

        let res = app
            .request(Method::GET, "/sdk/flags", &key)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        assert_eq!(res.headers()["etag"], etag.as_str());

        // A write moves the ETag at once (read-your-writes).
        app.create_flag("production", &flag("b")).await;
        let res = app
            .request(Method::GET, "/sdk/flags", &key)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert!(res.headers()["etag"].to_str().unwrap().starts_with("\"2-"));
        assert_eq!(
            json_of(res, 200).await["flags"].as_array().unwrap().len(),
            2
        );
    })
    .await;
}

#[tokio::test]
async fn evaluate_uses_the_shared_evaluator() {
    on_both_stores(async |app, store| {
        app.create_flag(
            "production",
            &json!({"key": "new_checkout", "enabled": true, "percentage": 0, "rules": [
                {"id": "staff", "percentage": 100, "conditions": [
                    {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]},
                {"id": "eu-canary", "percentage": 25, "conditions": [
                    {"attribute": "country", "operator": "in", "values": ["DE", "FR"]}]}]}),
        )
        .await;
        app.create_flag("production", &json!({"key": "killed", "enabled": false}))
            .await;
        let key = app.sdk_key("production").await;
        let evaluate = async |body: serde_json::Value| {
            let res = app
                .request(Method::POST, "/sdk/evaluate", &key)
                .json(&body)
                .send()
                .await
                .unwrap();
            json_of(res, 200).await
        };
        let out = evaluate(json!({"context": {"email": "ann@example.com"}})).await;
        assert_eq!(
            out["results"]["new_checkout"],
            json!({"enabled": true, "reason": {"kind": "rule", "rule": "staff"}}),
            "{store}"
        );
        assert_eq!(
            out["results"]["killed"],
            json!({"enabled": false, "reason": {"kind": "off"}})
        );

        let ctx = json!({"user_id": "42", "country": "DE"});
        let out =
            evaluate(json!({"context": ctx.clone(), "flags": ["new_checkout", "missing"]})).await;
        let results = out["results"].as_object().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(
            results["missing"],
            json!({"enabled": false, "reason": {"kind": "not_found"}})
        );
        // The same answer as the SDK's evaluator.
        let flag = flag_sdk::Flag::from_value(
            json!({"key": "new_checkout", "enabled": true, "percentage": 0, "rules": [
                {"id": "staff", "percentage": 100, "conditions": [
                    {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]},
                {"id": "eu-canary", "percentage": 25, "conditions": [
                    {"attribute": "country", "operator": "in", "values": ["DE", "FR"]}]}]}),
        )
        .unwrap();
        let snap = flag_sdk::Snapshot::compile("production", 1, [flag]);
        let expected = snap.evaluate(
            "new_checkout",
            &serde_json::from_value::<flag_sdk::Context>(ctx).unwrap(),
        );
        assert_eq!(
            results["new_checkout"],
            serde_json::to_value(expected).unwrap()
        );
        assert_eq!(results["new_checkout"]["reason"]["rule"], "eu-canary");
        assert!(results["new_checkout"]["reason"]["bucket"].is_u64());

        // No context at all: an empty one.
        let out = evaluate(json!({})).await;
        assert_eq!(out["results"]["new_checkout"]["reason"]["kind"], "default");
    })
    .await;
}

#[tokio::test]
async fn metrics_intake_shows_in_the_admin_view() {
    on_both_stores(async |app, store| {
        app.create_flag("production", &flag("counted")).await;
        let key = app.sdk_key("production").await;
        for (yes, no) in [(3, 1), (2, 4)] {
            let res = app
                .request(Method::POST, "/sdk/metrics", &key)
                .json(&json!({"period_start": "2026-11-28T17:00:00Z", "period_end": "2026-11-28T17:01:00Z",
                              "flags": {"counted": {"yes": yes, "no": no}, "unknown_flag": {"yes": 0, "no": 7},
                                        "not a key!": {"yes": 0, "no": 1}}}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 202, "{store}");
        }
        let got = json_of(app.admin_get("/environments/production/flags/counted").await, 200).await;
        assert_eq!(got["usage"]["yes"], 5, "{store}: {got}");
        assert_eq!(got["usage"]["no"], 5);
        assert_eq!(got["usage"]["last_evaluated"], "2026-11-28T17:01:00Z");
        let list = json_of(app.admin_get("/environments/production/flags").await, 200).await;
        assert_eq!(list["flags"][0]["usage"]["yes"], 5);
        // Metrics of one environment do not show in another.
        app.create_flag("development", &flag("counted")).await;
        let dev = json_of(app.admin_get("/environments/development/flags/counted").await, 200).await;
        assert_eq!(dev["usage"]["yes"], 0);
        problem(app.admin_post("/sdk/metrics", &json!({})).await, 403).await;
    })
    .await;
}

#[tokio::test]
async fn a_recreated_environment_does_not_answer_304_to_an_old_etag() {
    on_both_stores(async |app, store| {
        assert_eq!(
            app.admin(Method::PUT, "/environments/canary")
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
        app.create_flag("canary", &json!({"key": "x", "enabled": true}))
            .await;
        let key = app.sdk_key("canary").await;
        let old = app.sdk_flags(&key).await.headers()["etag"]
            .to_str()
            .unwrap()
            .to_owned();

        assert_eq!(app.admin_delete("/environments/canary").await.status(), 204);
        assert_eq!(
            app.admin(Method::PUT, "/environments/canary")
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
        app.create_flag("canary", &json!({"key": "x", "enabled": false}))
            .await;
        let key = app.sdk_key("canary").await;
        let res = app
            .request(Method::GET, "/sdk/flags", &key)
            .header("If-None-Match", &old)
            .send()
            .await
            .unwrap();
        let snap = json_of(res, 200).await;
        assert_eq!(snap["version"], 1, "{store}");
        assert_eq!(snap["flags"][0]["enabled"], false);
    })
    .await;
}
