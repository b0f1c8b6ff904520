//! Segments over HTTP: CRUD, reference checks on flag writes and deletes, apply with
//! segments, and evaluation following segment changes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

const SEGS: &str = "/environments/production/segments";

fn beta(included: &[&str]) -> Value {
    json!({"key": "beta", "description": "beta testers", "included": included})
}

/// A flag on for the members of segment `segment` only.
fn for_segment(key: &str, segment: &str) -> Value {
    json!({"key": key, "enabled": true, "percentage": 0, "rules": [
        {"id": "members", "percentage": 100,
         "conditions": [{"attribute": "user_id", "operator": "in_segment", "values": [segment]}]}]})
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn segment_crud() {
    on_both_stores(async |app, store| {
        let list = json_of(app.admin_get(SEGS).await, 200).await;
        assert_eq!(list["segments"], json!([]), "{store}");
        assert_eq!(list["environment"], "production");

        let put = |body: Value, key: &'static str| async move {
            app.admin_put(&format!("{SEGS}/{key}"), &body).await
        };
        let created = json_of(put(beta(&["u1"]), "beta").await, 201).await;
        assert_eq!(created["key"], "beta");
        assert_eq!(created["included"], json!(["u1"]));
        let replaced = json_of(put(beta(&["u1", "u2"]), "beta").await, 200).await;
        assert_eq!(replaced["included"], json!(["u1", "u2"]));
        json_of(put(json!({"key": "alpha"}), "alpha").await, 201).await;

        let one = json_of(app.admin_get(&format!("{SEGS}/beta")).await, 200).await;
        assert_eq!(one, replaced);
        let list = json_of(app.admin_get(SEGS).await, 200).await;
        let keys: Vec<&str> = list["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["alpha", "beta"]);
        assert_eq!(list["version"], app.env_version("production").await);
        let _: flag_sdk::wire::SegmentList = flag_tests::wire::round_trip(&list);

        // Bad input: 400 with field paths, nothing written.
        let version = app.env_version("production").await;
        let p = problem(put(beta(&[]), "other").await, 400).await;
        assert_eq!(fields(&p), ["key"], "{p}");
        let p = problem(
            put(json!({"key": "beta", "included": "u1"}), "beta").await,
            400,
        )
        .await;
        assert_eq!(fields(&p), ["included"], "{p}");
        let p = problem(
            put(
                json!({"key": "beta", "conditions": [
                {"attribute": "user_id", "operator": "in_segment", "values": ["alpha"]}]}),
                "beta",
            )
            .await,
            400,
        )
        .await;
        assert_eq!(fields(&p), ["conditions[0].operator"], "{p}");
        let p = problem(put(json!({"key": "beta", "colour": 1}), "beta").await, 400).await;
        assert!(!fields(&p).is_empty(), "{p}");
        problem(put(json!([1]), "beta").await, 400).await;
        assert_eq!(app.env_version("production").await, version);

        // Delete; then it is gone.
        let res = app.admin_delete(&format!("{SEGS}/alpha")).await;
        assert_eq!(res.status(), 204);
        problem(app.admin_delete(&format!("{SEGS}/alpha")).await, 404).await;
        problem(app.admin_get(&format!("{SEGS}/alpha")).await, 404).await;
        problem(app.admin_get("/environments/nope/segments").await, 404).await;

        // Audit: segment actions with the segment before and after.
        let audit = json_of(
            app.admin_get("/environments/production/audit?limit=4")
                .await,
            200,
        )
        .await;
        let entries = audit["entries"].as_array().unwrap();
        let actions: Vec<&str> = entries
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "segment_delete",
                "segment_create",
                "segment_update",
                "segment_create"
            ]
        );
        assert_eq!(entries[0]["key"], "alpha");
        assert_eq!(entries[2]["segment_before"]["included"], json!(["u1"]));
        assert_eq!(entries[2]["segment_after"]["included"], json!(["u1", "u2"]));
        let _: flag_sdk::wire::AuditPage = flag_tests::wire::round_trip(&audit);
    })
    .await;
}

#[tokio::test]
async fn flag_writes_check_their_references() {
    on_both_stores(async |app, store| {
        let flags = "/environments/production/flags";
        // A condition naming a missing segment.
        let p = problem(app.admin_post(flags, &for_segment("f", "beta")).await, 400).await;
        assert_eq!(fields(&p), ["rules[0].conditions[0].values[0]"], "{store}: {p}");
        json_of(app.admin_put(&format!("{SEGS}/beta"), &beta(&["u1"])).await, 201).await;
        app.create_flag("production", &for_segment("f", "beta")).await;
        // PUT and PATCH are checked too.
        let p = problem(app.admin_put(&format!("{flags}/g"), &for_segment("g", "nope")).await, 400).await;
        assert_eq!(fields(&p), ["rules[0].conditions[0].values[0]"], "{p}");
        let patch = json!({"rules": [{"id": "r", "percentage": 100, "conditions": [
            {"attribute": "user_id", "operator": "not_in_segment", "values": ["beta", "nope"]}]}]});
        let p = problem(app.admin_patch(&format!("{flags}/f"), &patch).await, 400).await;
        assert_eq!(fields(&p), ["rules[0].conditions[0].values[1]"], "{p}");

        // A used segment cannot be deleted; the detail names the flags.
        let p = problem(app.admin_delete(&format!("{SEGS}/beta")).await, 409).await;
        assert!(p["detail"].as_str().unwrap().contains("\"f\""), "{p}");

        // Prerequisites: missing flag, missing variant, cycle.
        let pre = |key: &str, on: &str, variant: &str| {
            json!({"key": key, "enabled": true, "prerequisites": [{"flag": on, "variants": [variant]}]})
        };
        let p = problem(app.admin_post(flags, &pre("a", "missing", "on")).await, 400).await;
        assert_eq!(fields(&p), ["prerequisites[0].flag"], "{p}");
        let p = problem(app.admin_post(flags, &pre("a", "f", "blue")).await, 400).await;
        assert_eq!(fields(&p), ["prerequisites[0].variants[0]"], "{p}");
        app.create_flag("production", &pre("a", "f", "on")).await;
        let p = problem(app.admin_put(&format!("{flags}/f"), &pre("f", "a", "on")).await, 400).await;
        assert_eq!(fields(&p), ["prerequisites[0].flag"], "{p}");
        assert!(p["errors"][0]["message"].as_str().unwrap().contains("cycle"), "{p}");
        // A flag that is a prerequisite cannot be deleted; the detail names its dependents.
        let p = problem(app.admin_delete(&format!("{flags}/f")).await, 409).await;
        assert!(p["detail"].as_str().unwrap().contains("\"a\""), "{p}");
        // Replacing a prerequisite so that a variant a dependent names is gone: 400.
        let colour = |variants: &[&str]| {
            let vs: Vec<Value> = variants
                .iter()
                .map(|v| json!({"key": v, "value": v}))
                .collect();
            json!({"key": "colour", "type": "string", "enabled": true, "variants": vs,
                   "default_serve": {"variant": variants[0]}, "off_variant": variants[0]})
        };
        app.create_flag("production", &colour(&["blue", "green"])).await;
        app.create_flag("production", &pre("c", "colour", "green")).await;
        let p = problem(app.admin_put(&format!("{flags}/colour"), &colour(&["blue"])).await, 400).await;
        assert_eq!(fields(&p), ["variants"], "{p}");
        assert!(p["errors"][0]["message"].as_str().unwrap().contains("\"c\""), "{p}");
        assert_eq!(app.admin_delete(&format!("{flags}/c")).await.status(), 204);
        // Once nothing uses them, both go.
        assert_eq!(app.admin_delete(&format!("{flags}/a")).await.status(), 204);
        assert_eq!(app.admin_delete(&format!("{flags}/f")).await.status(), 204);
        assert_eq!(app.admin_delete(&format!("{SEGS}/beta")).await.status(), 204);
    })
    .await;
}

#[tokio::test]
async fn apply_with_segments() {
    on_both_stores(async |app, store| {
        let apply = |query: &'static str, doc: Value| async move {
            app.admin_post(&format!("/environments/production/apply?{query}"), &doc)
                .await
        };
        let doc = json!({"flags": [for_segment("f", "beta")], "segments": [beta(&["u1"])]});
        // Without segments, the plan has no segments section.
        let plan = json_of(
            apply("dry_run=true", json!({"flags": [flag("x")]})).await,
            200,
        )
        .await;
        assert!(plan.get("segments").is_none(), "{plan}");
        // A flag naming a segment the document does not bring: 400 with the document's path.
        let p = problem(
            apply(
                "dry_run=true",
                json!({"flags": [flag("x"), for_segment("f", "beta")]}),
            )
            .await,
            400,
        )
        .await;
        assert_eq!(
            fields(&p),
            ["flags[1].rules[0].conditions[0].values[0]"],
            "{store}: {p}"
        );
        // A dry run plans the segment and changes nothing.
        let plan = json_of(apply("dry_run=true", doc.clone()).await, 200).await;
        assert_eq!(plan["segments"]["created"], json!(["beta"]), "{plan}");
        let _: flag_sdk::wire::Plan = flag_tests::wire::round_trip(&plan);
        assert_eq!(plan["created"], json!(["f"]));
        assert_eq!(
            json_of(app.admin_get(SEGS).await, 200).await["segments"],
            json!([])
        );
        // For real.
        let plan = json_of(apply("", doc.clone()).await, 200).await;
        assert_eq!(plan["segments"]["created"], json!(["beta"]));
        assert_eq!(
            json_of(app.admin_get(&format!("{SEGS}/beta")).await, 200).await["included"],
            json!(["u1"])
        );
        let plan = json_of(apply("dry_run=true", doc.clone()).await, 200).await;
        assert_eq!(plan["segments"]["unchanged"], json!(["beta"]), "{plan}");
        assert_eq!(plan["unchanged"], json!(["f"]));
        // Pruning a segment a kept flag uses is refused; pruning both is fine.
        let p = problem(
            apply(
                "prune=true",
                json!({"flags": [for_segment("f", "beta")], "segments": []}),
            )
            .await,
            400,
        )
        .await;
        assert_eq!(
            fields(&p),
            ["flags[0].rules[0].conditions[0].values[0]"],
            "{p}"
        );
        let p = problem(
            apply("", json!({"flags": [], "segments": [{"key": 1}]})).await,
            400,
        )
        .await;
        assert_eq!(fields(&p), ["segments[0].key"], "{p}");
        let plan = json_of(
            apply("prune=true", json!({"flags": [], "segments": []})).await,
            200,
        )
        .await;
        assert_eq!(plan["segments"]["deleted"], json!(["beta"]), "{plan}");
        assert_eq!(plan["deleted"], json!(["f"]));
        assert_eq!(
            json_of(app.admin_get(SEGS).await, 200).await["segments"],
            json!([])
        );
    })
    .await;
}

#[tokio::test]
async fn evaluation_follows_segment_changes() {
    on_both_stores(async |app, store| {
        let key = app.sdk_key("production").await;
        // No segments: the snapshot has no segments member.
        let snap = json_of(app.sdk_flags(&key).await, 200).await;
        assert!(snap.get("segments").is_none(), "{snap}");
        json_of(
            app.admin_put(&format!("{SEGS}/beta"), &beta(&["u1"])).await,
            201,
        )
        .await;
        app.create_flag("production", &for_segment("f", "beta"))
            .await;
        let evaluate = |user: &'static str| {
            let key = key.clone();
            async move {
                let res = app
                    .request(Method::POST, "/sdk/evaluate", &key)
                    .json(&json!({"context": {"user_id": user}, "flags": ["f"]}))
                    .send()
                    .await
                    .unwrap();
                json_of(res, 200).await["results"]["f"]["enabled"]
                    .as_bool()
                    .unwrap()
            }
        };
        assert!(evaluate("u1").await, "{store}");
        assert!(!evaluate("u2").await);
        json_of(
            app.admin_put(&format!("{SEGS}/beta"), &beta(&["u1", "u2"]))
                .await,
            200,
        )
        .await;
        assert!(evaluate("u2").await, "{store}: an included user is in");
        let snap = json_of(app.sdk_flags(&key).await, 200).await;
        assert_eq!(
            snap["segments"][0]["included"],
            json!(["u1", "u2"]),
            "{snap}"
        );
    })
    .await;
}

/// A flag naming a segment and the segment's deletion, racing: the environment never ends up
/// with a flag naming a missing segment.
#[tokio::test]
async fn racing_a_reference_and_a_delete_leaves_no_dangling_reference() {
    on_both_stores(async |app, store| {
        for round in 0..10 {
            let seg = format!("s{round}");
            let body = json!({"key": seg});
            json_of(app.admin_put(&format!("{SEGS}/{seg}"), &body).await, 201).await;
            let flag = for_segment(&format!("f{round}"), &seg);
            let path = format!("{SEGS}/{seg}");
            let (created, deleted) = tokio::join!(
                app.admin_post("/environments/production/flags", &flag),
                app.admin_delete(&path),
            );
            let (created, deleted) = (created.status().as_u16(), deleted.status().as_u16());
            let exists = app.admin_get(&format!("{SEGS}/{seg}")).await.status() == 200;
            match (created, deleted) {
                (201, 409) => assert!(exists, "{store}"),
                (400, 204) => assert!(!exists, "{store}"),
                other => panic!("{store}: round {round}: unexpected {other:?}"),
            }
        }
    })
    .await;
}
