//! Waiting for a condition with a deadline, the one way every test binary does it.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is looked at.
const POLL: Duration = Duration::from_millis(10);

/// Polls `check` until it returns `Some`; panics naming `what` after `within`.
pub async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(t) = check().await {
            return t;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {within:?} waiting until {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `check` until it is true; panics naming `what` after `within`. Returns how long it
/// took.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    wait_for(what, within, || {
        let ok = check();
        async move { ok.await.then_some(()) }
    })
    .await;
    start.elapsed()
}
