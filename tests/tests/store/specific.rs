//! What only one backend can show: persistence across reopening, several instances on one
//! Redis, key layout, and Redis outages.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flag_server::store::embedded::EmbeddedStore;
use flag_server::store::redis::RedisStore;
use flag_server::store::{Replay, SdkKeyRecord, Store};
use flag_server::StoreError;
use flag_tests::redis::RedisServer;

use crate::support::*;

async fn populate(s: &dyn Store) {
    let e = with_env(s, "prod").await;
    with_env(s, "dev").await;
    s.write(
        &e,
        vec![create("a"), create("b")],
        &meta_why("alice", "launch"),
    )
    .await
    .unwrap();
    s.write(
        &e,
        vec![put("a", 5.0, Some(1)), delete("b", None)],
        &meta("bob"),
    )
    .await
    .unwrap();
    s.create_sdk_key(&SdkKeyRecord {
        id: "k1".to_owned(),
        environment: e.clone(),
        name: "web".to_owned(),
        hash: "00".repeat(32),
        created_at: at(0),
        created_by: "admin".to_owned(),
    })
    .await
    .unwrap();
    s.record_usage(&e, at(5), &HashMap::from([("a".to_owned(), (3, 4))]))
        .await
        .unwrap();
}

/// Everything a store holds, for comparing two views of the same data.
async fn everything(s: &dyn Store) -> String {
    let e = env("prod");
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        s.list_environments().await.unwrap(),
        s.load(&e).await.unwrap(),
        s.changes_since(&e, 0).await.unwrap(),
        s.audit(&e, 100, None).await.unwrap(),
        s.list_sdk_keys().await.unwrap(),
        s.usage(&e).await.unwrap(),
    )
}

#[tokio::test]
async fn embedded_reopened_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let s = EmbeddedStore::open(&dir.path().join("nested/data")).unwrap();
        populate(&s).await;
        everything(&s).await
    };
    let s = EmbeddedStore::open(&dir.path().join("nested/data")).unwrap();
    assert_eq!(everything(&s).await, before);
    assert_eq!(s.version(&env("prod")).await.unwrap(), 4);
    // And it goes on from where it was.
    let c = s
        .write(&env("prod"), vec![create("c")], &meta("t"))
        .await
        .unwrap();
    assert_eq!(versions(&c), vec![5]);
}

#[tokio::test]
async fn embedded_open_fails_cleanly_on_a_bad_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    assert!(EmbeddedStore::open(&file.join("data")).is_err());
    assert!(EmbeddedStore::open(&file).is_err());
    // One directory, one live store: a second open fails instead of corrupting it.
    let first = EmbeddedStore::open(dir.path()).unwrap();
    assert!(EmbeddedStore::open(dir.path()).is_err());
    drop(first);
    EmbeddedStore::open(dir.path()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_racing_instances_one_wins() {
    let server = RedisServer::start();
    let prefix = unique_prefix();
    let a: Arc<dyn Store> = Arc::new(RedisStore::connect(&server.url(), &prefix).unwrap());
    let b: Arc<dyn Store> = Arc::new(RedisStore::connect(&server.url(), &prefix).unwrap());
    let e = with_env(&*a, "prod").await;
    a.write(&e, vec![create("a")], &meta("t")).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let e = e.clone();
            tokio::spawn(async move {
                s.write(&e, vec![put("a", f64::from(i), Some(1))], &meta("t"))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Stale { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(b.version(&e).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_instances_share_data_and_changes() {
    let server = RedisServer::start();
    let prefix = unique_prefix();
    let a: Arc<dyn Store> = Arc::new(RedisStore::connect(&server.url(), &prefix).unwrap());
    let b: Arc<dyn Store> = Arc::new(RedisStore::connect(&server.url(), &prefix).unwrap());
    populate(&*a).await;
    assert_eq!(everything(&*b).await, everything(&*a).await);

    let e = env("prod");
    let waiter = {
        let (b, e) = (b.clone(), e.clone());
        tokio::spawn(async move { b.wait_for_changes(&[(e, 4)], Duration::from_secs(20)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    let written = a.write(&e, vec![create("c")], &meta("t")).await.unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), written);
    assert!(start.elapsed() < Duration::from_secs(5));

    // Another prefix is another deployment: it sees nothing.
    let c = RedisStore::connect(&server.url(), &unique_prefix()).unwrap();
    c.ensure_identity("c").await.unwrap();
    assert!(c.list_environments().await.unwrap().is_empty());
    assert!(c.list_sdk_keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn redis_keys_are_prefixed_and_hash_tagged() {
    let server = RedisServer::start();
    let s = RedisStore::connect(&server.url(), "myapp").unwrap();
    populate(&s).await;
    let client = redis::Client::open(server.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    for k in &keys {
        assert!(k.starts_with("myapp:"), "{k} is outside the prefix");
        let global = [
            "myapp:envs",
            "myapp:sdk_keys",
            "myapp:events",
            "myapp:epoch",
            "myapp:job_envs",
        ]
        .contains(&k.as_str())
            || k.starts_with("myapp:lease:");
        assert!(
            global || k.starts_with("myapp:{prod}:") || k.starts_with("myapp:{dev}:"),
            "{k}"
        );
    }
}

#[tokio::test]
async fn redis_rejects_bad_configuration() {
    assert!(RedisStore::connect("not a url", "flags").is_err());
    assert!(RedisStore::connect("http://127.0.0.1:6379", "flags").is_err());
    assert!(RedisStore::connect("redis://127.0.0.1:6379", "").is_err());
    assert!(RedisStore::connect("redis://127.0.0.1:6379", "a{b}").is_err());
}

/// Asserts that a call fails with `Unavailable` within a few seconds.
async fn fails_fast<T: std::fmt::Debug>(
    what: &str,
    call: impl std::future::Future<Output = flag_server::store::Result<T>>,
) {
    let start = Instant::now();
    let r = call.await;
    let took = start.elapsed();
    assert!(
        matches!(r, Err(StoreError::Unavailable(_))),
        "{what}: expected Unavailable, got {r:?}"
    );
    assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
}

#[tokio::test]
async fn redis_unreachable_at_start_is_not_an_error() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let s = RedisStore::connect(&url, "flags").unwrap();
    fails_fast("ping", s.ping()).await;
    fails_fast("load", s.load(&env("prod"))).await;
    server.start_again();
    wait_for("store reachable", Duration::from_secs(15), || async {
        s.ping().await.ok()
    })
    .await;
    assert!(s.create_environment(&env("prod")).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_outage_fails_fast_and_recovers() {
    let mut server = RedisServer::start();
    let s: Arc<dyn Store> = Arc::new(RedisStore::connect(&server.url(), &unique_prefix()).unwrap());
    populate(&*s).await;
    let before = everything(&*s).await;
    let e = env("prod");

    // A waiter blocked in Redis when it dies hears about it at once.
    let waiter = {
        let (s, e) = (s.clone(), e.clone());
        tokio::spawn(async move { s.wait_for_changes(&[(e, 4)], Duration::from_secs(30)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = Instant::now();
    server.stop();
    let r = waiter.await.unwrap();
    assert!(
        matches!(r, Err(StoreError::Unavailable(_))),
        "blocked waiter got {r:?}"
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "blocked waiter took {:?}",
        stopped.elapsed()
    );
    fails_fast("ping", s.ping()).await;
    fails_fast("write", s.write(&e, vec![create("during")], &meta("t"))).await;
    fails_fast("load", s.load(&e)).await;
    fails_fast("version", s.version(&e)).await;
    fails_fast("changes_since", s.changes_since(&e, 0)).await;
    fails_fast("list_environments", s.list_environments()).await;
    fails_fast(
        "wait_for_changes",
        s.wait_for_changes(&[(e.clone(), 4)], Duration::from_millis(500)),
    )
    .await;

    server.start_again();
    wait_for("store works again", Duration::from_secs(15), || async {
        s.load(&e).await.ok()
    })
    .await;
    // Everything acknowledged before the outage is there; nothing of the failed write is.
    assert_eq!(everything(&*s).await, before);
    let c = s
        .write(&e, vec![create("after")], &meta("t"))
        .await
        .unwrap();
    assert_eq!(versions(&c), vec![5]);
    assert_eq!(
        versions(&replayed(s.changes_since(&e, 4).await.unwrap())),
        vec![5]
    );
    // Waiting works again too, on a new dedicated connection.
    let got = s
        .wait_for_changes(&[(e.clone(), 4)], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got, c);
    assert_ne!(s.changes_since(&e, 0).await.unwrap(), Replay::TooOld);
}

/// The environment variable that makes [`embedded_crash_child`] write into a directory.
const CRASH_DIR: &str = "FLAG_TEST_CRASH_DIR";

/// Run by [`embedded_survives_kill_9`] in a child process: writes one flag per transaction
/// and prints `acked <version>` after each acknowledged write, until it is killed.
#[tokio::test]
#[ignore = "a child process of embedded_survives_kill_9"]
async fn embedded_crash_child() {
    use std::io::Write;
    let dir = std::env::var(CRASH_DIR).expect("run by embedded_survives_kill_9");
    let s = EmbeddedStore::open(std::path::Path::new(&dir)).unwrap();
    let e = env("prod");
    s.create_environment(&e).await.unwrap();
    for i in 0..100_000 {
        let c = s
            .write(&e, vec![create(&format!("f{i}"))], &meta("child"))
            .await
            .unwrap();
        let mut out = std::io::stdout().lock();
        writeln!(out, "acked {}", c[0].version).unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test]
async fn embedded_survives_kill_9() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "specific::embedded_crash_child",
            "--ignored",
            "--nocapture",
        ])
        .env(CRASH_DIR, dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut acked = 0u64;
    for line in stdout.lines() {
        if let Some(v) = line.unwrap().strip_prefix("acked ") {
            acked = v.parse().unwrap();
            if acked >= 50 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL, in the middle of writing
    child.wait().unwrap();
    assert!(acked >= 50, "the child acknowledged only {acked} writes");

    let s = EmbeddedStore::open(dir.path()).unwrap();
    let e = env("prod");
    let state = s.load(&e).await.unwrap();
    assert!(
        state.version >= acked,
        "acknowledged {acked}, found {}",
        state.version
    );
    // Whole transactions only: every version has its flag, audit entry and change.
    assert_eq!(state.flags.len() as u64, state.version);
    let changes = replayed(s.changes_since(&e, 0).await.unwrap());
    assert_eq!(versions(&changes), (1..=state.version).collect::<Vec<_>>());
    assert_eq!(
        s.audit(&e, 1_000_000, None).await.unwrap().len() as u64,
        state.version
    );
    s.write(&e, vec![create("after")], &meta("t"))
        .await
        .unwrap();
}

#[tokio::test]
async fn redis_without_its_identity_reports_missing_environments_as_unavailable() {
    let mut server = RedisServer::start_volatile();
    let prefix = unique_prefix();
    let s = RedisStore::connect(&server.url(), &prefix).unwrap();
    s.ensure_identity("first").await.unwrap();
    let e = with_env(&s, "prod").await;
    assert!(matches!(
        s.load(&env("nope")).await,
        Err(StoreError::EnvNotFound(_))
    ));
    server.start_empty_again();
    // Everything is gone, the identity too: not "does not exist", but "unavailable".
    let lost = wait_for("Redis answers again", Duration::from_secs(10), || async {
        match s.load(&e).await {
            Err(StoreError::Unavailable(m)) if m.contains("lost its data") => Some(m),
            _ => None,
        }
    })
    .await;
    assert!(lost.contains("lost its data"), "{lost}");
    assert!(matches!(
        s.write(&e, vec![create("a")], &meta("t")).await,
        Err(StoreError::Unavailable(_))
    ));
    // An empty listing is not taken for "there are none" either.
    assert!(matches!(
        s.list_environments().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        s.list_sdk_keys().await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(s.identity().await.unwrap(), None);
}

#[tokio::test]
async fn redis_says_whether_it_persists() {
    use flag_server::store::Durability;
    let durable = RedisServer::start();
    let s = RedisStore::connect(&durable.url(), "p").unwrap();
    assert_eq!(s.durability().await.unwrap(), Durability::Durable);
    let volatile = RedisServer::start_volatile();
    let s = RedisStore::connect(&volatile.url(), "p").unwrap();
    assert!(matches!(
        s.durability().await.unwrap(),
        Durability::Volatile(_)
    ));
    // A Redis that forbids CONFIG (as managed ones do) cannot tell.
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("-config")
        .query(&mut volatile.connection())
        .unwrap();
    let s = RedisStore::connect(&volatile.url(), "p").unwrap();
    assert_eq!(s.durability().await.unwrap(), Durability::Unknown);
}
