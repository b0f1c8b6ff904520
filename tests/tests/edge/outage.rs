//! The upstream goes away: the edge keeps serving what it holds, catches up when the upstream
//! returns, and starts from its backup file when the upstream is down at its start.

use serde_json::Value;

use flag_tests::process::{ProcessStore, ServerProcess};

use super::support::*;

/// flag-server's `main`, built as this crate's `fault-server` binary.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_fault-server");

#[tokio::test]
async fn an_edge_serves_through_an_upstream_outage_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = ServerProcess::start(SERVER_BIN, ProcessStore::Dir(dir.path().into())).await;
    let admin = Admin::new(&up.url(), ADMIN_TOKEN);
    admin.create("checkout", true).await;
    let (_, edge_key) = admin.sdk_key().await;
    let (_, app_key) = admin.sdk_key().await;
    let edge = ready_edge(&up.url(), &[&edge_key], None).await;
    let (_, before) = sdk_flags(&edge.address, &app_key).await;
    let mut stream = Stream::open(&edge.address, &app_key, None).await;
    let at = stream.next_snapshot().await;

    up.kill();
    // Still served, with the key accepted before the outage, and still ready.
    let (status, during) = sdk_flags(&edge.address, &app_key).await;
    assert_eq!((status, &during), (200, &before));
    let ready = edge.client.get(edge.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // A new stream opens during the outage and resumes exactly.
    let mut during_outage = Stream::open(&edge.address, &app_key, Some(at)).await;

    up.start_again().await;
    let v = admin.set_enabled("checkout", false).await;
    assert!(v > at);
    // The open streams get the change once the edge follows the upstream again.
    assert_eq!(stream.next_change().await.0, v);
    assert_eq!(during_outage.next_change().await.0, v);
    wait_until("the edge serves the new version", WITHIN, || async {
        served_version(&edge.address, &app_key).await == Some(v)
    })
    .await;
}

#[tokio::test]
async fn an_edge_starts_from_its_backup_file_when_the_upstream_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("edge-backup.json");
    let (mut up, admin, edge_key) = upstream().await;
    let (_, app_key) = admin.sdk_key().await;
    let v = admin.set_enabled("checkout", false).await;
    let first = ready_edge(&up.address, &[&edge_key], Some(backup.clone())).await;
    assert_eq!(sdk_flags(&first.address, &app_key).await.0, 200);
    let (_, served) = sdk_flags(&first.address, &app_key).await;
    let app_hash = flag_server::auth::hash_secret(&app_key);
    wait_until(
        "the backup file holds the version and the key",
        WITHIN,
        || async {
            let Ok(bytes) = std::fs::read(&backup) else {
                return false;
            };
            let doc: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            doc["environments"][0]["version"] == v
                && doc["sdk_keys"]
                    .as_array()
                    .is_some_and(|keys| keys.iter().any(|k| k["hash"] == app_hash.as_str()))
        },
    )
    .await;
    let upstream_address = up.address.clone();
    up.stop().await;
    drop(first);

    // Without a backup, an edge whose upstream is down is alive but not ready.
    let bare = edge(&upstream_address, &[&edge_key], None).await;
    let health = bare.client.get(bare.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = bare.client.get(bare.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(
        sdk_flags(&bare.address, &app_key).await.0,
        503,
        "the key cannot be checked"
    );

    // With the backup, it is ready and serves the last flags to the keys it knew.
    let restarted = ready_edge(&upstream_address, &[&edge_key], Some(backup.clone())).await;
    let (status, body) = sdk_flags(&restarted.address, &app_key).await;
    assert_eq!((status, body), (200, served));
    let mut stream = Stream::open(&restarted.address, &app_key, None).await;
    assert_eq!(stream.next_snapshot().await, v);
}
