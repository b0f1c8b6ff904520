//! OFREP (contract section 4, "OFREP"): each reason, each error, both ways of sending the key,
//! ETag / 304, CORS preflight, and the change-notification stream with `Last-Event-ID`.

use std::time::Duration;

use flag_tests::app::{StoreChoice, TestApp};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::support::{on_both_stores, problem};

fn ofrep(app: &TestApp, path: &str, key: &str, body: &Value) -> reqwest::RequestBuilder {
    app.client
        .clone()
        .post(app.url(&format!("/ofrep/v1{path}")))
        .header("Authorization", format!("Bearer {key}"))
        .json(body)
}

async fn json_of(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    res.json().await.expect("JSON")
}

async fn setup(app: &TestApp) -> String {
    let de = json!([{"id": "de", "conditions": [{"attribute": "country", "operator": "in", "values": ["DE"]}], "percentage": 100}]);
    for f in [
        json!({"key": "static_on", "enabled": true, "percentage": 100}),
        json!({"key": "off", "enabled": false, "percentage": 100}),
        json!({"key": "half", "enabled": true, "percentage": 50}),
        json!({"key": "targeted", "enabled": true, "percentage": 0, "rules": de}),
        json!({"key": "color", "type": "string", "enabled": true,
               "variants": [{"key": "blue", "value": "#00f"}, {"key": "green", "value": "#0f0"}],
               "default_serve": {"split": [{"variant": "blue", "weight": 5000}, {"variant": "green", "weight": 5000}]}}),
        json!({"key": "color_off", "type": "string", "enabled": false,
               "variants": [{"key": "blue", "value": "#00f"}], "default_serve": {"variant": "blue"}}),
        json!({"key": "color_safe", "type": "string", "enabled": false,
               "variants": [{"key": "blue", "value": "#00f"}, {"key": "grey", "value": "#888"}],
               "default_serve": {"variant": "blue"}, "off_variant": "grey"}),
    ] {
        app.create_flag("production", &f).await;
    }
    app.sdk_key("production").await
}

#[tokio::test]
async fn each_reason_is_answered() {
    on_both_stores(async |app, store| {
        let key = setup(app).await;
        let eval = async |flag: &str, ctx: Value| {
            json_of(ofrep(app, &format!("/evaluate/flags/{flag}"), &key, &json!({"context": ctx})).send().await.unwrap(), 200).await
        };
        let a = eval("static_on", json!({})).await;
        assert_eq!(a, json!({"key": "static_on", "value": true, "variant": "on", "reason": "STATIC", "metadata": {"kind": "default"}}), "{store}");
        let a = eval("off", json!({})).await;
        assert_eq!((a["reason"].as_str(), &a["value"]), (Some("DISABLED"), &json!(false)));
        let a = eval("half", json!({"targetingKey": "u1"})).await;
        assert_eq!(a["reason"], "SPLIT");
        assert!(a["metadata"]["bucket"].is_u64());
        let a = eval("half", json!({})).await;
        assert_eq!((a["reason"].as_str(), &a["value"]), (Some("DEFAULT"), &json!(false)));
        let a = eval("targeted", json!({"country": "DE"})).await;
        assert_eq!(a["reason"], "TARGETING_MATCH");
        assert_eq!(a["metadata"], json!({"kind": "rule", "rule": "de"}));
        let a = eval("targeted", json!({"country": "US"})).await;
        assert_eq!(a["reason"], "DEFAULT");
        let a = eval("color", json!({"targetingKey": "u1", "plan": "pro", "n": 3, "beta": true, "tags": ["a"]})).await;
        assert_eq!(a["reason"], "SPLIT");
        assert!(a["value"].is_string() && a["variant"].is_string());
        // A disabled flag with nothing to serve answers no value: the code default (as flagd).
        let a = eval("color_off", json!({})).await;
        assert_eq!(a, json!({"key": "color_off", "reason": "DISABLED", "metadata": {"kind": "off"}}));
        let a = eval("color_safe", json!({})).await;
        assert_eq!((a["value"].as_str(), a["variant"].as_str()), (Some("#888"), Some("grey")));
    })
    .await;
}

#[tokio::test]
async fn errors_have_the_protocol_codes() {
    on_both_stores(async |app, _| {
        let key = setup(app).await;
        let res = ofrep(app, "/evaluate/flags/nope", &key, &json!({}))
            .send()
            .await
            .unwrap();
        let e = json_of(res, 404).await;
        assert_eq!(
            (e["key"].as_str(), e["errorCode"].as_str()),
            (Some("nope"), Some("FLAG_NOT_FOUND"))
        );
        for (body, code) in [
            (json!({"context": {"a": {"b": 1}}}), "INVALID_CONTEXT"),
            (json!({"context": {"a": [1]}}), "INVALID_CONTEXT"),
            (json!({"context": "x"}), "INVALID_CONTEXT"),
            (
                json!({"context": {"targetingKey": ""}}),
                "TARGETING_KEY_MISSING",
            ),
            (json!([1]), "PARSE_ERROR"),
        ] {
            for path in ["/evaluate/flags/half", "/evaluate/flags"] {
                let e = json_of(ofrep(app, path, &key, &body).send().await.unwrap(), 400).await;
                assert_eq!(e["errorCode"], code, "{path} {body}");
                assert!(e["errorDetails"].as_str().is_some_and(|d| !d.is_empty()));
            }
        }
        let res = app
            .client
            .clone()
            .post(app.url("/ofrep/v1/evaluate/flags"))
            .header("Authorization", format!("Bearer {key}"))
            .header("Content-Type", "application/json")
            .body("{nope")
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res, 400).await["errorCode"], "PARSE_ERROR");
        // No key: 401; an admin token: 403.
        let res = app
            .client
            .clone()
            .post(app.url("/ofrep/v1/evaluate/flags"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let admin = app
            .client
            .clone()
            .post(app.url("/ofrep/v1/evaluate/flags"))
            .header(
                "Authorization",
                format!("Bearer {}", flag_tests::app::ADMIN_TOKEN),
            )
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(admin.status(), 403);
    })
    .await;
}

#[tokio::test]
async fn the_key_goes_as_bearer_or_x_api_key() {
    on_both_stores(async |app, _| {
        let key = setup(app).await;
        let res = app
            .client
            .clone()
            .post(app.url("/ofrep/v1/evaluate/flags/static_on"))
            .header("X-API-Key", &key)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res, 200).await["value"], true);
        let res = app
            .client
            .clone()
            .post(app.url("/ofrep/v1/evaluate/flags/static_on"))
            .header("X-API-Key", "nope")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        // Without a key, the answer names both ways to send one.
        let res = app
            .client
            .clone()
            .post(app.url("/ofrep/v1/evaluate/flags/static_on"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let detail = problem(res, 401).await["detail"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            detail.contains("X-API-Key") && detail.contains("Bearer"),
            "{detail}"
        );
        // X-API-Key is OFREP's: the SDK API keeps `Authorization: Bearer`.
        let res = app
            .client
            .clone()
            .get(app.api("/sdk/flags"))
            .header("X-API-Key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    })
    .await;
}

#[tokio::test]
async fn bulk_has_an_etag_that_follows_version_and_context() {
    on_both_stores(async |app, _| {
        let key = setup(app).await;
        let body = json!({"context": {"targetingKey": "u1"}});
        let res = ofrep(app, "/evaluate/flags", &key, &body)
            .send()
            .await
            .unwrap();
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let all = json_of(res, 200).await;
        assert_eq!(all["flags"].as_array().unwrap().len(), 7);
        assert_eq!(all["eventStreams"][0]["type"], "sse");
        let res = ofrep(app, "/evaluate/flags", &key, &body)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        let other = ofrep(
            app,
            "/evaluate/flags",
            &key,
            &json!({"context": {"targetingKey": "u2"}}),
        )
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
        assert_eq!(other.status(), 200, "another context, another ETag");
        app.admin_patch(
            "/environments/production/flags/half",
            &json!({"percentage": 60}),
        )
        .await;
        let res = ofrep(app, "/evaluate/flags", &key, &body)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "a new version, a new ETag");
        assert_ne!(res.headers()["etag"].to_str().unwrap(), etag);
    })
    .await;
}

#[tokio::test]
async fn cors_preflight_is_answered_for_configured_origins_only() {
    let app = TestApp::spawn_with(StoreChoice::Embedded, |c| {
        c.cors_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let preflight = |origin: &str| {
        app.client
            .clone()
            .request(Method::OPTIONS, app.url("/ofrep/v1/evaluate/flags"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,authorization",
            )
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert!(ok.status().is_success());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(refused.status().is_client_error());
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    // A real request exposes the ETag to the page.
    let key = app.sdk_key("production").await;
    let res = ofrep(&app, "/evaluate/flags", &key, &json!({}))
        .header("Origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase()
        .contains("etag"));
}

/// Reads the stream until `want` appears (or panics after a few seconds).
async fn read_until(res: &mut Response, want: &str) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !text.contains(want) {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {want:?} in {text:?}"))
            .unwrap()
            .expect("stream open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test]
async fn the_event_stream_says_refetch_and_resumes() {
    on_both_stores(async |app, _| {
        let key = setup(app).await;
        let all = json_of(
            ofrep(app, "/evaluate/flags", &key, &json!({}))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        let uri = all["eventStreams"][0]["endpoint"]["requestUri"]
            .as_str()
            .unwrap()
            .to_owned();
        // The advertised address works without headers (a browser's EventSource).
        let mut res = app.client.clone().get(app.url(&uri)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        read_until(&mut res, "retry:").await;
        let v = app.env_version("production").await;
        app.admin_patch(
            "/environments/production/flags/half",
            &json!({"percentage": 70}),
        )
        .await;
        let text = read_until(&mut res, "refetchEvaluation").await;
        assert!(text.contains(&format!("id: {}", v + 1)), "{text}");
        assert!(text.contains("event: message"), "{text}");
        assert!(
            text.contains(&format!("\"etag\":\"\\\"{}\\\"\"", v + 1)),
            "{text}"
        );
        drop(res);
        // Resumed with an older Last-Event-ID: one refetch at once.
        let mut res = app
            .client
            .clone()
            .get(app.url("/ofrep/v1/events"))
            .header("Authorization", format!("Bearer {key}"))
            .header("Last-Event-ID", v.to_string())
            .send()
            .await
            .unwrap();
        let text = read_until(&mut res, "refetchEvaluation").await;
        assert!(text.contains(&format!("id: {}", v + 1)), "{text}");
        // A bad token is refused.
        let res = app
            .client
            .clone()
            .get(app.url("/ofrep/v1/events?token=abc.def"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    })
    .await;
}
