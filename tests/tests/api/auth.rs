//! Every authentication case: none, unknown, admin, SDK key of its own environment, of
//! another environment, on an admin route, revoked; admin token on SDK routes.

use flag_tests::app::{TestApp, CI_TOKEN};
use reqwest::Method;
use serde_json::json;

use crate::support::{embedded, flag, json_of, on_both_stores, problem};

#[tokio::test]
async fn no_token_and_unknown_token_are_401() {
    let r = embedded().await;
    let app = &r.app;
    for path in [
        "/environments",
        "/environments/production/flags",
        "/sdk/flags",
    ] {
        let res = app.client.get(app.api(path)).send().await.unwrap();
        assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
        problem(res, 401).await;
        problem(
            app.request(Method::GET, path, "not-a-token")
                .send()
                .await
                .unwrap(),
            401,
        )
        .await;
    }
    // A malformed header.
    let res = app
        .client
        .get(app.api("/environments"))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    problem(res, 401).await;
    // Writes without a token change nothing.
    let res = app
        .client
        .post(app.api("/environments/production/flags"))
        .json(&flag("a"))
        .send()
        .await
        .unwrap();
    problem(res, 401).await;
    assert_eq!(app.env_version("production").await, 0);
}

#[tokio::test]
async fn the_token_name_is_the_actor() {
    let r = embedded().await;
    let app = &r.app;
    let res = app
        .request(Method::POST, "/environments/production/flags", CI_TOKEN)
        .json(&flag("by_ci"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res, 201).await["updated_by"], "ci");
}

#[tokio::test]
async fn sdk_keys_read_only_their_environment() {
    on_both_stores(async |app: &TestApp, store| {
        app.create_flag("production", &flag("prod_flag")).await;
        app.create_flag("development", &flag("dev_flag")).await;
        let prod = app.sdk_key("production").await;
        let dev = app.sdk_key("development").await;
        assert!(prod.starts_with("sdk-production-"), "{prod}");
        assert!(prod.len() >= 15 + 64, "at least 256 bits of secret");

        // Own environment.
        let snap = json_of(app.sdk_flags(&prod).await, 200).await;
        assert_eq!(snap["environment"], "production", "{store}");
        assert_eq!(snap["flags"][0]["key"], "prod_flag");
        let snap = json_of(app.sdk_flags(&dev).await, 200).await;
        assert_eq!(snap["flags"][0]["key"], "dev_flag");

        // Admin routes, even of its own environment: 403.
        for (method, path) in [
            (Method::GET, "/environments"),
            (Method::GET, "/environments/production/flags"),
            (Method::GET, "/environments/development/flags"),
            (Method::GET, "/environments/production/audit"),
            (Method::GET, "/environments/production/sdk-keys"),
        ] {
            let body = problem(app.request(method, path, &prod).send().await.unwrap(), 403).await;
            assert!(
                body["detail"].as_str().unwrap().contains("SDK key"),
                "{body}"
            );
        }
        let res = app
            .request(Method::POST, "/environments/production/flags", &prod)
            .json(&flag("sneaky"))
            .send()
            .await
            .unwrap();
        problem(res, 403).await;
        problem(
            app.request(
                Method::DELETE,
                "/environments/production/flags/prod_flag",
                &prod,
            )
            .send()
            .await
            .unwrap(),
            403,
        )
        .await;
        assert_eq!(
            app.env_version("production").await,
            1,
            "nothing written by an SDK key"
        );

        // An admin token on SDK routes: 403 explaining that an SDK key is needed.
        let body = problem(app.admin_get("/sdk/flags").await, 403).await;
        assert!(
            body["detail"].as_str().unwrap().contains("SDK key"),
            "{body}"
        );
        let res = app
            .admin(Method::POST, "/sdk/evaluate")
            .json(&json!({"context": {}}))
            .send()
            .await
            .unwrap();
        problem(res, 403).await;
    })
    .await;
}

#[tokio::test]
async fn a_revoked_key_stops_working_and_keys_are_listed_without_secrets() {
    on_both_stores(async |app: &TestApp, store| {
        let res = app
            .admin_post(
                "/environments/production/sdk-keys",
                &json!({"name": "checkout"}),
            )
            .await;
        let issued = json_of(res, 201).await;
        let secret = issued["key"].as_str().unwrap().to_owned();
        let id = issued["id"].as_str().unwrap().to_owned();
        assert_eq!(issued["name"], "checkout");
        assert_eq!(issued["created_by"], "admin");
        assert_eq!(app.sdk_flags(&secret).await.status(), 200, "{store}");

        let list = app.admin_get("/environments/production/sdk-keys").await;
        let text = list.text().await.unwrap();
        assert!(!text.contains(&secret), "no secret in the list");
        let list: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(list["keys"][0]["id"], id.as_str());
        assert!(list["keys"][0].get("hash").is_none(), "no hash in the list");
        // Other environments do not list it.
        let other = json_of(
            app.admin_get("/environments/development/sdk-keys").await,
            200,
        )
        .await;
        assert_eq!(other["keys"].as_array().unwrap().len(), 0);

        // Revoking through the wrong environment: 404, key still valid.
        problem(
            app.admin_delete(&format!("/environments/development/sdk-keys/{id}"))
                .await,
            404,
        )
        .await;
        assert_eq!(app.sdk_flags(&secret).await.status(), 200);

        assert_eq!(
            app.admin_delete(&format!("/environments/production/sdk-keys/{id}"))
                .await
                .status(),
            204
        );
        problem(app.sdk_flags(&secret).await, 401).await;
        problem(
            app.admin_delete(&format!("/environments/production/sdk-keys/{id}"))
                .await,
            404,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn deleting_an_environment_revokes_its_keys() {
    let r = embedded().await;
    let app = &r.app;
    assert_eq!(
        app.admin(Method::PUT, "/environments/temp")
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let key = app.sdk_key("temp").await;
    assert_eq!(app.sdk_flags(&key).await.status(), 200);
    assert_eq!(app.admin_delete("/environments/temp").await.status(), 204);
    problem(app.sdk_flags(&key).await, 401).await;
}

#[tokio::test]
async fn without_configured_tokens_a_random_one_is_generated() {
    let app = TestApp::spawn_with(flag_tests::app::StoreChoice::Embedded, |c| {
        c.admin_token = None
    })
    .await;
    // The test token is not accepted: the server made up its own.
    problem(app.admin_get("/environments").await, 401).await;
    problem(
        app.request(Method::GET, "/environments", "admin")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_bad_admin_token_spec_stops_the_start() {
    let err = TestApp::try_spawn_with(flag_tests::app::StoreChoice::Embedded, |c| {
        c.admin_token = Some("a:x,a:y".into())
    })
    .await
    .err()
    .expect("duplicate token names are refused");
    assert!(format!("{err:#}").contains("used twice"), "{err:#}");
}

#[tokio::test]
async fn issuing_keys_with_and_without_a_body() {
    let r = embedded().await;
    let app = &r.app;
    let res = app
        .admin(Method::POST, "/environments/production/sdk-keys")
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res, 201).await["name"], "sdk-key");
    let res = app
        .admin_post("/environments/production/sdk-keys", &json!({"name": ""}))
        .await;
    assert_eq!(problem(res, 400).await["errors"][0]["field"], "name");
    let res = app
        .admin_post("/environments/production/sdk-keys", &json!({"nme": "x"}))
        .await;
    assert!(problem(res, 400).await.to_string().contains("nme"));
    problem(
        app.admin_post("/environments/nowhere/sdk-keys", &json!({}))
            .await,
        404,
    )
    .await;
    let list = json_of(
        app.admin_get("/environments/production/sdk-keys").await,
        200,
    )
    .await;
    assert_eq!(
        list["keys"].as_array().unwrap().len(),
        1,
        "failed requests issued nothing"
    );
}
