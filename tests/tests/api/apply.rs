//! Declarative apply: the plan, dry runs that change nothing, atomic real runs, prune, and
//! invalid documents that write nothing.

use serde_json::{json, Value};

use crate::support::{flag, json_of, on_both_stores, problem};

fn keys(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn apply_plans_dry_runs_and_applies_atomically() {
    on_both_stores(async |app, store| {
        app.create_flag("production", &json!({"key": "same", "enabled": true, "percentage": 10})).await;
        app.create_flag("production", &json!({"key": "changed", "enabled": true, "percentage": 10})).await;
        app.create_flag("production", &flag("extra")).await;
        let doc = json!({"flags": [
            {"key": "same", "enabled": true, "percentage": 10},
            {"key": "changed", "enabled": true, "percentage": 25, "version": 99, "updated_by": "ignored"},
            {"key": "new_one", "enabled": false},
        ]});

        // Dry run: the plan, nothing written.
        let plan = json_of(
            app.admin_post("/environments/production/apply?dry_run=true&prune=true", &doc).await,
            200,
        )
        .await;
        assert_eq!(plan["dry_run"], true, "{store}");
        assert_eq!(keys(&plan["created"]), ["new_one"]);
        assert_eq!(keys(&plan["unchanged"]), ["same"]);
        assert_eq!(keys(&plan["deleted"]), ["extra"]);
        assert_eq!(plan["updated"][0]["key"], "changed");
        assert_eq!(
            plan["updated"][0]["changes"],
            json!([{"field": "percentage", "before": 10, "after": 25}])
        );
        assert_eq!(app.env_version("production").await, 3, "a dry run writes nothing");

        // Without prune, the extra flag is kept and reported as such.
        let plan = json_of(app.admin_post("/environments/production/apply?dry_run=true", &doc).await, 200).await;
        assert_eq!(keys(&plan["deleted"]), Vec::<&str>::new());
        assert_eq!(keys(&plan["kept"]), ["extra"]);

        // Real run with prune: one atomic write, three changes.
        let res = app
            .admin(reqwest::Method::POST, "/environments/production/apply?prune=true")
            .header("X-Change-Reason", "sync from git")
            .json(&doc)
            .send()
            .await
            .unwrap();
        let plan = json_of(res, 200).await;
        assert_eq!(plan["dry_run"], false);
        assert_eq!(plan["version"], 6, "{store}: {plan}");
        let list = json_of(app.admin_get("/environments/production/flags").await, 200).await;
        let got: Vec<&str> = list["flags"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
        assert_eq!(got, ["changed", "new_one", "same"]);
        assert_eq!(list["flags"][0]["percentage"], 25);
        let audit = json_of(app.admin_get("/environments/production/audit?limit=3").await, 200).await;
        for e in audit["entries"].as_array().unwrap() {
            assert_eq!(e["reason"], "sync from git");
        }

        // Applying again: no drift, nothing written.
        let plan = json_of(app.admin_post("/environments/production/apply?prune=true", &doc).await, 200).await;
        assert_eq!(plan["created"], json!([]));
        assert_eq!(plan["updated"], json!([]));
        assert_eq!(plan["deleted"], json!([]));
        assert_eq!(app.env_version("production").await, 6);
    })
    .await;
}

#[tokio::test]
async fn an_invalid_document_writes_nothing() {
    on_both_stores(async |app, store| {
        app.create_flag("production", &flag("keep")).await;
        let doc = json!({"flags": [
            {"key": "fine", "enabled": true},
            {"key": "broken", "rules": [{"id": "r", "percentage": 150}]},
            {"key": "also_broken", "percentage": -5},
        ]});
        let body = problem(
            app.admin_post("/environments/production/apply?prune=true", &doc)
                .await,
            400,
        )
        .await;
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["flags[1].rules[0].percentage", "flags[2].percentage"],
            "{store}"
        );
        assert_eq!(app.env_version("production").await, 1);
        problem(
            app.admin_post("/environments/nowhere/apply", &json!({"flags": []}))
                .await,
            404,
        )
        .await;
    })
    .await;
}
