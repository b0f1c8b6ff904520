//! Ops endpoints without a token: /healthz, /readyz, /metrics, /openapi.json (and the
//! committed openapi/openapi.json matches it).

use std::path::PathBuf;

use crate::support::{embedded, flag, json_of};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let r = embedded().await;
    let app = &r.app;
    let health = json_of(
        app.client.get(app.url("/healthz")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(health["status"], "ok");
    let ready = json_of(
        app.client.get(app.url("/readyz")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(ready["store"], "embedded");

    app.create_flag("production", &flag("a")).await;
    let _ = app.admin_get("/environments/production/flags/a").await;
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/environments/{env}/flags/{key}",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"flags{environment="production"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"flags{environment="development"} 0"#),
        "{text}"
    );
    assert!(text.contains("store_errors"), "{text}");
}

fn committed_openapi() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

#[tokio::test]
async fn openapi_is_served_and_matches_the_committed_file() {
    let r = embedded().await;
    let app = &r.app;
    let served = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served, flag_server::openapi::document_json());
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    for path in [
        "/api/v1/environments/{env}/flags/{key}",
        "/api/v1/environments/{env}/apply",
        "/api/v1/sdk/evaluate",
        "/api/v1/sdk/flags",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    assert!(doc["components"]["schemas"].get("Flag").is_some());
    assert!(doc["components"]["schemas"].get("Problem").is_some());

    let path = committed_openapi();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &served).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == served,
        "openapi/openapi.json differs from what the server generates; regenerate it with\n  \
         cargo run -p flag-server -- --print-openapi > openapi/openapi.json\n\
         or UPDATE_OPENAPI=1 cargo test -p flag-tests --test api openapi"
    );
}
