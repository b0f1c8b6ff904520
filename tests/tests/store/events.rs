//! The event log, the store's identity, leases and restoring an environment.

use std::time::Duration;

use flag_server::store::{AuditAction, EnvState, SdkKeyRecord, StoreEvent};

use crate::support::*;

pub async fn events_record_environments_and_keys(b: &Backend) {
    let s = &*b.store;
    let start = s.event_cursor().await.unwrap();
    let qa = with_env(s, "qa").await;
    let key = sdk_key("k1", "qa");
    s.create_sdk_key(&key).await.unwrap();
    s.revoke_sdk_key(&qa, "k1").await.unwrap();
    s.delete_environment(&qa).await.unwrap();
    // Failures record nothing.
    assert!(s.delete_environment(&qa).await.is_err());
    assert!(s.create_environment(&env("dev2")).await.unwrap());
    assert!(!s.create_environment(&env("dev2")).await.unwrap());
    let events = s
        .wait_for_events(&start, Duration::from_secs(1))
        .await
        .unwrap();
    let kinds: Vec<StoreEvent> = events.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(
        kinds[..4],
        [
            StoreEvent::EnvironmentCreated {
                environment: qa.clone()
            },
            StoreEvent::SdkKeyCreated { key: key.clone() },
            StoreEvent::SdkKeyRevoked {
                environment: qa.clone(),
                id: "k1".into()
            },
            StoreEvent::EnvironmentDeleted {
                environment: qa.clone()
            },
        ]
    );
    assert_eq!(
        kinds[4..],
        [StoreEvent::EnvironmentCreated {
            environment: env("dev2")
        }]
    );
    // From the last cursor: nothing more, after the timeout.
    let last = events.last().unwrap().0.clone();
    assert_eq!(s.event_cursor().await.unwrap(), last);
    let none = s
        .wait_for_events(&last, Duration::from_millis(200))
        .await
        .unwrap();
    assert!(none.is_empty());
    // A waiter wakes up on the next event.
    let waiter = {
        let s = b.store.clone();
        let last = last.clone();
        tokio::spawn(async move { s.wait_for_events(&last, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.publish_event(&StoreEvent::Restored {
        environments: vec![env("dev2")],
    })
    .await
    .unwrap();
    let woke = waiter.await.unwrap().unwrap();
    assert_eq!(
        woke.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        [StoreEvent::Restored {
            environments: vec![env("dev2")]
        }]
    );
}

pub async fn identity_and_leases(b: &Backend) {
    let s = &*b.store;
    let first = s.ensure_identity("one").await.unwrap();
    assert_eq!(s.ensure_identity("two").await.unwrap(), first);
    assert_eq!(s.identity().await.unwrap().as_deref(), Some(first.as_str()));
    s.set_identity("three").await.unwrap();
    assert_eq!(s.identity().await.unwrap().as_deref(), Some("three"));

    let ttl = Duration::from_secs(30);
    assert!(s.try_lease("restore", "a", ttl).await.unwrap());
    assert!(!s.try_lease("restore", "b", ttl).await.unwrap());
    assert!(s.try_lease("other", "b", ttl).await.unwrap());
    s.release_lease("restore", "b").await.unwrap(); // not b's: kept
    assert!(!s.try_lease("restore", "b", ttl).await.unwrap());
    // Its holder renews it: it stays the holder's after the first time to live has passed.
    assert!(s.try_lease("restore", "a", ttl).await.unwrap());
    assert!(!s.try_lease("restore", "b", ttl).await.unwrap());
    s.release_lease("restore", "a").await.unwrap();
    assert!(s.try_lease("restore", "b", ttl).await.unwrap());
    // An expired lease can be taken.
    assert!(s
        .try_lease("short", "a", Duration::from_millis(50))
        .await
        .unwrap());
    wait_for("the lease expires", Duration::from_secs(5), || async {
        s.try_lease("short", "b", ttl).await.unwrap().then_some(())
    })
    .await;
}

pub async fn restore_writes_only_when_behind(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    s.write(&e, vec![create("a"), create("b")], &meta("alice"))
        .await
        .unwrap();
    let held = s.load(&e).await.unwrap();
    assert_eq!(held.version, 2);

    // At the same version: nothing written.
    assert!(!s.restore_environment(&held, 1, &meta("srv")).await.unwrap());
    // Gone (an environment the store does not have): written back as it was.
    let qa = EnvState {
        environment: env("qa"),
        ..held.clone()
    };
    assert!(s.restore_environment(&qa, 3, &meta("srv")).await.unwrap());
    let back = s.load(&env("qa")).await.unwrap();
    assert_eq!(
        (back.version, back.flags),
        (held.version, held.flags.clone())
    );
    assert!(s.list_environments().await.unwrap().contains(&env("qa")));
    let audit = s.audit(&env("qa"), 10, None).await.unwrap();
    assert_eq!(audit[0].action, AuditAction::Restore);
    assert_eq!(audit[0].version, 2);
    assert_eq!(audit[0].key, None);
    assert_eq!(
        audit[0].restored.map(|r| (r.flags, r.sdk_keys)),
        Some((2, 3))
    );
    // The log starts after the restored version: the next write follows on.
    let next = s
        .write(&env("qa"), vec![create("c")], &meta("bob"))
        .await
        .unwrap();
    assert_eq!(versions(&next), [3]);
    assert_eq!(
        versions(&replayed(s.changes_since(&env("qa"), 2).await.unwrap())),
        [3]
    );

    // Behind (older version): replaced, flags the state does not hold removed.
    let mut newer = held.clone();
    newer.version = 5;
    newer.flags.retain(|f| f.key.as_str() == "a");
    assert!(s
        .restore_environment(&newer, 0, &meta("srv"))
        .await
        .unwrap());
    let now = s.load(&e).await.unwrap();
    assert_eq!(now.version, 5);
    assert_eq!(now.flags.len(), 1);

    // Keys: only the missing ones are written.
    let k = sdk_key("k9", "prod");
    s.create_sdk_key(&k).await.unwrap();
    let other = sdk_key("k10", "prod");
    assert_eq!(
        s.restore_sdk_keys(&[k.clone(), other.clone()])
            .await
            .unwrap(),
        1
    );
    assert!(s.list_sdk_keys().await.unwrap().contains(&other));
}

fn sdk_key(id: &str, e: &str) -> SdkKeyRecord {
    SdkKeyRecord {
        id: id.into(),
        environment: env(e),
        name: format!("key {id}"),
        hash: format!(
            "{:0>64}",
            id.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        ),
        created_at: at(1),
        created_by: "test".into(),
    }
}
