//! The SDK instances seen (`record_clients`, `clients`): merged per instance id, pruned after
//! a day, per environment, and deleted with their environment.

use std::collections::BTreeSet;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use flag_server::store::{ClientRecord, MAX_CLIENT_FLAGS};
use flag_server::StoreError;

use crate::support::*;

/// Now, to the second (every backend keeps milliseconds).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

fn client(id: &str, app: Option<&str>, version: Option<&str>, seen: DateTime<Utc>) -> ClientRecord {
    ClientRecord {
        instance_id: id.to_owned(),
        app_name: app.map(str::to_owned),
        app_version: version.map(str::to_owned),
        sdk: Some("flag-sdk-rust/0.1.0".to_owned()),
        first_seen: seen,
        last_seen: seen,
        stream_seen: None,
        flags: BTreeSet::new(),
    }
}

fn flags(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

pub async fn clients_merge_per_instance(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    let other = with_env(s, "dev").await;
    let t = now() - TimeDelta::minutes(10);
    let since = t - TimeDelta::hours(1);
    assert!(s.clients(&e, since).await.unwrap().is_empty());

    // Server instance A saw pod-1 first, with a stream and two flags.
    let mut a = client("pod-1", Some("checkout"), Some("2.3.0"), t);
    a.stream_seen = Some(t);
    a.flags = flags(&["new_checkout", "dark_mode"]);
    // Server instance B saw it later, on a new version, without the app name, with another flag.
    let mut b1 = client("pod-1", None, Some("2.3.1"), t + TimeDelta::seconds(30));
    b1.first_seen = t + TimeDelta::seconds(20);
    b1.flags = flags(&["dark_mode", "search_v2"]);
    let pod2 = client("pod-2", Some("api"), None, t + TimeDelta::seconds(5));
    s.record_clients(&e, &[a.clone(), pod2.clone()])
        .await
        .unwrap();
    s.record_clients(&e, &[b1]).await.unwrap();
    // A late write of an older sighting moves nothing back.
    let mut late = client(
        "pod-1",
        Some("checkout"),
        Some("2.2.9"),
        t + TimeDelta::seconds(1),
    );
    late.sdk = None;
    s.record_clients(&e, &[late]).await.unwrap();
    s.record_clients(&other, &[client("pod-9", None, None, t)])
        .await
        .unwrap();

    let list = s.clients(&e, since).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|c| c.instance_id.as_str()).collect();
    assert_eq!(
        ids,
        ["pod-1", "pod-2"],
        "sorted by instance id, this environment only"
    );
    let pod1 = &list[0];
    assert_eq!(pod1.first_seen, t, "the earliest first_seen");
    assert_eq!(
        pod1.last_seen,
        t + TimeDelta::seconds(30),
        "the latest last_seen"
    );
    assert_eq!(pod1.stream_seen, Some(t));
    assert_eq!(
        pod1.app_name.as_deref(),
        Some("checkout"),
        "kept when the newer says nothing"
    );
    assert_eq!(
        pod1.app_version.as_deref(),
        Some("2.3.1"),
        "the newest sighting's"
    );
    assert_eq!(pod1.sdk.as_deref(), Some("flag-sdk-rust/0.1.0"));
    assert_eq!(
        pod1.flags,
        flags(&["dark_mode", "new_checkout", "search_v2"])
    );
    assert_eq!(list[1], pod2, "a record round-trips exactly");

    // `since` leaves out what was seen before it.
    let recent = s.clients(&e, t + TimeDelta::seconds(10)).await.unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].instance_id, "pod-1");

    // The flags of one instance are capped, keeping the first keys.
    let mut many = client("pod-3", None, None, t);
    many.flags = (0..MAX_CLIENT_FLAGS + 200)
        .map(|i| format!("f{i:05}"))
        .collect();
    s.record_clients(&e, &[many]).await.unwrap();
    let mut more = client("pod-3", None, None, t);
    more.flags = flags(&["a0"]);
    s.record_clients(&e, &[more]).await.unwrap();
    let pod3 = s
        .clients(&e, since)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.instance_id == "pod-3")
        .unwrap();
    assert_eq!(pod3.flags.len(), MAX_CLIENT_FLAGS);
    assert_eq!(pod3.flags.first().map(String::as_str), Some("a0"));
    assert!(pod3.flags.contains("f00998") && !pod3.flags.contains("f00999"));
}

pub async fn clients_are_pruned_and_go_with_their_environment(b: &Backend) {
    let s = &*b.store;
    let e = with_env(s, "prod").await;
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let t = now();
    s.record_clients(
        &e,
        &[
            client("fresh", None, None, t),
            client("yesterday", None, None, t - TimeDelta::hours(23)),
            client("stale", None, None, t - TimeDelta::hours(25)),
        ],
    )
    .await
    .unwrap();
    let ids: Vec<String> = s
        .clients(&e, epoch)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.instance_id)
        .collect();
    assert_eq!(
        ids,
        ["fresh", "yesterday"],
        "a record older than a day is dropped"
    );
    // Nothing to merge still works (and prunes).
    s.record_clients(&e, &[]).await.unwrap();
    assert_eq!(s.clients(&e, epoch).await.unwrap().len(), 2);

    let missing = env("nope");
    assert!(matches!(
        s.record_clients(&missing, &[client("x", None, None, t)])
            .await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(matches!(
        s.clients(&missing, epoch).await,
        Err(StoreError::EnvNotFound(_))
    ));

    s.delete_environment(&e).await.unwrap();
    assert!(matches!(
        s.clients(&e, epoch).await,
        Err(StoreError::EnvNotFound(_))
    ));
    assert!(s.create_environment(&e).await.unwrap());
    assert!(
        s.clients(&e, epoch).await.unwrap().is_empty(),
        "deleting an environment deletes its clients"
    );
}
