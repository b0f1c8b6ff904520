//! The SDK routes through an edge: the same snapshot (bytes and ETag) as the upstream, changes
//! on the stream under the upstream's versions, exact resume, an edge of an edge, evaluation,
//! OFREP, evaluation counts forwarded, and admin routes refused with the mode named.

use serde_json::{json, Value};

use super::support::*;

#[tokio::test]
async fn an_edge_serves_the_upstreams_snapshot_and_stream() {
    let (up, admin, edge_key) = upstream().await;
    let (_, app_key) = admin.sdk_key().await;
    let edge = ready_edge(&up.address, &[&edge_key], None).await;

    // The same body and ETag, byte for byte.
    let from_up = up.sdk_flags(&app_key).await;
    let up_etag = from_up.headers()["etag"].to_str().unwrap().to_owned();
    let up_body = from_up.bytes().await.unwrap();
    let from_edge = edge.sdk_flags(&app_key).await;
    assert_eq!(from_edge.status(), 200);
    assert_eq!(from_edge.headers()["etag"].to_str().unwrap(), up_etag);
    assert_eq!(from_edge.bytes().await.unwrap(), up_body);
    let not_modified = edge
        .client
        .get(edge.api("/sdk/flags"))
        .bearer_auth(&app_key)
        .header("If-None-Match", &up_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);

    // A change on the upstream reaches the edge's stream with the upstream's version.
    let mut stream = Stream::open(&edge.address, &app_key, None).await;
    let at = stream.next_snapshot().await;
    let v = admin.set_enabled("checkout", false).await;
    assert_eq!(v, at + 1);
    let (version, kind, flag) = stream.next_change().await;
    assert_eq!((version, kind), (v, "put"));
    assert_eq!(flag["enabled"], false);
    assert_eq!(flag["version"], v);

    // Evaluation and OFREP answer from the edge's memory, as the upstream does.
    let body = json!({"context": {"user_id": "42"}});
    let eval = |base: String| {
        let body = body.clone();
        let key = app_key.clone();
        async move {
            let r = reqwest::Client::new()
                .post(format!("{base}/api/v1/sdk/evaluate"))
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    wait_until("the edge serves the change", WITHIN, || async {
        served_version(&edge.address, &app_key).await == Some(v)
    })
    .await;
    assert_eq!(
        eval(edge.address.clone()).await,
        eval(up.address.clone()).await
    );
    let ofrep = edge
        .client
        .post(edge.url("/ofrep/v1/evaluate/flags/checkout"))
        .header("X-API-Key", &app_key)
        .json(&json!({"context": {"targetingKey": "42"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(ofrep.status(), 200);
    let ofrep: Value = ofrep.json().await.unwrap();
    assert_eq!(
        (ofrep["value"].clone(), ofrep["reason"].clone()),
        (json!(false), json!("DISABLED"))
    );
}

#[tokio::test]
async fn resume_through_an_edge_is_exact() {
    let (up, admin, edge_key) = upstream().await;
    let edge = ready_edge(&up.address, &[&edge_key], None).await;
    let mut first = Stream::open(&edge.address, &edge_key, None).await;
    let start = first.next_snapshot().await;
    admin.create("a", true).await;
    admin.create("b", true).await;
    admin.delete("a").await;
    let last = up.env_version(ENV).await;
    assert_eq!(last, start + 3);
    for v in start + 1..=last {
        assert_eq!(first.next_change().await.0, v);
    }
    drop(first);

    // Resuming after `start` gives exactly the three changes, in order, and no snapshot.
    let mut resumed = Stream::open(&edge.address, &edge_key, Some(start)).await;
    let got: Vec<(u64, &str)> = [
        resumed.next_change().await,
        resumed.next_change().await,
        resumed.next_change().await,
    ]
    .into_iter()
    .map(|(v, k, _)| (v, k))
    .collect();
    assert_eq!(
        got,
        [
            (start + 1, "put"),
            (start + 2, "put"),
            (start + 3, "delete")
        ]
    );
    // And then live changes, with no duplicate.
    let next = admin.set_enabled("b", false).await;
    assert_eq!(resumed.next_change().await.0, next);

    // Up to date: nothing is replayed, the next live change comes first.
    let mut current = Stream::open(&edge.address, &edge_key, Some(next)).await;
    let after = admin.set_enabled("b", true).await;
    assert_eq!(current.next_change().await.0, after);

    // A version from before the edge's first snapshot is answered with a snapshot.
    let mut old = Stream::open(&edge.address, &edge_key, Some(0)).await;
    assert_eq!(old.next_snapshot().await, after);
}

#[tokio::test]
async fn an_edge_can_follow_an_edge() {
    let (up, admin, edge_key) = upstream().await;
    let (_, app_key) = admin.sdk_key().await;
    let first = ready_edge(&up.address, &[&edge_key], None).await;
    let second = ready_edge(&first.address, &[&edge_key], None).await;

    let up_body = up.sdk_flags(&app_key).await.bytes().await.unwrap();
    let far = second.sdk_flags(&app_key).await;
    assert_eq!(far.status(), 200);
    assert_eq!(far.bytes().await.unwrap(), up_body);

    let mut stream = Stream::open(&second.address, &app_key, None).await;
    let at = stream.next_snapshot().await;
    let v = admin.set_enabled("checkout", false).await;
    assert_eq!(v, at + 1);
    assert_eq!(stream.next_change().await.0, v);
    // Exact resume two hops away.
    let w = admin.set_enabled("checkout", true).await;
    let mut resumed = Stream::open(&second.address, &app_key, Some(at)).await;
    assert_eq!(resumed.next_change().await.0, v);
    assert_eq!(resumed.next_change().await.0, w);
}

#[tokio::test]
async fn admin_routes_are_refused_with_the_mode_named() {
    let (up, _admin, edge_key) = upstream().await;
    let edge = ready_edge(&up.address, &[&edge_key], None).await;
    for (method, path) in [
        (reqwest::Method::GET, "/environments"),
        (reqwest::Method::GET, "/environments/production/flags"),
        (reqwest::Method::POST, "/environments/production/flags"),
        (
            reqwest::Method::DELETE,
            "/environments/production/sdk-keys/x",
        ),
        (reqwest::Method::GET, "/environments/production/stream"),
    ] {
        let resp = edge
            .admin(method.clone(), path)
            .json(&json!({"key": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{method} {path}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        let problem: Value = resp.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert_eq!(
            detail,
            format!(
                "this server is an edge following {}: admin routes are on the upstream",
                up.address
            ),
            "{method} {path}"
        );
    }
    // Ops routes still answer.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let resp = edge.client.get(edge.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    let ready: Value = edge
        .client
        .get(edge.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["store"], "edge");
}

#[tokio::test]
async fn evaluation_counts_are_forwarded_upstream() {
    let (up, admin, edge_key) = upstream().await;
    let (_, app_key) = admin.sdk_key().await;
    let edge = ready_edge(&up.address, &[&edge_key], None).await;
    for _ in 0..2 {
        let resp = edge
            .client
            .post(edge.api("/sdk/metrics"))
            .bearer_auth(&app_key)
            .json(&json!({"period_start": "2026-11-28T17:00:00Z", "period_end": "2026-11-28T17:01:00Z",
                          "flags": {"checkout": {"yes": 3, "no": 1}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
    }
    wait_until("the upstream has the counts", WITHIN, || async {
        let flag: Value = up
            .admin_get("/environments/production/flags/checkout")
            .await
            .json()
            .await
            .unwrap();
        flag["usage"]["yes"] == 6 && flag["usage"]["no"] == 2
    })
    .await;
}

#[tokio::test]
async fn one_edge_serves_several_environments() {
    let (up, admin, edge_key) = upstream().await;
    let (_, second_production_key) = admin.sdk_key().await;
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
    // Two keys of one environment: it is followed once, and the edge is still ready.
    let edge = ready_edge(
        &up.address,
        &[&edge_key, dev_key, &second_production_key],
        None,
    )
    .await;
    let (status, body) = sdk_flags(&edge.address, dev_key).await;
    assert_eq!(
        (status, body["environment"].clone()),
        (200, json!("development"))
    );
    let (status, body) = sdk_flags(&edge.address, &second_production_key).await;
    assert_eq!(
        (status, body["environment"].clone()),
        (200, json!("production"))
    );
    assert_eq!(body["flags"][0]["key"], "checkout");
}

#[tokio::test]
async fn an_edge_has_no_store() {
    let refused = flag_tests::app::TestApp::try_spawn_with(
        flag_tests::app::StoreChoice::Redis {
            url: "redis://127.0.0.1:1/".into(),
            prefix: "edge".into(),
        },
        |c| {
            c.upstream_url = Some("http://127.0.0.1:1".into());
            c.upstream_keys = vec!["sdk-key".into()];
        },
    )
    .await;
    let Err(e) = refused else {
        panic!("an edge with a Redis store started")
    };
    assert!(format!("{e:#}").contains("exclude each other"), "{e:#}");
}
