//! The follower: a background task that applies what other instances wrote, until the hub's
//! shutdown token is cancelled. Two loops, each blocked in the store most of the time:
//!
//! - **changes**: [`Store::wait_for_changes`](crate::store::Store::wait_for_changes) with the
//!   hub's cursors, so a flag change made through another instance is applied here as soon as
//!   the store has it;
//! - **events**: first a check of the store's identity ([`Hub::check_store`]: a store that lost
//!   its data is restored from memory), then
//!   [`Store::wait_for_events`](crate::store::Store::wait_for_events) for environments and SDK
//!   keys created, deleted or revoked elsewhere. At start and after every reconnection it also
//!   asks whether the store persists anything, and warns once when it does not.
//!
//! Idle, that is three store commands a second per instance, whatever the number of
//! environments. When the store is unreachable a loop backs off (up to 2 s) and tries again;
//! once the store answers, the cursors make it pick up everything written meanwhile.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Hub, Recovery};
use crate::metrics::Metrics;
use crate::store::Durability;

/// How long one wait for changes or events lasts (and so how often the identity is checked).
const WAIT: Duration = Duration::from_secs(1);
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
    let durability_due = AtomicBool::new(true);
    let last_warning: Mutex<Option<Durability>> = Mutex::new(None);
    let events = keep_going("events", &hub, &metrics, || async {
        let step = async {
            match hub.check_store().await? {
                Recovery::Restored(report) => {
                    metrics.store_restored();
                    tracing::error!(
                        environments = report.environments.len(),
                        flags = report.flags,
                        sdk_keys = report.sdk_keys,
                        "restored the store from memory after it lost its data"
                    );
                }
                Recovery::Followed => {
                    tracing::error!("the store lost its data; another instance restored it")
                }
                Recovery::Intact | Recovery::Stopped => {}
            }
            if durability_due.swap(false, Ordering::SeqCst) {
                warn_if_volatile(&hub, &last_warning).await;
            }
            hub.follow_events(WAIT).await.map(|_| ())
        };
        let outcome = step.await;
        if outcome.is_err() {
            // A reconnection may reach another Redis (or one reconfigured): ask again.
            durability_due.store(true, Ordering::SeqCst);
        }
        outcome
    });
    tokio::join!(follow, events);
    tracing::debug!("follower stopped");
}

/// Asks the store whether it persists anything and warns when it does not, once per answer.
async fn warn_if_volatile(hub: &Hub, last: &Mutex<Option<Durability>>) {
    let durability = match hub.store().durability().await {
        Ok(d) => d,
        Err(e) => {
            tracing::debug!(error = %e, "could not ask the store about persistence");
            return;
        }
    };
    let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
    if last.as_ref() == Some(&durability) {
        return;
    }
    match &durability {
        Durability::Volatile(why) => tracing::warn!(
            store = hub.store().kind(),
            "{why}; see the README's section on Redis settings (appendonly yes)"
        ),
        Durability::Unknown => tracing::info!(
            store = hub.store().kind(),
            "the store does not say whether it persists data (CONFIG is not allowed)"
        ),
        Durability::Durable => {}
    }
    *last = Some(durability);
}

/// Runs `step` again and again until shutdown, backing off (up to [`MAX_BACKOFF`]) while it
/// fails and saying once when the store fails and once when it answers again.
async fn keep_going<F, Fut>(what: &'static str, hub: &Hub, metrics: &Metrics, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::store::Result<()>>,
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
