//! Segment changes on the stream: `segment_put` / `segment_delete` events, an SDK client
//! evaluating `in_segment` with live segments, and a second instance on the same Redis.

use std::time::Duration;

use flag_sdk::{Context, FlagClient};
use flag_tests::redis::RedisServer;
use serde_json::{json, Value};

use crate::helpers::{wait_until, Admin, Sse};
use crate::Server;

const T: Duration = Duration::from_secs(5);

async fn send(admin: &Admin, method: reqwest::Method, path: &str, body: Option<Value>) -> u16 {
    let url = format!("{}/api/v1/environments/production{path}", admin.base);
    let mut req = admin.http.request(method, url).bearer_auth(&admin.token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    assert!(
        status < 300,
        "{path}: {status} {}",
        resp.text().await.unwrap_or_default()
    );
    status
}

async fn put_segment(admin: &Admin, included: &[&str]) {
    let body = json!({"key": "beta", "included": included});
    send(admin, reqwest::Method::PUT, "/segments/beta", Some(body)).await;
}

/// Segment `beta` with `u1`, and flag `f` on for its members only.
async fn setup(admin: &Admin) {
    put_segment(admin, &["u1"]).await;
    let flag = json!({"key": "f", "enabled": true, "percentage": 0, "rules": [
        {"id": "members", "percentage": 100,
         "conditions": [{"attribute": "user_id", "operator": "in_segment", "values": ["beta"]}]}]});
    send(admin, reqwest::Method::POST, "/flags", Some(flag)).await;
}

async fn client_sees_u2(client: &FlagClient) {
    let ctx = Context::new().user_id("u2");
    wait_until("the client sees u2 in the segment", T, || {
        let on = client.is_enabled_for("f", &ctx);
        async move { on }
    })
    .await;
}

#[tokio::test]
async fn an_sdk_client_evaluates_with_live_segments() {
    let server = Server::embedded().await;
    let admin = server.admin();
    setup(&admin).await;
    let (_, key) = admin.sdk_key().await;
    let client = FlagClient::builder(server.url(), key.clone())
        .metrics(false)
        .build()
        .await
        .unwrap();
    assert!(client.is_enabled_for("f", &Context::new().user_id("u1")));
    assert!(!client.is_enabled_for("f", &Context::new().user_id("u2")));
    let mut raw = Sse::sdk(&server.url(), &key, None).await;
    let snap = raw.next_event(T).await;
    assert_eq!(snap.data["segments"][0]["key"], "beta", "{:?}", snap.data);

    put_segment(&admin, &["u1", "u2"]).await;
    client_sees_u2(&client).await;
    let put = raw.next_event(T).await;
    assert_eq!(
        (put.event.as_str(), put.version()),
        ("segment_put", snap.version() + 1)
    );
    assert_eq!(put.data["segment"]["included"], json!(["u1", "u2"]));

    send(
        &admin,
        reqwest::Method::PUT,
        "/segments/tmp",
        Some(json!({"key": "tmp"})),
    )
    .await;
    send(&admin, reqwest::Method::DELETE, "/segments/tmp", None).await;
    raw.next_event(T).await;
    let delete = raw.next_event(T).await;
    assert_eq!(delete.event, "segment_delete");
    assert_eq!(delete.data, json!({"key": "tmp"}));
    let deleted_at = delete.version();
    wait_until("the client reaches the delete", T, || {
        let v = client.version();
        async move { v == deleted_at }
    })
    .await;

    // Resuming after the snapshot replays the segment events.
    let mut resumed = Sse::sdk(&server.url(), &key, Some(&snap.version().to_string())).await;
    let first = resumed.next_event(T).await;
    assert_eq!(
        (first.event.as_str(), first.version()),
        ("segment_put", snap.version() + 1)
    );
    client.close().await;
}

#[tokio::test]
async fn a_segment_written_through_one_instance_reaches_clients_of_another() {
    let redis = RedisServer::start();
    let a = Server::on_redis(&redis).await;
    let b = Server::on_redis(&redis).await;
    let admin_a = a.admin();
    setup(&admin_a).await;
    let (_, key) = admin_a.sdk_key().await;
    let b_url = b.url();
    wait_until("B accepts the SDK key issued through A", T, || {
        let (url, key) = (b_url.clone(), key.clone());
        async move {
            Sse::request(&url, "/api/v1/sdk/flags", &key, None)
                .await
                .status()
                .as_u16()
                == 200
        }
    })
    .await;
    let client = FlagClient::builder(b.url(), key.clone())
        .metrics(false)
        .build()
        .await
        .unwrap();
    assert!(client.is_enabled_for("f", &Context::new().user_id("u1")));
    put_segment(&admin_a, &["u1", "u2"]).await;
    client_sees_u2(&client).await;
    // B's admin API sees it too.
    let admin_b = b.admin();
    let url = format!(
        "{}/api/v1/environments/production/segments/beta",
        admin_b.base
    );
    let seg: Value = admin_b
        .http
        .get(url)
        .bearer_auth(&admin_b.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seg["included"], json!(["u1", "u2"]));
    client.close().await;
}
