//! Inputs at the edges of what is allowed: a change reason over the limit, a wrong method (405
//! with `Allow`), a null SDK-key body, counts written as whole floats.

use reqwest::Method;

use crate::bad_input::FLAGS;
use crate::support::{embedded, flag, problem};

#[tokio::test]
async fn a_too_long_change_reason_is_refused() {
    let r = embedded().await;
    let app = &r.app;
    let res = app
        .admin(Method::POST, FLAGS)
        .header("X-Change-Reason", "x".repeat(2000))
        .json(&flag("a"))
        .send()
        .await
        .unwrap();
    let body = problem(res, 400).await;
    assert!(body["detail"].as_str().unwrap().contains("X-Change-Reason"));
    assert_eq!(app.env_version("production").await, 0);
}

/// Every known path answers a method it does not have with 405 and `Allow` naming the
/// methods it has (RFC 9110).
#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let r = embedded().await;
    let app = &r.app;
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/environments", "GET"),
        (
            Method::POST,
            "/api/v1/environments/production",
            "PUT, DELETE",
        ),
        (
            Method::PUT,
            "/api/v1/environments/production/flags",
            "GET, POST",
        ),
        (
            Method::POST,
            "/api/v1/environments/production/flags/a",
            "GET, PUT, PATCH, DELETE",
        ),
        (Method::GET, "/api/v1/environments/production/apply", "POST"),
        (
            Method::TRACE,
            "/api/v1/environments/production/audit",
            "GET",
        ),
        (
            Method::PATCH,
            "/api/v1/environments/production/sdk-keys",
            "POST, GET",
        ),
        (
            Method::GET,
            "/api/v1/environments/production/sdk-keys/x",
            "DELETE",
        ),
        (Method::POST, "/api/v1/sdk/flags", "GET"),
        (Method::GET, "/api/v1/sdk/evaluate", "POST"),
        (Method::OPTIONS, "/healthz", "GET"),
        (Method::TRACE, "/openapi.json", "GET"),
    ] {
        let res = reqwest::Client::new()
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        let got = res
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = problem(res, 405).await;
        assert_eq!(got.as_deref(), Some(allow), "{method} {path}: {body}");
    }
}

/// An SDK key may be asked for with no body, an empty object or `null`: the defaults.
#[tokio::test]
async fn an_sdk_key_body_may_be_null() {
    let r = embedded().await;
    let app = &r.app;
    let res = app
        .admin(Method::POST, "/environments/production/sdk-keys")
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let key: serde_json::Value = res.json().await.unwrap();
    assert_eq!(key["name"], "sdk-key");
}

/// Counts are JSON numbers: a whole number written as `3.0` is 3 (as JSON Schema's `integer`).
#[tokio::test]
async fn metrics_counts_may_be_written_as_whole_floats() {
    let r = embedded().await;
    let app = &r.app;
    let sdk = app.sdk_key("production").await;
    let res = app
        .request(Method::POST, "/sdk/metrics", &sdk)
        .json(&serde_json::json!({"period_start": "2026-11-28T17:00:00Z",
            "period_end": "2026-11-28T18:00:00Z", "flags": {"a": {"yes": 3.0, "no": 1}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
}
