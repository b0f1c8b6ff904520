//! The audit log: actor, reason, action, before/after, newest first, paging.

use flag_tests::app::CI_TOKEN;
use reqwest::Method;
use serde_json::json;

use crate::support::{json_of, on_both_stores, problem};

#[tokio::test]
async fn audit_records_actor_reason_and_before_after() {
    on_both_stores(async |app, store| {
        let res = app
            .admin(Method::POST, "/environments/production/flags")
            .header("X-Change-Reason", "launch prep")
            .json(&json!({"key": "a", "enabled": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let res = app
            .request(Method::PATCH, "/environments/production/flags/a", CI_TOKEN)
            .header("X-Change-Reason", "canary 5%")
            .json(&json!({"enabled": true, "percentage": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            app.admin_delete("/environments/production/flags/a")
                .await
                .status(),
            204
        );

        let page = json_of(app.admin_get("/environments/production/audit").await, 200).await;
        let entries = page["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 3, "{store}: {page}");
        let (delete, update, create) = (&entries[0], &entries[1], &entries[2]);
        assert_eq!(delete["version"], 3);
        assert_eq!(delete["action"], "delete");
        assert_eq!(delete["after"], serde_json::Value::Null);
        assert_eq!(delete["reason"], serde_json::Value::Null);
        assert_eq!(update["action"], "update");
        assert_eq!(update["actor"], "ci");
        assert_eq!(update["reason"], "canary 5%");
        assert_eq!(update["before"]["enabled"], false);
        assert_eq!(update["after"]["enabled"], true);
        assert_eq!(update["after"]["percentage"], 5);
        assert_eq!(create["action"], "create");
        assert_eq!(create["actor"], "admin");
        assert_eq!(create["reason"], "launch prep");
        assert_eq!(create["key"], "a");
        assert!(create["at"].is_string());

        // Paging.
        let page = json_of(
            app.admin_get("/environments/production/audit?limit=1")
                .await,
            200,
        )
        .await;
        assert_eq!(page["entries"].as_array().unwrap().len(), 1);
        assert_eq!(page["entries"][0]["version"], 3);
        let page = json_of(
            app.admin_get("/environments/production/audit?limit=5&before=3")
                .await,
            200,
        )
        .await;
        let versions: Vec<u64> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["version"].as_u64().unwrap())
            .collect();
        assert_eq!(versions, [2, 1], "{store}");
        problem(app.admin_get("/environments/nowhere/audit").await, 404).await;
    })
    .await;
}

#[tokio::test]
async fn audit_of_one_flag_pages_through_its_entries_only() {
    on_both_stores(async |app, store| {
        let env = "/environments/production";
        for (key, patch) in [("a", None), ("b", None), ("a", Some(5)), ("b", Some(7))] {
            match patch {
                None => {
                    app.create_flag("production", &json!({"key": key, "enabled": false}))
                        .await;
                }
                Some(p) => {
                    let r = app
                        .admin_patch(&format!("{env}/flags/{key}"), &json!({"percentage": p}))
                        .await;
                    assert_eq!(r.status(), 200, "{store}");
                }
            }
        }
        // A segment with the same key as a flag is not the flag's history.
        let seg = json!({"key": "a", "included": ["u1"]});
        assert_eq!(
            app.admin_put(&format!("{env}/segments/a"), &seg)
                .await
                .status(),
            201
        );
        assert_eq!(
            app.admin_delete(&format!("{env}/flags/a")).await.status(),
            204
        );

        let page = json_of(app.admin_get(&format!("{env}/audit?flag=a")).await, 200).await;
        let versions: Vec<_> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["version"].as_u64().unwrap())
            .collect();
        assert_eq!(versions, [6, 3, 1], "{store}: {page}");
        assert!(
            page.get("next_before").is_none(),
            "{store}: the log was read to its start"
        );
        assert!(page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["key"] == "a"));

        // One at a time, following next_before.
        let mut seen = Vec::new();
        let mut query = format!("{env}/audit?flag=a&limit=1");
        loop {
            let page = json_of(app.admin_get(&query).await, 200).await;
            seen.extend(
                page["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["action"].as_str().unwrap().to_owned()),
            );
            match page.get("next_before").and_then(|n| n.as_u64()) {
                Some(n) => query = format!("{env}/audit?flag=a&limit=1&before={n}"),
                None => break,
            }
            assert!(seen.len() <= 3, "{store}: paging does not end: {seen:?}");
        }
        assert_eq!(seen, ["delete", "update", "create"], "{store}");

        // The unfiltered log says where its next page starts, and not past its end.
        let page = json_of(app.admin_get(&format!("{env}/audit?limit=2")).await, 200).await;
        assert_eq!(page["next_before"], 5, "{store}: {page}");
        let page = json_of(app.admin_get(&format!("{env}/audit?limit=50")).await, 200).await;
        assert!(page.get("next_before").is_none(), "{store}: {page}");

        let bad = problem(
            app.admin_get(&format!("{env}/audit?flag=no%20spaces"))
                .await,
            400,
        )
        .await;
        assert!(bad["detail"].as_str().unwrap().contains("flag"), "{bad}");
        let nothing = json_of(app.admin_get(&format!("{env}/audit?flag=never")).await, 200).await;
        assert_eq!(nothing["entries"], json!([]));
    })
    .await;
}
