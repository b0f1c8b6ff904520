//! Writes what [`Clients`] learned to the store every [`FLUSH_INTERVAL`] and once more when
//! the server stops, one [`Store::record_clients`] call per environment that changed.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{Clients, FLUSH_INTERVAL};
use crate::store::{Store, StoreError};

/// Runs until `shutdown` is cancelled, then flushes a last time.
pub async fn run(clients: Arc<Clients>, store: Arc<dyn Store>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(FLUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let last = tokio::select! {
            _ = tick.tick() => false,
            _ = shutdown.cancelled() => true,
        };
        flush(&clients, &*store).await;
        if last {
            return;
        }
    }
}

/// Writes what changed since the last flush. A record the store did not take is written
/// again next time; the instances of an environment that is gone are forgotten.
pub async fn flush(clients: &Clients, store: &dyn Store) {
    for (env, records) in clients.take_changes() {
        match store.record_clients(&env, &records).await {
            Ok(()) => {}
            Err(StoreError::EnvNotFound(_)) => clients.forget(&env),
            Err(e) => {
                tracing::debug!(environment = %env, error = %e, "cannot record SDK clients yet; trying again at the next flush");
                clients.unflushed(&env, &records);
            }
        }
    }
}
