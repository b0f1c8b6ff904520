//! Environments and atomic flag writes.

use std::collections::HashMap;
use std::sync::Arc;

use flag_sdk::Flag;
use flag_server::store::{AuditAction, ChangeEvent, Replay, SdkKeyRecord, Store, WriteOp};
use flag_server::StoreError;

use crate::support::*;

pub async fn environments_create_list_delete(b: &Backend) {
    let s = &*b.store;
    assert!(s.list_environments().await.unwrap().is_empty());
    assert!(s.create_environment(&env("prod")).await.unwrap());
    assert!(s.create_environment(&env("dev")).await.unwrap());
    assert!(
        !s.create_environment(&env("prod")).await.unwrap(),
        "create is idempotent"
    );
    assert_eq!(
        s.list_environments().await.unwrap(),
        vec![env("dev"), env("prod")]
    );
    assert_eq!(s.version(&env("prod")).await.unwrap(), 0);
    let state = s.load(&env("prod")).await.unwrap();
    assert_eq!(
        (state.environment, state.version, state.flags.len()),
        (env("prod"), 0, 0)
    );

    s.delete_environment(&env("prod")).await.unwrap();
    assert_eq!(s.list_environments().await.unwrap(), vec![env("dev")]);
    assert!(matches!(
        s.delete_environment(&env("prod")).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.load(&env("prod")).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.version(&env("prod")).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.write(&env("prod"), vec![create("a")], &meta("t")).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.write(&env("prod"), vec![], &meta("t")).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.changes_since(&env("prod"), 0).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.audit(&env("prod"), 10, None).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.usage(&env("prod")).await,
        Err(StoreError::EnvNotFound(_))
    ));
}

fn sdk_key(id: &str, e: &str) -> SdkKeyRecord {
    SdkKeyRecord {
        id: id.to_owned(),
        environment: env(e),
        name: format!("key {id}"),
        hash: "ab".repeat(32),
        created_at: at(0),
        created_by: "admin".to_owned(),
    }
}

pub async fn delete_environment_removes_everything(b: &Backend) {
    let s = &*b.store;
    let prod = with_env(s, "prod").await;
    let dev = with_env(s, "dev").await;
    for e in [&prod, &dev] {
        s.write(e, vec![create("a"), create("b")], &meta("t"))
            .await
            .unwrap();
        s.record_usage(e, at(1), &HashMap::from([("a".to_owned(), (1, 1))]))
            .await
            .unwrap();
    }
    s.create_sdk_key(&sdk_key("k-prod", "prod")).await.unwrap();
    s.create_sdk_key(&sdk_key("k-dev", "dev")).await.unwrap();

    s.delete_environment(&prod).await.unwrap();
    assert!(s.create_environment(&prod).await.unwrap(), "it was gone");
    let state = s.load(&prod).await.unwrap();
    assert_eq!((state.version, state.flags.len()), (0, 0));
    assert!(s.audit(&prod, 100, None).await.unwrap().is_empty());
    assert_eq!(
        s.changes_since(&prod, 0).await.unwrap(),
        Replay::Changes(vec![])
    );
    assert!(s.usage(&prod).await.unwrap().is_empty());
    let keys: Vec<String> = s
        .list_sdk_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(keys, vec!["k-dev"]);
    // The other environment is untouched, and a new one starts at version 1 again.
    assert_eq!(s.load(&dev).await.unwrap().flags.len(), 2);
    assert_eq!(s.usage(&dev).await.unwrap().len(), 1);
    let c = s.write(&prod, vec![create("a")], &meta("t")).await.unwrap();
    assert_eq!(versions(&c), vec![1]);
}

pub async fn writes_get_consecutive_versions(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    let m = meta("alice");
    let c = s.write(&e, vec![create("a")], &m).await.unwrap();
    assert_eq!(versions(&c), vec![1]);
    let ChangeEvent::Put { flag } = &c[0].event else {
        panic!("a put")
    };
    assert_eq!(flag.version, 1);
    assert_eq!(flag.updated_at, Some(m.at));
    assert_eq!(flag.updated_by.as_deref(), Some("alice"));

    let c = s
        .write(
            &e,
            vec![put("a", 10.0, Some(1)), create("b"), delete("a", Some(2))],
            &meta("bob"),
        )
        .await
        .unwrap();
    assert_eq!(versions(&c), vec![2, 3, 4]);
    assert_eq!(
        c.iter().map(change_key).collect::<Vec<_>>(),
        vec!["a", "b", "a"]
    );
    assert!(matches!(&c[2].event, ChangeEvent::Delete { key } if key.as_str() == "a"));
    assert!(c.iter().all(|c| c.environment == e));

    let state = s.load(&e).await.unwrap();
    assert_eq!(state.version, 4);
    assert_eq!(s.version(&e).await.unwrap(), 4);
    assert_eq!(state.flags.len(), 1);
    assert_eq!(state.flags[0].key.as_str(), "b");
    assert_eq!(state.flags[0].version, 3);
    assert_eq!(state.flags[0].updated_by.as_deref(), Some("bob"));

    // An empty batch writes nothing.
    assert!(s.write(&e, vec![], &meta("t")).await.unwrap().is_empty());
    assert_eq!(s.version(&e).await.unwrap(), 4);
    // Environments count separately.
    let dev = with_env(s, "dev").await;
    assert_eq!(
        versions(&s.write(&dev, vec![create("a")], &meta("t")).await.unwrap()),
        vec![1]
    );
}

pub async fn flags_round_trip_exactly(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    let input = Flag::from_json(
        br#"{"key": "new_checkout", "description": "New \"checkout\" flow \u00e9", "enabled": true,
            "rules": [{"id": "staff", "percentage": 100, "conditions": [
                {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]},
              {"id": "eu", "percentage": 25, "conditions": [
                {"attribute": "country", "operator": "in", "values": ["DE", "FR"]},
                {"attribute": "app_version", "operator": "semver_gte", "values": ["2.3.0"]}]}],
            "percentage": 0.25, "stickiness": "account_id", "salt": "s1", "tags": ["checkout", "eu"],
            "owner": "team-payments", "expires_at": "2027-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let m = meta("alice");
    s.write(&e, vec![WriteOp::Create(input.clone())], &m)
        .await
        .unwrap();
    let mut expected = input;
    expected.version = 1;
    expected.updated_at = Some(m.at);
    expected.updated_by = Some("alice".to_owned());
    let state = s.load(&e).await.unwrap();
    assert_eq!(state.flags, vec![expected.clone()]);
    let changes = replayed(s.changes_since(&e, 0).await.unwrap());
    assert_eq!(
        changes[0].event,
        ChangeEvent::Put {
            flag: expected.clone()
        }
    );
    assert_eq!(s.audit(&e, 1, None).await.unwrap()[0].after, Some(expected));
    // Flags come back sorted by key.
    s.write(
        &e,
        vec![create("zeta"), create("alpha"), create("mid")],
        &meta("t"),
    )
    .await
    .unwrap();
    let keys: Vec<String> = s
        .load(&e)
        .await
        .unwrap()
        .flags
        .iter()
        .map(|f| f.key.to_string())
        .collect();
    assert_eq!(keys, vec!["alpha", "mid", "new_checkout", "zeta"]);
}

/// Recognises the error a failing batch must give.
type IsExpected = fn(&StoreError) -> bool;

/// Everything observable about an environment, to compare before and after a failed write.
async fn snapshot(s: &dyn Store, e: &flag_sdk::EnvName) -> (u64, Vec<Flag>, usize, Replay) {
    let state = s.load(e).await.unwrap();
    let audit = s.audit(e, 1000, None).await.unwrap().len();
    (
        state.version,
        state.flags,
        audit,
        s.changes_since(e, 0).await.unwrap(),
    )
}

pub async fn failed_batch_writes_nothing(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    s.write(&e, vec![create("taken"), create("other")], &meta("t"))
        .await
        .unwrap();
    let before = snapshot(s, &e).await;

    let cases: Vec<(Vec<WriteOp>, IsExpected)> = vec![
        (
            vec![create("x"), put("other", 1.0, Some(2)), create("taken")],
            |e| matches!(e, StoreError::FlagExists(_)),
        ),
        (
            vec![create("x"), create("y"), put("taken", 1.0, Some(7))],
            |e| matches!(e, StoreError::Stale { .. }),
        ),
        (
            vec![create("x"), create("y"), delete("missing", None)],
            |e| matches!(e, StoreError::FlagNotFound(_)),
        ),
        (
            vec![create("x"), create("y"), put("missing", 1.0, Some(1))],
            |e| matches!(e, StoreError::FlagNotFound(_)),
        ),
        (
            vec![delete("other", Some(2)), create("y"), delete("other", None)],
            |e| matches!(e, StoreError::FlagNotFound(_)),
        ),
        (vec![create("x"), create("x")], |e| {
            matches!(e, StoreError::FlagExists(_))
        }),
        (vec![create("x"), put("x", 1.0, Some(2))], |e| {
            matches!(e, StoreError::Stale { .. })
        }),
    ];
    for (i, (ops, is_expected)) in cases.into_iter().enumerate() {
        let err = s.write(&e, ops, &meta("t")).await.unwrap_err();
        assert!(is_expected(&err), "case {i}: unexpected {err:?}");
        assert_eq!(snapshot(s, &e).await, before, "case {i} wrote something");
    }

    // Later ops see earlier ones of the same batch.
    let c = s
        .write(
            &e,
            vec![
                create("x"),
                put("x", 5.0, Some(3)),
                delete("x", Some(4)),
                create("x"),
            ],
            &meta("t"),
        )
        .await
        .unwrap();
    assert_eq!(versions(&c), vec![3, 4, 5, 6]);
    assert_eq!(
        s.load(&e)
            .await
            .unwrap()
            .flags
            .iter()
            .find(|f| f.key.as_str() == "x")
            .unwrap()
            .version,
        6
    );
}

pub async fn expected_versions_are_checked(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    // Put without an expected version creates, then replaces.
    s.write(&e, vec![put("a", 1.0, None)], &meta("t"))
        .await
        .unwrap();
    s.write(&e, vec![put("a", 2.0, None)], &meta("t"))
        .await
        .unwrap();
    let actions: Vec<AuditAction> = s
        .audit(&e, 10, None)
        .await
        .unwrap()
        .iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(actions, vec![AuditAction::Update, AuditAction::Create]);

    let err = s
        .write(&e, vec![put("a", 3.0, Some(1))], &meta("t"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Stale { ref key, .. } if key == "a"),
        "{err:?}"
    );
    let err = s
        .write(&e, vec![delete("a", Some(1))], &meta("t"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err:?}");
    let err = s
        .write(&e, vec![WriteOp::Create(flag("a", 1.0))], &meta("t"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::FlagExists(_)), "{err:?}");
    assert!(matches!(
        s.write(&e, vec![delete("nope", None)], &meta("t")).await,
        Err(StoreError::FlagNotFound(_))
    ));

    s.write(&e, vec![put("a", 3.0, Some(2))], &meta("t"))
        .await
        .unwrap();
    s.write(&e, vec![delete("a", Some(3))], &meta("t"))
        .await
        .unwrap();
    assert!(s.load(&e).await.unwrap().flags.is_empty());
    assert_eq!(s.version(&e).await.unwrap(), 4);
}

pub async fn racing_writers_one_wins(b: &Backend) {
    let s: Arc<dyn Store> = b.store.clone();
    let e = with_env(&*s, "prod").await;
    s.write(&e, vec![create("a")], &meta("t")).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (s, e) = (s.clone(), e.clone());
            tokio::spawn(async move {
                s.write(&e, vec![put("a", f64::from(i), Some(1))], &meta("t"))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(c) => {
                assert_eq!(versions(&c), vec![2]);
                ok += 1;
            }
            Err(StoreError::Stale { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one writer wins");
    assert_eq!(s.version(&e).await.unwrap(), 2);
    assert_eq!(s.audit(&e, 100, None).await.unwrap().len(), 2);

    // Unconditional writers all succeed, each with its own version.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (s, e) = (s.clone(), e.clone());
            tokio::spawn(async move {
                s.write(&e, vec![put(&format!("k{i}"), 1.0, None)], &meta("t"))
                    .await
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.extend(versions(&t.await.unwrap().unwrap()));
    }
    seen.sort_unstable();
    assert_eq!(seen, (3..=22).collect::<Vec<_>>());
}
