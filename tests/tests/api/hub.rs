//! The hub directly, on the embedded store: changes are applied exactly once and in version
//! order, gaps are filled from the store, a log that no longer reaches back means a reload
//! (which ends subscriptions), and a subscription sees exactly the changes after its view.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use flag_sdk::{EnvName, Flag};
use flag_server::hub::Hub;
use flag_server::store::embedded::EmbeddedStore;
use flag_server::store::{Change, ChangeEvent, ChangeMeta, Limits, SdkKeyRecord, Store, WriteOp};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

fn meta() -> ChangeMeta {
    ChangeMeta {
        actor: "test".into(),
        reason: None,
        at: Utc::now(),
    }
}

async fn put(store: &Arc<dyn Store>, env: &EnvName, key: &str, pct: f64) -> Vec<Change> {
    let flag = Flag::rollout(key, pct).unwrap();
    store
        .write(
            env,
            vec![WriteOp::Put {
                flag,
                expected: None,
            }],
            &meta(),
        )
        .await
        .unwrap()
}

fn open(dir: &std::path::Path, change_log_len: usize) -> Arc<dyn Store> {
    let limits = Limits {
        change_log_len,
        ..Limits::default()
    };
    Arc::new(EmbeddedStore::open_with(dir, limits).unwrap())
}

#[tokio::test]
async fn changes_apply_once_in_order_and_gaps_are_filled() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1000);
    let hub = Hub::load(store.clone()).await.unwrap();
    let prod = EnvName::parse("production").unwrap();
    assert_eq!(
        hub.views().len(),
        2,
        "a new store gets development and production"
    );

    let (view, mut rx) = hub.subscribe("production").unwrap();
    assert_eq!(view.version, 0);

    let c1 = put(&store, &prod, "a", 10.0).await;
    let c2 = put(&store, &prod, "b", 20.0).await;
    let c3 = put(&store, &prod, "a", 30.0).await;
    assert_eq!(
        hub.view("production").unwrap().version,
        0,
        "nothing applied yet"
    );

    // Only the last change arrives: the gap is filled from the store.
    hub.apply(c3.clone()).await.unwrap();
    let view = hub.view("production").unwrap();
    assert_eq!(view.version, 3);
    assert_eq!(view.snapshot.flag("a").unwrap().percentage.as_f64(), 30.0);
    let body: serde_json::Value = serde_json::from_slice(&view.body).unwrap();
    assert_eq!(body["version"], 3);
    assert!(view.etag.starts_with("\"3-"), "{}", view.etag);
    for expected in 1..=3 {
        assert_eq!(rx.try_recv().unwrap().version, expected);
    }

    // Old and duplicate changes are skipped.
    let mut again = c1;
    again.extend(c2);
    again.extend(c3);
    hub.apply(again).await.unwrap();
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);

    // Concurrent appliers of the same change: applied once.
    let c4 = put(&store, &prod, "b", 40.0).await;
    let (r1, r2) = tokio::join!(hub.apply(c4.clone()), hub.apply(c4.clone()));
    r1.unwrap();
    r2.unwrap();
    let got = rx.try_recv().unwrap();
    assert_eq!(got.version, 4);
    assert!(matches!(&got.event, ChangeEvent::Put { flag } if flag.key.as_str() == "b"));
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);

    // A subscription taken now starts after version 4.
    let (view, mut rx2) = hub.subscribe("production").unwrap();
    assert_eq!(view.version, 4);
    let c5 = store
        .write(
            &prod,
            vec![WriteOp::Delete {
                key: "a".parse().unwrap(),
                expected: None,
            }],
            &meta(),
        )
        .await
        .unwrap();
    hub.apply(c5).await.unwrap();
    assert_eq!(rx2.try_recv().unwrap().version, 5);
    assert!(hub.view("production").unwrap().snapshot.flag("a").is_none());
}

#[tokio::test]
async fn a_log_that_no_longer_reaches_back_means_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 2);
    let hub = Hub::load(store.clone()).await.unwrap();
    let prod = EnvName::parse("production").unwrap();
    let (_, mut rx) = hub.subscribe("production").unwrap();
    let mut last = Vec::new();
    for i in 0..6 {
        last = put(&store, &prod, &format!("f{i}"), 50.0).await;
    }
    hub.apply(last).await.unwrap();
    let view = hub.view("production").unwrap();
    assert_eq!(view.version, 6);
    assert_eq!(view.snapshot.len(), 6);
    // The subscription could not be given every change: it ends, to be taken again.
    assert!(matches!(rx.recv().await, Err(RecvError::Closed)));
    let (view, _) = hub.subscribe("production").unwrap();
    assert_eq!(view.version, 6);
}

#[tokio::test]
async fn environments_and_keys_made_elsewhere_are_picked_up_from_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1000);
    let hub = Hub::load(store.clone()).await.unwrap();
    let mut notices = hub.notices();
    let qa = EnvName::parse("qa").unwrap();
    store.create_environment(&qa).await.unwrap();
    assert!(hub.view("qa").is_none());
    hub.follow_events(Duration::ZERO).await.unwrap();
    assert_eq!(hub.view("qa").unwrap().version, 0);

    store.delete_environment(&qa).await.unwrap();
    let (_, mut rx) = hub.subscribe("qa").unwrap();
    hub.follow_events(Duration::ZERO).await.unwrap();
    assert!(hub.view("qa").is_none());
    assert!(hub.subscribe("qa").is_none());
    assert!(matches!(rx.recv().await, Err(RecvError::Closed)));
    assert_eq!(
        notices.recv().await.unwrap(),
        flag_server::hub::Notice::EnvironmentDeleted(qa)
    );

    // SDK keys: issued and revoked elsewhere.
    let prod = EnvName::parse("production").unwrap();
    let key = SdkKeyRecord {
        id: "k1".into(),
        environment: prod.clone(),
        name: "elsewhere".into(),
        hash: "ab".repeat(32),
        created_at: chrono::Utc::now(),
        created_by: "test".into(),
    };
    store.create_sdk_key(&key).await.unwrap();
    assert!(hub.sdk_key(&key.hash).is_none());
    hub.follow_events(Duration::ZERO).await.unwrap();
    assert_eq!(hub.sdk_key(&key.hash).unwrap().id, "k1");
    store.revoke_sdk_key(&prod, "k1").await.unwrap();
    hub.follow_events(Duration::ZERO).await.unwrap();
    assert!(hub.sdk_key(&key.hash).is_none());
    assert!(!hub.sdk_key_active("k1"));
}

#[tokio::test]
async fn an_sdk_key_unknown_here_is_looked_up_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1000);
    let hub = Hub::load(store.clone()).await.unwrap();
    let key = SdkKeyRecord {
        id: "k2".into(),
        environment: EnvName::parse("production").unwrap(),
        name: "elsewhere".into(),
        hash: "cd".repeat(32),
        created_at: chrono::Utc::now(),
        created_by: "test".into(),
    };
    // Issued elsewhere (no event followed here): found in the store on its first use.
    store.create_sdk_key(&key).await.unwrap();
    assert!(hub.sdk_key(&key.hash).is_none());
    assert_eq!(
        hub.sdk_key_or_lookup(&key.hash).await.unwrap().unwrap().id,
        "k2"
    );

    // A key the store does not have is refused, and for a moment refused from memory;
    // once issued it is accepted within about a second.
    let late = SdkKeyRecord {
        id: "k3".into(),
        hash: "ef".repeat(32),
        ..key.clone()
    };
    assert!(hub.sdk_key_or_lookup(&late.hash).await.unwrap().is_none());
    store.create_sdk_key(&late).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while hub.sdk_key_or_lookup(&late.hash).await.unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "never accepted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And it is now known in memory.
    assert!(hub.sdk_key(&key.hash).is_some());
}

#[tokio::test]
async fn an_environment_recreated_elsewhere_is_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1000);
    let hub = Hub::load(store.clone()).await.unwrap();
    let prod = EnvName::parse("production").unwrap();
    for pct in [1.0, 2.0, 3.0] {
        let c = put(&store, &prod, "a", pct).await;
        hub.apply(c).await.unwrap();
    }
    assert_eq!(hub.view("production").unwrap().version, 3);
    // Deleted and created again between two refreshes: versions start over.
    store.delete_environment(&prod).await.unwrap();
    store.create_environment(&prod).await.unwrap();
    put(&store, &prod, "b", 50.0).await;
    hub.follow_events(Duration::ZERO).await.unwrap();
    let view = hub.view("production").unwrap();
    assert_eq!(view.version, 1);
    assert!(view.snapshot.flag("a").is_none());
    assert!(view.snapshot.flag("b").is_some());
    // And it is followed again from there.
    let c = put(&store, &prod, "c", 5.0).await;
    hub.apply(c).await.unwrap();
    assert_eq!(hub.view("production").unwrap().version, 2);
}
