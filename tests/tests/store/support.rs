//! Backends for the conformance suite, and small builders.

use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use flag_sdk::{EnvName, Flag, FlagKey};
use flag_server::store::embedded::EmbeddedStore;
use flag_server::store::redis::RedisStore;
use flag_server::store::{Change, ChangeEvent, ChangeMeta, Limits, Replay, Store, WriteOp};
use flag_tests::cluster::RedisCluster;
use flag_tests::redis::RedisServer;
use flag_tests::sentinel::RedisSentinel;
pub use flag_tests::unique_prefix;
pub use flag_tests::wait::wait_for;

/// One backend under test: a store, and the means to open more independent ones of its kind.
pub struct Backend {
    /// The store every behaviour runs against.
    pub store: Arc<dyn Store>,
    kind: Kind,
    /// Temporary directories (embedded) kept alive as long as the backend.
    dirs: Mutex<Vec<tempfile::TempDir>>,
}

enum Kind {
    Embedded,
    Redis(RedisServer),
    Cluster(&'static RedisCluster),
    Sentinel(&'static RedisSentinel),
}

/// One Redis Cluster (three primaries) for every test of this binary: forming one takes
/// seconds, and each test has a key prefix of its own.
static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
/// One Sentinel deployment (primary, replica, three sentinels) for every test, likewise.
static SENTINEL: OnceLock<RedisSentinel> = OnceLock::new();

impl Backend {
    /// An embedded store in a fresh temporary directory.
    pub fn embedded() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        Backend {
            store: Arc::new(store),
            kind: Kind::Embedded,
            dirs: Mutex::new(vec![dir]),
        }
    }

    /// A Redis store on a redis-server of its own.
    pub fn redis() -> Backend {
        let server = RedisServer::start();
        let prefix = unique_prefix();
        give_identity(&server, &prefix);
        let store = RedisStore::connect(&server.url(), &prefix).unwrap();
        Backend {
            store: Arc::new(store),
            kind: Kind::Redis(server),
            dirs: Mutex::new(Vec::new()),
        }
    }

    /// A Redis store on the shared Redis Cluster (`redis+cluster://`).
    pub fn cluster() -> Backend {
        let cluster = CLUSTER.get_or_init(|| RedisCluster::start(3, 0));
        let kind = Kind::Cluster(cluster);
        let store = kind.redis_store(Limits::default());
        Backend {
            store,
            kind,
            dirs: Mutex::new(Vec::new()),
        }
    }

    /// A Redis store on the shared Sentinel deployment (`redis+sentinel://`).
    pub fn sentinel() -> Backend {
        let sentinel = SENTINEL.get_or_init(RedisSentinel::start);
        let kind = Kind::Sentinel(sentinel);
        let store = kind.redis_store(Limits::default());
        Backend {
            store,
            kind,
            dirs: Mutex::new(Vec::new()),
        }
    }

    /// Another, independent (empty) store of the same kind with the given limits.
    pub fn fresh(&self, limits: Limits) -> Arc<dyn Store> {
        match &self.kind {
            Kind::Embedded => {
                let dir = tempfile::tempdir().unwrap();
                let store = EmbeddedStore::open_with(dir.path(), limits).unwrap();
                self.dirs.lock().unwrap().push(dir);
                Arc::new(store)
            }
            Kind::Redis(server) => {
                let prefix = unique_prefix();
                give_identity(server, &prefix);
                Arc::new(RedisStore::connect_with(&server.url(), &prefix, limits).unwrap())
            }
            Kind::Cluster(_) | Kind::Sentinel(_) => self.kind.redis_store(limits),
        }
    }
}

impl Kind {
    /// A store on a shared cluster or Sentinel deployment under a fresh prefix, with the
    /// identity a server writes at start.
    fn redis_store(&self, limits: Limits) -> Arc<dyn Store> {
        let prefix = unique_prefix();
        let mut set = redis::cmd("SET");
        set.arg(format!("{prefix}:epoch")).arg("conformance");
        let url = match self {
            Kind::Cluster(c) => {
                let _: () = c.query(&set);
                c.url()
            }
            Kind::Sentinel(s) => {
                let _: () = s.primary().query(&set).unwrap();
                s.url()
            }
            Kind::Embedded | Kind::Redis(_) => unreachable!("not a shared deployment"),
        };
        Arc::new(RedisStore::connect_with(&url, &prefix, limits).unwrap())
    }
}

/// Writes the store identity a server writes at start (`Hub::load`), without which a Redis
/// store takes a missing environment for lost data (see `Store::identity`).
pub fn give_identity(server: &RedisServer, prefix: &str) {
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}:epoch"))
        .arg("conformance")
        .query(&mut server.connection())
        .unwrap();
}

/// Generates one `#[tokio::test]` per behaviour and backend: `embedded::<name>`,
/// `redis::<name>`, `cluster::<name>` (Redis Cluster) and `sentinel::<name>` (Redis
/// Sentinel), each calling `<module>::<name>(&Backend)`.
macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let backend = crate::support::Backend::embedded();
                    crate::$module::$name(&backend).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let backend = crate::support::Backend::redis();
                    crate::$module::$name(&backend).await;
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let backend = crate::support::Backend::cluster();
                    crate::$module::$name(&backend).await;
                }
            )*
        }
        mod sentinel {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let backend = crate::support::Backend::sentinel();
                    crate::$module::$name(&backend).await;
                }
            )*
        }
    };
}
pub(crate) use conformance;

/// A parsed environment name.
pub fn env(name: &str) -> EnvName {
    EnvName::parse(name).unwrap()
}

/// A parsed flag key.
pub fn key(name: &str) -> FlagKey {
    FlagKey::parse(name).unwrap()
}

/// A whole-second instant (so that every backend keeps it exactly).
pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

/// Change metadata by `actor`, now.
pub fn meta(actor: &str) -> ChangeMeta {
    ChangeMeta {
        actor: actor.to_owned(),
        reason: None,
        at: Utc::now(),
    }
}

/// Change metadata with a reason.
pub fn meta_why(actor: &str, reason: &str) -> ChangeMeta {
    ChangeMeta {
        actor: actor.to_owned(),
        reason: Some(reason.to_owned()),
        at: Utc::now(),
    }
}

/// A flag rolled out to `percentage`.
pub fn flag(k: &str, percentage: f64) -> Flag {
    Flag::rollout(k, percentage).unwrap()
}

/// A create op.
pub fn create(k: &str) -> WriteOp {
    WriteOp::Create(flag(k, 50.0))
}

/// A put op.
pub fn put(k: &str, percentage: f64, expected: Option<u64>) -> WriteOp {
    WriteOp::Put {
        flag: flag(k, percentage),
        expected,
    }
}

/// A delete op.
pub fn delete(k: &str, expected: Option<u64>) -> WriteOp {
    WriteOp::Delete {
        key: key(k),
        expected,
    }
}

/// A store with environment `name` created.
pub async fn with_env(store: &dyn Store, name: &str) -> EnvName {
    let e = env(name);
    assert!(store.create_environment(&e).await.unwrap());
    e
}

/// The versions of some changes.
pub fn versions(changes: &[Change]) -> Vec<u64> {
    changes.iter().map(|c| c.version).collect()
}

/// The changes of a replay, failing on `TooOld`.
pub fn replayed(r: Replay) -> Vec<Change> {
    match r {
        Replay::Changes(c) => c,
        Replay::TooOld => panic!("expected changes, got TooOld"),
    }
}

/// The key a change is about.
pub fn change_key(c: &Change) -> &str {
    match &c.event {
        ChangeEvent::Put { flag } => flag.key.as_str(),
        ChangeEvent::Delete { key } => key.as_str(),
        ChangeEvent::SegmentPut { segment } => segment.key.as_str(),
        ChangeEvent::SegmentDelete { key } => key.as_str(),
    }
}
