//! The follower: a background task that applies changes written by other instances and
//! refreshes environments and SDK keys, until the hub's shutdown token is cancelled.
//!
//! It waits on [`Store::wait_for_changes`](crate::store::Store::wait_for_changes) with the
//! hub's cursors (about a second at a time), so a change made through another instance is
//! applied here within about a second. When the store is unreachable it backs off (up to 2 s)
//! and tries again; once the store answers, the cursors make it pick up every change written
//! meanwhile, with no restart.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::Hub;
use crate::metrics::Metrics;

/// How long one wait for changes lasts.
const WAIT: Duration = Duration::from_secs(1);
/// How often environments and SDK keys are re-read.
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// Longest pause after a store error.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Runs the follower until the hub shuts down: one loop follows changes, another refreshes
/// environments and SDK keys, so that a refresh never holds back a change on its way to the
/// streams.
pub async fn run(hub: Arc<Hub>, metrics: Arc<Metrics>) {
    let follow = keep_going("follow", &hub, &metrics, || async {
        let cursors = hub.cursors();
        if cursors.is_empty() {
            // Nothing to follow (every environment deleted): wait for the refresh to find some.
            tokio::time::sleep(WAIT).await;
            return Ok(());
        }
        let changes = hub.store().wait_for_changes(&cursors, WAIT).await?;
        if !changes.is_empty() {
            hub.apply(changes).await?;
        }
        Ok(())
    });
    let refresh = keep_going("refresh", &hub, &metrics, || async {
        tokio::time::sleep(REFRESH_EVERY).await;
        hub.refresh().await
    });
    tokio::join!(follow, refresh);
    tracing::debug!("follower stopped");
}

/// Runs `step` again and again until shutdown, backing off (up to [`MAX_BACKOFF`]) while it
/// fails and saying once when the store fails and once when it answers again.
async fn keep_going<F, Fut>(what: &'static str, hub: &Hub, metrics: &Metrics, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::Result<()>>,
{
    let shutdown = hub.shutdown_token();
    let mut backoff = Duration::from_millis(100);
    let mut failing = false;
    loop {
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => break,
            outcome = step() => outcome,
        };
        match outcome {
            Ok(()) => {
                if failing {
                    tracing::info!(task = what, "store reachable again; following changes");
                    failing = false;
                }
                backoff = Duration::from_millis(100);
            }
            Err(e) => {
                metrics.store_error("follower");
                if !failing {
                    tracing::warn!(task = what, error = %e, "following the store failed; SDK reads are served from memory meanwhile");
                    failing = true;
                } else {
                    tracing::debug!(task = what, error = %e, "store still failing");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
