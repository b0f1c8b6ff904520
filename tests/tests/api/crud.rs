//! Environments and flag CRUD, on both stores.

use reqwest::Method;
use serde_json::json;

use crate::support::{flag, json_of, on_both_stores, problem};

#[tokio::test]
async fn new_server_has_development_and_production() {
    on_both_stores(async |app, store| {
        let body = json_of(app.admin_get("/environments").await, 200).await;
        let names: Vec<&str> = body["environments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["development", "production"], "{store}");
        assert_eq!(body["environments"][0]["version"], 0);
        assert_eq!(body["environments"][0]["flags"], 0);
    })
    .await;
}

#[tokio::test]
async fn environments_create_idempotently_and_delete() {
    on_both_stores(async |app, store| {
        let res = app
            .admin(Method::PUT, "/environments/staging")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{store}");
        let res = app
            .admin(Method::PUT, "/environments/staging")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{store}: second create is 200");
        app.create_flag("staging", &flag("a")).await;
        let list = json_of(app.admin_get("/environments").await, 200).await;
        let staging = list["environments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "staging")
            .cloned()
            .unwrap();
        assert_eq!(staging["flags"], 1);
        assert_eq!(staging["version"], 1);

        assert_eq!(
            app.admin_delete("/environments/staging").await.status(),
            204
        );
        problem(app.admin_get("/environments/staging/flags").await, 404).await;
        problem(app.admin_delete("/environments/staging").await, 404).await;
        // Created again, it starts empty.
        let res = app
            .admin(Method::PUT, "/environments/staging")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let list = json_of(app.admin_get("/environments/staging/flags").await, 200).await;
        assert_eq!(list["flags"].as_array().unwrap().len(), 0, "{store}");
    })
    .await;
}

#[tokio::test]
async fn flag_lifecycle() {
    on_both_stores(async |app, store| {
        let created = app
            .create_flag(
                "production",
                &json!({"key": "new_checkout", "description": "New checkout", "enabled": true,
                        "percentage": 5, "tags": ["checkout"],
                        "rules": [{"id": "staff", "percentage": 100, "conditions": [
                            {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]}]}),
            )
            .await;
        assert_eq!(created["version"], 1, "{store}");
        assert_eq!(created["updated_by"], "admin");
        assert_eq!(created["salt"], "new_checkout");

        // Duplicate create: 409.
        problem(
            app.admin_post("/environments/production/flags", &flag("new_checkout")).await,
            409,
        )
        .await;

        // GET one: ETag is the version, usage is shown.
        let res = app.admin_get("/environments/production/flags/new_checkout").await;
        assert_eq!(res.headers()["etag"], "\"1\"");
        let got = json_of(res, 200).await;
        assert_eq!(got["description"], "New checkout");
        assert_eq!(got["usage"]["yes"], 0);

        // PUT replaces the whole flag.
        let mut replacement = flag("new_checkout");
        replacement["percentage"] = json!(25);
        let res = app
            .admin(Method::PUT, "/environments/production/flags/new_checkout")
            .header("If-Match", "\"1\"")
            .json(&replacement)
            .send()
            .await
            .unwrap();
        let put = json_of(res, 200).await;
        assert_eq!(put["version"], 2);
        assert_eq!(put["percentage"], 25);
        assert_eq!(put["description"], "", "PUT replaces, it does not merge");
        assert_eq!(put["rules"], json!([]));

        // A stale If-Match: 412, nothing written.
        let res = app
            .admin(Method::PUT, "/environments/production/flags/new_checkout")
            .header("If-Match", "\"1\"")
            .json(&flag("new_checkout"))
            .send()
            .await
            .unwrap();
        problem(res, 412).await;
        assert_eq!(app.env_version("production").await, 2);

        // The list carries the environment version.
        let list = json_of(app.admin_get("/environments/production/flags").await, 200).await;
        assert_eq!(list["version"], 2);
        assert_eq!(list["environment"], "production");
        assert_eq!(list["flags"][0]["key"], "new_checkout");

        // DELETE, then 404.
        assert_eq!(app.admin_delete("/environments/production/flags/new_checkout").await.status(), 204);
        problem(app.admin_get("/environments/production/flags/new_checkout").await, 404).await;
        problem(app.admin_delete("/environments/production/flags/new_checkout").await, 404).await;
        assert_eq!(app.env_version("production").await, 3);

        // Environments are separate.
        problem(app.admin_get("/environments/development/flags/new_checkout").await, 404).await;
    })
    .await;
}

#[tokio::test]
async fn put_creates_when_absent_and_rejects_a_key_mismatch() {
    on_both_stores(async |app, store| {
        let res = app
            .admin_put("/environments/production/flags/fresh", &flag("fresh"))
            .await;
        assert_eq!(res.status(), 201, "{store}");
        let res = app
            .admin_put("/environments/production/flags/fresh", &flag("other"))
            .await;
        let body = problem(res, 400).await;
        assert_eq!(body["errors"][0]["field"], "key");
        assert_eq!(app.env_version("production").await, 1);
    })
    .await;
}

#[tokio::test]
async fn merge_patch_changes_only_the_given_fields() {
    on_both_stores(async |app, store| {
        app.create_flag(
            "production",
            &json!({"key": "p", "description": "keep me", "enabled": true, "percentage": 5, "owner": "team"}),
        )
        .await;
        let res = app.admin_patch("/environments/production/flags/p", &json!({"enabled": false})).await;
        let patched = json_of(res, 200).await;
        assert_eq!(patched["enabled"], false, "{store}");
        assert_eq!(patched["description"], "keep me");
        assert_eq!(patched["percentage"], 5);

        // null removes an optional field.
        let patched = json_of(
            app.admin_patch("/environments/production/flags/p", &json!({"owner": null, "percentage": 25}))
                .await,
            200,
        )
        .await;
        assert_eq!(patched["owner"], serde_json::Value::Null);
        assert_eq!(patched["percentage"], 25);
        assert_eq!(patched["version"], 3);

        // With a stale If-Match: 412.
        let res = app
            .admin(Method::PATCH, "/environments/production/flags/p")
            .header("If-Match", "\"2\"")
            .json(&json!({"percentage": 50}))
            .send()
            .await
            .unwrap();
        problem(res, 412).await;
        // With the current one: applied.
        let res = app
            .admin(Method::PATCH, "/environments/production/flags/p")
            .header("If-Match", "\"3\"")
            .json(&json!({"percentage": 50}))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res, 200).await["percentage"], 50);

        // Invalid result: 400, nothing written.
        let body = problem(
            app.admin_patch("/environments/production/flags/p", &json!({"percentage": 101})).await,
            400,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "percentage");
        // Changing the key through a patch is refused.
        problem(app.admin_patch("/environments/production/flags/p", &json!({"key": "q"})).await, 400).await;
        // A patch of a missing flag: 404.
        problem(app.admin_patch("/environments/production/flags/nope", &json!({"enabled": true})).await, 404).await;
        assert_eq!(app.env_version("production").await, 4);
    })
    .await;
}

#[tokio::test]
async fn delete_honours_if_match() {
    on_both_stores(async |app, store| {
        app.create_flag("production", &flag("d")).await;
        let res = app
            .admin(Method::DELETE, "/environments/production/flags/d")
            .header("If-Match", "\"7\"")
            .send()
            .await
            .unwrap();
        problem(res, 412).await;
        assert_eq!(app.env_version("production").await, 1, "{store}");
        let res = app
            .admin(Method::DELETE, "/environments/production/flags/d")
            .header("If-Match", "\"1\"")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{store}");
        // `*` matches any version.
        app.create_flag("production", &flag("e")).await;
        let res = app
            .admin(Method::PUT, "/environments/production/flags/e")
            .header("If-Match", "*")
            .json(&flag("e"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{store}");
    })
    .await;
}
