//! Racing writers: optimistic concurrency through If-Match, and PATCH without If-Match that
//! loses no update.

use reqwest::Method;
use serde_json::json;

use crate::support::{json_of, on_both_stores};

const WRITERS: usize = 8;

#[tokio::test]
async fn racing_puts_with_the_same_if_match_let_exactly_one_win() {
    on_both_stores(async |app, store| {
        let created = app
            .create_flag(
                "production",
                &json!({"key": "race", "enabled": true, "percentage": 0}),
            )
            .await;
        let version = created["version"].as_u64().unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..WRITERS {
            let req = app
                .admin(Method::PUT, "/environments/production/flags/race")
                .header("If-Match", format!("\"{version}\""))
                .json(&json!({"key": "race", "enabled": true, "percentage": i as f64 + 1.0}));
            tasks.spawn(async move { req.send().await.unwrap().status().as_u16() });
        }
        let mut statuses = Vec::new();
        while let Some(s) = tasks.join_next().await {
            statuses.push(s.unwrap());
        }
        let ok = statuses.iter().filter(|s| **s == 200).count();
        let stale = statuses.iter().filter(|s| **s == 412).count();
        assert_eq!((ok, stale), (1, WRITERS - 1), "{store}: {statuses:?}");
        assert_eq!(app.env_version("production").await, version + 1);
    })
    .await;
}

#[tokio::test]
async fn concurrent_patches_without_if_match_lose_no_update() {
    on_both_stores(async |app, store| {
        app.create_flag("production", &json!({"key": "tags", "enabled": true}))
            .await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..WRITERS {
            let app_url = app.api("/environments/production/flags/tags");
            let client = app.client.clone();
            tasks.spawn(async move {
                let res = client
                    .patch(&app_url)
                    .bearer_auth(flag_tests::app::ADMIN_TOKEN)
                    .json(&json!({"description": format!("writer {i}")}))
                    .send()
                    .await
                    .unwrap();
                res.status().as_u16()
            });
        }
        while let Some(s) = tasks.join_next().await {
            assert_eq!(
                s.unwrap(),
                200,
                "{store}: a PATCH without If-Match never answers 412 under contention"
            );
        }
        // Every patch was applied once: version moved by exactly WRITERS.
        assert_eq!(
            app.env_version("production").await,
            1 + WRITERS as u64,
            "{store}"
        );

        // Patches of different fields do not undo each other.
        let (p1, p2) = (json!({"percentage": 42}), json!({"owner": "team-x"}));
        let (a, b) = tokio::join!(
            app.admin_patch("/environments/production/flags/tags", &p1),
            app.admin_patch("/environments/production/flags/tags", &p2),
        );
        assert_eq!(a.status(), 200);
        assert_eq!(b.status(), 200);
        let got = json_of(
            app.admin_get("/environments/production/flags/tags").await,
            200,
        )
        .await;
        assert_eq!(got["percentage"], 42, "{store}: {got}");
        assert_eq!(got["owner"], "team-x", "{store}: {got}");
    })
    .await;
}
