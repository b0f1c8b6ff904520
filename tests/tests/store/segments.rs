//! Segments: written atomically with the environment version, an audit entry and a change-log
//! entry, like flags; loaded, restored and deleted with their environment.

use flag_sdk::Segment;
use flag_server::store::{AuditAction, ChangeEvent, EnvState, WriteOp};
use flag_server::StoreError;

use crate::support::*;

fn segment(k: &str, included: &[&str]) -> Segment {
    Segment::from_value(serde_json::json!({
        "key": k, "included": included,
        "conditions": [{"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}],
    }))
    .unwrap()
}

fn put_segment(k: &str, included: &[&str]) -> WriteOp {
    WriteOp::PutSegment(segment(k, included))
}

fn delete_segment(k: &str) -> WriteOp {
    WriteOp::DeleteSegment(key(k))
}

pub async fn segments_are_written_like_flags(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    // A segment and a flag may share a key: they live apart.
    let c = s
        .write(
            &e,
            vec![put_segment("beta", &["u1"]), create("beta")],
            &meta("alice"),
        )
        .await
        .unwrap();
    assert_eq!(versions(&c), [1, 2]);
    assert!(
        matches!(&c[0].event, ChangeEvent::SegmentPut { segment } if segment.key.as_str() == "beta")
    );
    let state = s.load(&e).await.unwrap();
    assert_eq!(state.segments, vec![segment("beta", &["u1"])]);
    assert_eq!(state.flags.len(), 1);

    s.write(&e, vec![put_segment("beta", &["u1", "u2"])], &meta("bob"))
        .await
        .unwrap();
    s.write(&e, vec![put_segment("alpha", &[])], &meta("bob"))
        .await
        .unwrap();
    let state = s.load(&e).await.unwrap();
    let keys: Vec<&str> = state.segments.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["alpha", "beta"], "sorted by key");
    assert_eq!(state.segments[1].included, ["u1", "u2"]);

    let changes = replayed(s.changes_since(&e, 0).await.unwrap());
    assert_eq!(versions(&changes), [1, 2, 3, 4]);
    assert!(
        matches!(&changes[2].event, ChangeEvent::SegmentPut { segment } if segment.included.len() == 2)
    );

    // A failed batch (a missing segment) writes nothing.
    let err = s
        .write(
            &e,
            vec![put_segment("gamma", &[]), delete_segment("nope")],
            &meta("carol"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SegmentNotFound(k) if k == "nope"));
    assert_eq!(s.version(&e).await.unwrap(), 4);
    assert_eq!(s.load(&e).await.unwrap().segments.len(), 2);

    let c = s
        .write(&e, vec![delete_segment("alpha")], &meta("carol"))
        .await
        .unwrap();
    assert!(matches!(&c[0].event, ChangeEvent::SegmentDelete { key } if key.as_str() == "alpha"));
    let changes = replayed(s.changes_since(&e, 4).await.unwrap());
    assert!(
        matches!(&changes[0].event, ChangeEvent::SegmentDelete { key } if key.as_str() == "alpha")
    );

    let audit = s.audit(&e, 10, None).await.unwrap();
    let actions: Vec<AuditAction> = audit.iter().map(|a| a.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::SegmentDelete,
            AuditAction::SegmentCreate,
            AuditAction::SegmentUpdate,
            AuditAction::Create,
            AuditAction::SegmentCreate,
        ]
    );
    assert_eq!(audit[0].key.as_ref().map(|k| k.as_str()), Some("alpha"));
    assert_eq!(audit[0].segment_before, Some(segment("alpha", &[])));
    assert_eq!(audit[0].segment_after, None);
    assert_eq!(audit[2].segment_before, Some(segment("beta", &["u1"])));
    assert_eq!(audit[2].segment_after, Some(segment("beta", &["u1", "u2"])));
    assert_eq!(audit[2].before, None);
    assert_eq!(audit[4].segment_before, None);
    assert_eq!(audit[4].actor, "alice");
}

pub async fn write_at_checks_the_environment_version(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    s.write(&e, vec![create("a")], &meta("t")).await.unwrap();
    let err = s
        .write_at(
            &e,
            Some(0),
            vec![put_segment("beta", &[]), create("b")],
            &meta("t"),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::EnvChanged {
            expected: 0,
            actual: 1
        }
    ));
    assert_eq!(s.version(&e).await.unwrap(), 1);
    assert!(s.load(&e).await.unwrap().segments.is_empty());
    let c = s
        .write_at(&e, Some(1), vec![put_segment("beta", &[])], &meta("t"))
        .await
        .unwrap();
    assert_eq!(versions(&c), [2]);
}

pub async fn segments_are_restored_and_deleted_with_their_environment(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    s.write(
        &e,
        vec![put_segment("beta", &["u1"]), create("a")],
        &meta("t"),
    )
    .await
    .unwrap();
    let held = s.load(&e).await.unwrap();
    let qa = EnvState {
        environment: env("qa"),
        ..held.clone()
    };
    assert!(s.restore_environment(&qa, 0, &meta("srv")).await.unwrap());
    let back = s.load(&env("qa")).await.unwrap();
    assert_eq!(back.segments, held.segments);
    assert_eq!(back.flags, held.flags);
    let audit = s.audit(&env("qa"), 1, None).await.unwrap();
    assert_eq!(
        audit[0].restored.map(|r| (r.flags, r.segments)),
        Some((1, 1))
    );
    // A restore replaces the segments the store had.
    let newer = EnvState {
        version: held.version + 5,
        segments: Vec::new(),
        ..held.clone()
    };
    assert!(s
        .restore_environment(&newer, 0, &meta("srv"))
        .await
        .unwrap());
    assert!(s.load(&e).await.unwrap().segments.is_empty());

    s.write(&e, vec![put_segment("beta", &[])], &meta("t"))
        .await
        .unwrap();
    s.delete_environment(&e).await.unwrap();
    s.create_environment(&e).await.unwrap();
    assert!(s.load(&e).await.unwrap().segments.is_empty());
}
