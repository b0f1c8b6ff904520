//! The change log: exact replay, trimming, and waiting for changes.

use std::time::{Duration, Instant};

use flag_server::store::{ChangeEvent, Limits, Replay};

use crate::support::*;

pub async fn changes_since_is_exact(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    assert_eq!(
        s.changes_since(&e, 0).await.unwrap(),
        Replay::Changes(vec![])
    );
    let mut written = Vec::new();
    for op in [
        create("a"),
        create("b"),
        put("a", 10.0, Some(1)),
        delete("b", Some(2)),
        create("c"),
    ] {
        written.extend(s.write(&e, vec![op], &meta("t")).await.unwrap());
    }
    assert_eq!(replayed(s.changes_since(&e, 0).await.unwrap()), written);
    let after2 = replayed(s.changes_since(&e, 2).await.unwrap());
    assert_eq!(versions(&after2), vec![3, 4, 5]);
    assert_eq!(after2, written[2..]);
    assert!(matches!(&after2[1].event, ChangeEvent::Delete { key } if key.as_str() == "b"));
    assert_eq!(
        s.changes_since(&e, 5).await.unwrap(),
        Replay::Changes(vec![]),
        "up to date"
    );
    assert_eq!(
        s.changes_since(&e, 6).await.unwrap(),
        Replay::TooOld,
        "in the future"
    );
    assert_eq!(s.changes_since(&e, u64::MAX).await.unwrap(), Replay::TooOld);
}

pub async fn change_log_is_trimmed(b: &Backend) {
    let s = b.fresh(Limits {
        change_log_len: 3,
        audit_len: 4,
    });
    let e = with_env(&*s, "prod").await;
    s.write(&e, vec![create("a"), create("b")], &meta("t"))
        .await
        .unwrap();
    for v in 2..6 {
        s.write(
            &e,
            vec![put("a", 1.0, Some(if v == 2 { 1 } else { v }))],
            &meta("t"),
        )
        .await
        .unwrap();
    }
    // Versions 1..=6 were written; the last 3 are kept.
    assert_eq!(s.version(&e).await.unwrap(), 6);
    assert_eq!(
        versions(&replayed(s.changes_since(&e, 3).await.unwrap())),
        vec![4, 5, 6]
    );
    assert_eq!(
        versions(&replayed(s.changes_since(&e, 5).await.unwrap())),
        vec![6]
    );
    assert_eq!(s.changes_since(&e, 2).await.unwrap(), Replay::TooOld);
    assert_eq!(s.changes_since(&e, 0).await.unwrap(), Replay::TooOld);
    // The audit trail is trimmed to its own length.
    let audit = s.audit(&e, 100, None).await.unwrap();
    assert_eq!(
        audit.iter().map(|a| a.version).collect::<Vec<_>>(),
        vec![6, 5, 4, 3]
    );
}

pub async fn wait_wakes_up_on_a_write(b: &Backend) {
    let s = b.store.clone();
    let e = with_env(&*s, "prod").await;
    let other = with_env(&*s, "dev").await;
    let waiter = {
        let (s, e, other) = (s.clone(), e.clone(), other.clone());
        tokio::spawn(async move {
            let start = Instant::now();
            let changes = s
                .wait_for_changes(&[(other, 0), (e, 0)], Duration::from_secs(20))
                .await;
            (changes, start.elapsed())
        })
    };
    // Give the waiter a moment to block (the test passes either way: a waiter that starts
    // after the write finds it in the log).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = s.write(&e, vec![create("a")], &meta("t")).await.unwrap();
    let (changes, took) = waiter.await.unwrap();
    assert_eq!(changes.unwrap(), written);
    assert!(took < Duration::from_secs(5), "woke up after {took:?}");
}

pub async fn wait_returns_pending_changes_at_once(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    let d = with_env(s, "dev").await;
    s.write(&e, vec![create("a"), create("b"), create("c")], &meta("t"))
        .await
        .unwrap();
    s.write(&d, vec![create("x")], &meta("t")).await.unwrap();
    let start = Instant::now();
    let changes = s
        .wait_for_changes(&[(e.clone(), 1), (d.clone(), 1)], Duration::from_secs(20))
        .await
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    // Only the environment with news, from after its cursor, in order.
    assert_eq!(versions(&changes), vec![2, 3]);
    assert!(changes.iter().all(|c| c.environment == e));
    let both = s
        .wait_for_changes(&[(e.clone(), 2), (d.clone(), 0)], Duration::from_secs(20))
        .await
        .unwrap();
    let mut got: Vec<(String, u64)> = both
        .iter()
        .map(|c| (c.environment.to_string(), c.version))
        .collect();
    got.sort();
    assert_eq!(got, vec![("dev".to_owned(), 1), ("prod".to_owned(), 3)]);
}

pub async fn wait_times_out_empty(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    s.write(&e, vec![create("a")], &meta("t")).await.unwrap();
    let start = Instant::now();
    let changes = s
        .wait_for_changes(&[(e.clone(), 1)], Duration::from_millis(300))
        .await
        .unwrap();
    let took = start.elapsed();
    assert!(changes.is_empty());
    assert!(
        took >= Duration::from_millis(250),
        "returned early after {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "timed out late after {took:?}"
    );
}

pub async fn wait_ignores_other_environments(b: &Backend) {
    let s = b.store.clone();
    let e = with_env(&*s, "prod").await;
    let d = with_env(&*s, "dev").await;
    s.write(&d, vec![create("x")], &meta("t")).await.unwrap();
    let start = Instant::now();
    let changes = s
        .wait_for_changes(&[(e.clone(), 0)], Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        changes.is_empty(),
        "a change of dev is not a change of prod"
    );
    assert!(start.elapsed() >= Duration::from_millis(250));
}
