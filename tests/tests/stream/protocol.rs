//! The SSE protocol of one server: snapshot, put/delete ids, exact resume, heartbeat, slow
//! clients, revocation, authentication.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Item, Sse, ENV};
use crate::Server;

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn snapshot_on_connect_then_put_and_delete_with_increasing_ids() {
    let server = Server::embedded().await;
    let admin = server.admin();
    let v_a = admin.create("a", true).await;
    let (_, key) = admin.sdk_key().await;

    let mut sse = Sse::sdk(&server.url(), &key, None).await;
    let snap = sse.next_event(T).await;
    assert_eq!(snap.event, "snapshot");
    assert_eq!(snap.version(), v_a);
    assert_eq!(snap.data["environment"], ENV);
    assert_eq!(snap.data["version"], v_a);
    let keys: Vec<&str> = snap.data["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a"]);

    let v_b = admin.create("b", true).await;
    let put = sse.next_event(T).await;
    assert_eq!((put.event.as_str(), put.version()), ("put", v_b));
    assert_eq!(put.data["flag"]["key"], "b");

    let v_a2 = admin.patch("a", json!({"enabled": false})).await;
    let put = sse.next_event(T).await;
    assert_eq!((put.event.as_str(), put.version()), ("put", v_a2));
    assert_eq!(put.data["flag"]["enabled"], false);

    admin.delete("b").await;
    let del = sse.next_event(T).await;
    assert_eq!((del.event.as_str(), del.version()), ("delete", v_a2 + 1));
    assert_eq!(del.data["key"], "b");
    assert!(v_a < v_b && v_b < v_a2);
}

#[tokio::test]
async fn admin_stream_serves_any_environment_and_tokens_are_checked() {
    let server = Server::embedded().await;
    let admin = server.admin();
    let v = admin.create("a", true).await;
    let (_, key) = admin.sdk_key().await;

    let mut sse = Sse::open(
        &server.url(),
        &format!("/api/v1/environments/{ENV}/stream"),
        &admin.token,
        None,
    )
    .await;
    let snap = sse.next_event(T).await;
    assert_eq!((snap.event.as_str(), snap.version()), ("snapshot", v));

    let url = server.url();
    let status = |path: &'static str, token: &'static str| {
        let url = url.clone();
        let key = key.clone();
        let admin_token = admin.token.clone();
        async move {
            let token = match token {
                "admin" => admin_token,
                "sdk" => key,
                _ => String::new(),
            };
            let mut req = reqwest::Client::new().get(format!("{url}{path}"));
            if !token.is_empty() {
                req = req.bearer_auth(token);
            }
            req.send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(status("/api/v1/sdk/stream", "").await, 401);
    assert_eq!(status("/api/v1/sdk/stream", "admin").await, 403);
    assert_eq!(
        status("/api/v1/environments/production/stream", "sdk").await,
        403
    );
    assert_eq!(
        status("/api/v1/environments/no-such-env/stream", "admin").await,
        404
    );
    assert_eq!(
        status("/api/v1/environments/Bad!Name/stream", "admin").await,
        400
    );
}

#[tokio::test]
async fn resume_with_last_event_id_replays_exactly_the_missed_changes() {
    let server = Server::embedded().await;
    let admin = server.admin();
    admin.create("a", true).await;
    let (_, key) = admin.sdk_key().await;

    let mut sse = Sse::sdk(&server.url(), &key, None).await;
    sse.next_event(T).await; // snapshot
    admin.create("b", true).await;
    let n = sse.next_event(T).await.version();
    drop(sse);

    let v1 = admin.patch("a", json!({"enabled": false})).await;
    let v2 = admin.create("c", false).await;
    admin.delete("b").await;
    let v3 = v2 + 1;
    assert_eq!((v1, v2), (n + 1, n + 2));

    let mut sse = Sse::sdk(&server.url(), &key, Some(&n.to_string())).await;
    let e1 = sse.next_event(T).await;
    let e2 = sse.next_event(T).await;
    let e3 = sse.next_event(T).await;
    assert_eq!(
        [
            (e1.event.as_str(), e1.version()),
            (e2.event.as_str(), e2.version()),
            (e3.event.as_str(), e3.version())
        ],
        [("put", v1), ("put", v2), ("delete", v3)]
    );
    assert_eq!(e1.data["flag"]["enabled"], false);
    assert_eq!(e2.data["flag"]["key"], "c");
    assert_eq!(e3.data["key"], "b");
    // No duplicate after the replay, and live changes follow it with no gap.
    sse.expect_no_event(Duration::from_millis(300)).await;
    let v4 = admin.patch("c", json!({"enabled": true})).await;
    let e4 = sse.next_event(T).await;
    assert_eq!((e4.event.as_str(), e4.version()), ("put", v4));
    assert_eq!(v4, v3 + 1);

    // Up to date: nothing at all is sent.
    let mut sse = Sse::sdk(&server.url(), &key, Some(&v4.to_string())).await;
    sse.expect_no_event(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn unusable_last_event_id_gets_a_fresh_snapshot() {
    let server = Server::embedded().await;
    let admin = server.admin();
    let v = admin.create("a", true).await;
    let (_, key) = admin.sdk_key().await;
    for id in ["garbage", "-1", "99999999", "18446744073709551616"] {
        let mut sse = Sse::sdk(&server.url(), &key, Some(id)).await;
        let e = sse.next_event(T).await;
        assert_eq!(
            (e.event.as_str(), e.version()),
            ("snapshot", v),
            "Last-Event-ID {id:?}"
        );
    }
}

#[tokio::test]
async fn last_event_id_older_than_the_log_gets_a_fresh_snapshot() {
    let server = Server::embedded_with_log(3).await;
    let admin = server.admin();
    let first = admin.create("a", true).await;
    let (_, key) = admin.sdk_key().await;
    for i in 0..5 {
        admin.patch("a", json!({"enabled": i % 2 == 0})).await;
    }
    let last = admin.create("b", true).await;
    assert_eq!(last, first + 6);

    // The log keeps the last 3 changes: resuming after `last - 3` still replays exactly …
    let mut sse = Sse::sdk(&server.url(), &key, Some(&(last - 3).to_string())).await;
    for v in last - 2..=last {
        let e = sse.next_event(T).await;
        assert_ne!(e.event, "snapshot");
        assert_eq!(e.version(), v);
    }
    // … but after `first` it no longer reaches back: a snapshot of the current state instead.
    let mut sse = Sse::sdk(&server.url(), &key, Some(&first.to_string())).await;
    let e = sse.next_event(T).await;
    assert_eq!((e.event.as_str(), e.version()), ("snapshot", last));
    let keys: Vec<&str> = e.data["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a", "b"]);
    sse.expect_no_event(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn idle_streams_get_a_heartbeat_comment_within_15_seconds() {
    let server = Server::embedded().await;
    let (_, key) = server.admin().sdk_key().await;
    let mut sse = Sse::sdk(&server.url(), &key, None).await;
    sse.next_event(T).await;
    let started = Instant::now();
    match sse.next_item(Duration::from_secs(17)).await {
        Item::Comment(c) => assert_eq!(c, "heartbeat"),
        other => panic!("expected a heartbeat, got {other:?}"),
    }
    assert!(started.elapsed() <= Duration::from_secs(16));
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_delay_others_and_is_cut_off() {
    let server = Server::embedded().await;
    let admin = server.admin();
    admin.create("big", true).await;
    let (_, key) = admin.sdk_key().await;

    // A client that sends its request and never reads the answer.
    let addr = crate::helpers::socket_addr(&server.url());
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /api/v1/sdk/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n"
    );
    slow.write_all(request.as_bytes()).await.unwrap();

    let mut fast = Sse::sdk(&server.url(), &key, None).await;
    let first = fast.next_event(T).await.version();
    // Changes in large batches (flags-as-code applies of 200 flags), more bytes than the
    // socket buffers hold, so that the reader that never reads falls behind.
    const ROUNDS: u64 = 12;
    const PER_ROUND: u64 = 200;
    const CHANGES: u64 = ROUNDS * PER_ROUND;
    let description = "x".repeat(4000);
    let writer = {
        let admin = admin.clone();
        tokio::spawn(async move {
            for round in 0..ROUNDS {
                let flags: Vec<_> = (0..PER_ROUND)
                    .map(|i| {
                        json!({"key": format!("f{i}"), "enabled": true, "percentage": 100,
                                    "description": format!("{round} {description}")})
                    })
                    .collect();
                admin.apply(json!({ "flags": flags })).await;
            }
            Instant::now()
        })
    };
    for expected in first + 1..=first + CHANGES {
        let e = fast.next_event(T).await;
        assert_eq!(
            e.version(),
            expected,
            "the fast client gets every change in order"
        );
    }
    let fast_done = Instant::now();
    let last_write = writer.await.unwrap();
    assert!(
        fast_done.saturating_duration_since(last_write) < Duration::from_secs(1),
        "the fast client lagged {:?} behind the writer",
        fast_done.saturating_duration_since(last_write)
    );

    // The slow client's stream was ended (it resumes with Last-Event-ID): reading now finds
    // the end of the response before all the changes.
    let mut received = Vec::new();
    let read_all = async {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    received.extend_from_slice(&buf[..n]);
                    // The end of the chunked response (the connection itself may stay open).
                    if received.ends_with(b"\r\n0\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    };
    let ended = tokio::time::timeout(Duration::from_secs(10), read_all)
        .await
        .is_ok();
    let tail =
        String::from_utf8_lossy(&received[received.len().saturating_sub(200)..]).into_owned();
    assert!(
        ended,
        "the slow client's stream ended (got {} bytes, ending {tail:?})",
        received.len()
    );
    let text = String::from_utf8_lossy(&received);
    let puts = text.matches("event: put").count() as u64;
    assert!(
        puts < CHANGES,
        "the slow client was cut off early (it got {puts} changes)"
    );
}

#[tokio::test]
async fn revoking_an_sdk_key_ends_its_streams() {
    let server = Server::embedded().await;
    let admin = server.admin();
    let (id, key) = admin.sdk_key().await;
    let (_, other) = admin.sdk_key().await;
    let mut revoked = Sse::sdk(&server.url(), &key, None).await;
    let mut kept = Sse::sdk(&server.url(), &other, None).await;
    revoked.next_event(T).await;
    kept.next_event(T).await;

    admin.revoke(&id).await;
    revoked.expect_end(T).await;
    let resp = Sse::request(&server.url(), "/api/v1/sdk/stream", &key, None).await;
    assert_eq!(resp.status().as_u16(), 401);

    // Other keys' streams go on.
    let v = admin.create("after", true).await;
    assert_eq!(kept.next_event(T).await.version(), v);
}

#[tokio::test]
async fn server_shutdown_ends_streams() {
    let server = Server::embedded().await;
    let (_, key) = server.admin().sdk_key().await;
    let mut sse = Sse::sdk(&server.url(), &key, None).await;
    sse.next_event(T).await;
    let stopping = tokio::spawn(server.stop());
    sse.expect_end(Duration::from_secs(10)).await;
    stopping.await.unwrap();
}

#[tokio::test]
async fn deleting_an_environment_ends_its_streams() {
    let server = Server::embedded().await;
    let admin = server.admin();
    let resp = admin
        .http
        .put(format!("{}/api/v1/environments/staging", admin.base))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let mut sse = Sse::open(
        &server.url(),
        "/api/v1/environments/staging/stream",
        &admin.token,
        None,
    )
    .await;
    assert_eq!(sse.next_event(T).await.event, "snapshot");
    let resp = admin
        .http
        .delete(format!("{}/api/v1/environments/staging", admin.base))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    sse.expect_end(T).await;
}
