//! Applications' SDK keys on an edge: checked against the upstream, unknown keys refused, a
//! key revoked upstream refused (and its streams ended) within the documented bound, a key of
//! an environment the edge does not serve refused with the reason.

use std::time::Duration;

use serde_json::{json, Value};

use super::support::*;

#[tokio::test]
async fn unknown_keys_are_refused_on_every_sdk_route() {
    let (up, _admin, edge_key) = upstream().await;
    let edge = ready_edge(&up.address, &[&edge_key], None).await;
    let bogus = "sdk-production-0000";
    let (status, problem) = sdk_flags(&edge.address, bogus).await;
    assert_eq!(status, 401);
    assert!(
        problem["detail"].as_str().unwrap().contains(&up.address),
        "names the upstream: {problem}"
    );
    let stream = edge
        .client
        .get(edge.api("/sdk/stream"))
        .bearer_auth(bogus)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 401);
    let ofrep = edge
        .client
        .post(edge.url("/ofrep/v1/evaluate/flags"))
        .header("X-API-Key", bogus)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(ofrep.status(), 401);
    // No key at all: the route's own answer.
    let none = edge
        .client
        .get(edge.api("/sdk/flags"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
}

#[tokio::test]
async fn a_key_revoked_upstream_stops_working_within_the_bound() {
    let (up, admin, edge_key) = upstream().await;
    let (id, app_key) = admin.sdk_key().await;
    let edge = ready_edge(&up.address, &[&edge_key], None).await;
    assert_eq!(sdk_flags(&edge.address, &app_key).await.0, 200);
    let mut stream = Stream::open(&edge.address, &app_key, None).await;
    stream.next_snapshot().await;

    admin.revoke(&id).await;
    // Documented: requests within one TTL, open streams within 1.25 TTL, plus a round trip
    // (given 2 s here, for a loaded machine).
    let bound = Duration::from_millis(KEY_TTL * 1250) + Duration::from_secs(2);
    let took = wait_until("the edge refuses the revoked key", bound, || async {
        sdk_flags(&edge.address, &app_key).await.0 == 401
    })
    .await;
    eprintln!("revoked key refused by the edge after {took:?}");
    let ended = tokio::time::timeout(bound, async {
        loop {
            if stream.next().await.is_none() {
                return;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the revoked key's stream ends within {bound:?}"
    );
    // The edge's own key still works.
    assert_eq!(sdk_flags(&edge.address, &edge_key).await.0, 200);
}

#[tokio::test]
async fn a_key_of_an_environment_the_edge_does_not_serve_is_forbidden() {
    let (up, _admin, edge_key) = upstream().await;
    let issued: Value = up
        .admin_post(
            "/environments/development/sdk-keys",
            &json!({"name": "dev"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let dev_key = issued["key"].as_str().unwrap();
    let edge = ready_edge(&up.address, &[&edge_key], None).await;
    let (status, problem) = sdk_flags(&edge.address, dev_key).await;
    assert_eq!(status, 403, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"development\"") && detail.contains("\"production\""),
        "{detail}"
    );
}
