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
