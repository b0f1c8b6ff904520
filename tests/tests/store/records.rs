//! Audit entries, SDK keys and usage counts.

use std::collections::HashMap;

use flag_server::store::{AuditAction, FlagUsage, SdkKeyRecord};
use flag_server::StoreError;

use crate::support::*;

pub async fn audit_is_newest_first_with_paging(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    s.write(&e, vec![create("a")], &meta_why("alice", "launch"))
        .await
        .unwrap();
    s.write(
        &e,
        vec![put("a", 10.0, Some(1))],
        &meta_why("bob", "canary 10%"),
    )
    .await
    .unwrap();
    s.write(&e, vec![create("b"), delete("a", None)], &meta("carol"))
        .await
        .unwrap();

    let all = s.audit(&e, 10, None).await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.version).collect::<Vec<_>>(),
        vec![4, 3, 2, 1]
    );
    let actions: Vec<_> = all
        .iter()
        .map(|a| {
            (
                a.action,
                a.key.as_ref().map_or("", |k| k.as_str()),
                a.actor.as_str(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            (AuditAction::Delete, "a", "carol"),
            (AuditAction::Create, "b", "carol"),
            (AuditAction::Update, "a", "bob"),
            (AuditAction::Create, "a", "alice"),
        ]
    );
    let (del, upd, crt) = (&all[0], &all[2], &all[3]);
    assert_eq!(crt.reason.as_deref(), Some("launch"));
    assert_eq!(upd.reason.as_deref(), Some("canary 10%"));
    assert_eq!(del.reason, None);
    assert!(crt.before.is_none());
    assert_eq!(crt.after.as_ref().unwrap().version, 1);
    assert_eq!(upd.before.as_ref().unwrap().percentage.as_f64(), 50.0);
    assert_eq!(upd.before.as_ref().unwrap().version, 1);
    assert_eq!(upd.after.as_ref().unwrap().percentage.as_f64(), 10.0);
    assert_eq!(upd.after.as_ref().unwrap().version, 2);
    assert_eq!(
        upd.after.as_ref().unwrap().updated_by.as_deref(),
        Some("bob")
    );
    assert_eq!(del.before.as_ref().unwrap().version, 2);
    assert!(del.after.is_none());
    assert!(all[0].at >= all[3].at);

    let page = |limit, before| s.audit(&e, limit, before);
    let v = |entries: Vec<flag_server::store::AuditEntry>| {
        entries.iter().map(|a| a.version).collect::<Vec<_>>()
    };
    assert_eq!(v(page(2, None).await.unwrap()), vec![4, 3]);
    assert_eq!(v(page(2, Some(3)).await.unwrap()), vec![2, 1]);
    assert_eq!(v(page(10, Some(2)).await.unwrap()), vec![1]);
    assert!(page(10, Some(1)).await.unwrap().is_empty());
    assert!(page(0, None).await.unwrap().is_empty());
    assert_eq!(v(page(10, Some(100)).await.unwrap()), vec![4, 3, 2, 1]);
    assert_eq!(v(page(usize::MAX, None).await.unwrap()), vec![4, 3, 2, 1]);
}

fn sdk_key(id: &str, e: &str, secs: i64) -> SdkKeyRecord {
    SdkKeyRecord {
        id: id.to_owned(),
        environment: env(e),
        name: format!("service {id}"),
        hash: format!("{:064x}", secs),
        created_at: at(secs),
        created_by: "admin".to_owned(),
    }
}

pub async fn sdk_keys_create_list_revoke(b: &Backend) {
    let s = &*b.store;
    let prod = with_env(s, "prod").await;
    let dev = with_env(s, "dev").await;
    assert!(s.list_sdk_keys().await.unwrap().is_empty());
    let keys = [
        sdk_key("p2", "prod", 2),
        sdk_key("p1", "prod", 1),
        sdk_key("d1", "dev", 3),
    ];
    for k in &keys {
        s.create_sdk_key(k).await.unwrap();
    }
    let listed = s.list_sdk_keys().await.unwrap();
    assert_eq!(
        listed,
        vec![keys[2].clone(), keys[1].clone(), keys[0].clone()],
        "by environment, then age"
    );

    assert!(matches!(
        s.create_sdk_key(&sdk_key("x", "staging", 1)).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.create_sdk_key(&sdk_key("p1", "prod", 9)).await,
        Err(StoreError::SdkKeyExists(_))
    ));
    assert!(
        matches!(
            s.revoke_sdk_key(&dev, "p1").await,
            Err(StoreError::SdkKeyNotFound(_))
        ),
        "wrong environment"
    );
    assert!(matches!(
        s.revoke_sdk_key(&prod, "nope").await,
        Err(StoreError::SdkKeyNotFound(_))
    ));
    s.revoke_sdk_key(&prod, "p1").await.unwrap();
    assert!(matches!(
        s.revoke_sdk_key(&prod, "p1").await,
        Err(StoreError::SdkKeyNotFound(_))
    ));
    let ids: Vec<String> = s
        .list_sdk_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, vec!["d1", "p2"]);
}

pub async fn usage_sums_reports(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    let other = with_env(s, "dev").await;
    assert!(s.usage(&e).await.unwrap().is_empty());
    let report = |pairs: &[(&str, u64, u64)]| -> HashMap<String, (u64, u64)> {
        pairs
            .iter()
            .map(|(k, y, n)| ((*k).to_owned(), (*y, *n)))
            .collect()
    };
    s.record_usage(&e, at(10), &report(&[("a", 1, 2)]))
        .await
        .unwrap();
    s.record_usage(&e, at(20), &report(&[("a", 3, 4), ("b", 5, 0)]))
        .await
        .unwrap();
    // A late report of an older period adds its counts but does not move "last evaluated" back.
    s.record_usage(&e, at(15), &report(&[("a", 10, 0)]))
        .await
        .unwrap();
    s.record_usage(&other, at(30), &report(&[("a", 100, 100)]))
        .await
        .unwrap();
    let usage = s.usage(&e).await.unwrap();
    assert_eq!(usage.len(), 2);
    assert_eq!(
        usage["a"],
        FlagUsage {
            yes: 14,
            no: 6,
            last_evaluated: Some(at(20))
        }
    );
    assert_eq!(
        usage["b"],
        FlagUsage {
            yes: 5,
            no: 0,
            last_evaluated: Some(at(20))
        }
    );
    assert!(matches!(
        s.record_usage(&env("staging"), at(1), &report(&[("a", 1, 1)]))
            .await,
        Err(StoreError::EnvNotFound(_))
    ));
}

pub async fn ping_and_kind(b: &Backend) {
    b.store.ping().await.unwrap();
    assert!(["embedded", "redis"].contains(&b.store.kind()));
}

pub async fn jobs_are_compare_and_set(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    with_env(s, "dev").await;
    assert_eq!(s.jobs(&e).await.unwrap(), vec![]);
    assert_eq!(s.job_environments().await.unwrap(), vec![]);
    assert_eq!(s.put_job(&e, "sch_b", 0, r#"{"n":1}"#).await.unwrap(), 1);
    assert_eq!(s.put_job(&e, "rel_a", 0, "{}").await.unwrap(), 1);
    assert_eq!(s.job_environments().await.unwrap(), vec![e.clone()]);
    // Creating it again, or writing at a revision it is not at, changes nothing.
    for expected in [0, 2] {
        match s.put_job(&e, "sch_b", expected, r#"{"n":9}"#).await {
            Err(StoreError::JobConflict {
                expected: x,
                actual: 1,
                ..
            }) => assert_eq!(x, expected),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(s.put_job(&e, "sch_b", 1, r#"{"n": 2}"#).await.unwrap(), 2);
    let jobs = s.jobs(&e).await.unwrap();
    assert_eq!(
        jobs.iter()
            .map(|j| (j.id.as_str(), j.rev, j.body.as_str()))
            .collect::<Vec<_>>(),
        vec![("rel_a", 1, "{}"), ("sch_b", 2, r#"{"n": 2}"#)]
    );
    // Two writers that read the same revision: exactly one wins.
    let (x, y) = tokio::join!(
        s.put_job(&e, "rel_a", 1, r#"{"by":"x"}"#),
        s.put_job(&e, "rel_a", 1, r#"{"by":"y"}"#)
    );
    assert!(x.is_ok() != y.is_ok(), "{x:?} {y:?}");
    assert!(matches!(
        s.delete_job(&e, "rel_a", 1).await,
        Err(StoreError::JobConflict { actual: 2, .. })
    ));
    s.delete_job(&e, "rel_a", 2).await.unwrap();
    assert!(matches!(
        s.delete_job(&e, "rel_a", 0).await,
        Err(StoreError::JobConflict { actual: 0, .. })
    ));
    assert_eq!(s.jobs(&e).await.unwrap().len(), 1);
    // An unknown environment is an error, not an empty list; deleting one drops its jobs.
    assert!(matches!(
        s.jobs(&env("nope")).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.put_job(&env("nope"), "x", 0, "{}").await,
        Err(StoreError::EnvNotFound(_))
    ));
    s.delete_environment(&e).await.unwrap();
    assert!(!s.job_environments().await.unwrap().contains(&e));
    s.create_environment(&e).await.unwrap();
    assert_eq!(s.jobs(&e).await.unwrap(), vec![]);
}
