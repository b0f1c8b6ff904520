//! Helpers of the fault tests: admin calls over HTTP, SDK clients with test settings, and
//! wait-until with a deadline.

use std::time::Duration;

use flag_tests::process::ServerProcess;

pub use flag_tests::admin::Admin;
pub use flag_tests::wait::wait_until;

/// flag-server's `main`, built as this crate's `fault-server` binary.
pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_fault-server");

/// Taken by the fault tests of this module set for their whole run: they restart servers
/// and measure recovery deadlines, so they do not compete with each other for the CPU.
pub static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether `server` answers `GET /sdk/flags` with `key` (200).
pub async fn sdk_key_accepted(server: &ServerProcess, key: &str) -> bool {
    reqwest::Client::new()
        .get(format!("{}/api/v1/sdk/flags", server.url()))
        .bearer_auth(key)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Sorted durations' percentile (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A flag-server instance in this process on `redis` under `prefix`.
pub async fn instance(
    redis: &flag_tests::redis::RedisServer,
    prefix: &str,
) -> flag_tests::app::TestApp {
    flag_tests::app::TestApp::spawn(flag_tests::app::StoreChoice::Redis {
        url: redis.url(),
        prefix: prefix.to_owned(),
    })
    .await
}

/// Two server processes, A and B, on one Redis, a flag `new_checkout` (off) created through A,
/// and an SDK key issued through A that B accepts (it looks unknown keys up in the store).
pub struct TwoInstances {
    /// Kept alive for the servers.
    pub redis: flag_tests::redis::RedisServer,
    /// Where changes are written.
    pub a: ServerProcess,
    /// What the SDK clients follow.
    pub b: ServerProcess,
    /// Admin calls through A.
    pub admin: flag_tests::admin::Admin,
    /// The SDK key's secret.
    pub key: String,
}

/// Starts [`TwoInstances`]; waits at most `within` for B to accept the key.
pub async fn two_instances(within: Duration) -> TwoInstances {
    let redis = flag_tests::redis::RedisServer::start();
    let store = flag_tests::process::ProcessStore::redis(redis.url(), "flags");
    let a = ServerProcess::start(SERVER_BIN, store.clone()).await;
    let b = ServerProcess::start(SERVER_BIN, store).await;
    let admin = flag_tests::admin::Admin::new(&a.url(), flag_tests::app::ADMIN_TOKEN);
    admin.create("new_checkout", false).await;
    let (_, key) = admin.sdk_key().await;
    wait_until("B accepts the new key", within, || {
        sdk_key_accepted(&b, &key)
    })
    .await;
    TwoInstances {
        redis,
        a,
        b,
        admin,
        key,
    }
}
