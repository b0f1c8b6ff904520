//! Small helpers of the fault suite.

use std::future::Future;
use std::time::Duration;

use flag_tests::app::{StoreChoice, TestApp};
use flag_tests::redis::RedisServer;

/// Polls `check` until it is true or `within` passes; panics with `what` on the deadline.
/// Returns how long it took.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = tokio::time::Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        if start.elapsed() >= within {
            panic!("timed out after {within:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A flag-server instance on `redis` under `prefix`.
pub async fn instance(redis: &RedisServer, prefix: &str) -> TestApp {
    TestApp::spawn(StoreChoice::Redis {
        url: redis.url(),
        prefix: prefix.to_owned(),
    })
    .await
}
