//! When the store lost its data: detect it by the store's identity, and write the hub's state
//! back.
//!
//! Every instance holds every environment, its flags with their versions, and the SDK keys in
//! memory. When the store's identity is gone (Redis restarted empty), one instance, the
//! holder of the `restore` lease, writes its state back: each environment at the version it
//! had (so versions keep increasing from there and SDKs' `Last-Event-ID` stays valid), with a
//! `restore` audit entry, then the SDK keys, then a new identity, then a
//! [`StoreEvent::Restored`] event. The other instances wait for the new identity and then
//! write back whatever they hold that is newer than what the store has (an instance that had
//! applied a change the lease holder had not yet), which a store-side version check makes
//! safe to run from every instance. Meanwhile nothing is dropped from memory: SDK reads and
//! streams go on, and writes answer 503 because the store says the environment is unavailable.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use flag_sdk::EnvName;

use super::Hub;
use crate::error::Result;
use crate::store::{ChangeMeta, EnvState, SdkKeyRecord, StoreEvent};

/// The name of the lease for writing the state back.
const LEASE: &str = "restore";
/// How long the lease lasts if its holder dies while restoring.
const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often an instance that does not hold the lease looks whether the restore is done.
const WAIT_STEP: Duration = Duration::from_millis(100);

/// What a check of the store found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// The store has the identity the hub knows: nothing was lost.
    Intact,
    /// This instance wrote its state back (it held the lease, or had newer state than the
    /// instance that did).
    Restored(RestoreReport),
    /// Another instance restored the store; this one had nothing newer to add.
    Followed,
    /// The server is stopping.
    Stopped,
}

/// What one instance wrote back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Environments written back.
    pub environments: Vec<EnvName>,
    /// Flags in them.
    pub flags: usize,
    /// SDK keys written back.
    pub sdk_keys: usize,
}

impl Hub {
    /// Whether the store has lost its data and is not restored yet (for `/readyz`).
    pub fn store_lost(&self) -> bool {
        self.store_lost.load(Ordering::SeqCst)
    }

    /// Compares the store's identity with the hub's and, when it is gone or changed, restores
    /// the store from memory or waits for another instance to (see the module documentation).
    pub async fn check_store(&self) -> Result<Recovery> {
        if self.store.identity().await?.as_deref() == Some(self.known_identity().as_str()) {
            return Ok(Recovery::Intact);
        }
        self.recover().await
    }

    fn known_identity(&self) -> String {
        self.identity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_known_identity(&self, id: String) {
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = id;
        self.store_lost.store(false, Ordering::SeqCst);
    }

    async fn recover(&self) -> Result<Recovery> {
        let _one_at_a_time = self.recovering.lock().await;
        let shutdown = self.shutdown_token();
        loop {
            let known = self.known_identity();
            match self.store.identity().await? {
                Some(id) if id == known => {
                    self.store_lost.store(false, Ordering::SeqCst);
                    return Ok(Recovery::Intact);
                }
                Some(id) => {
                    // Restored by another instance (or by an instance that started on the empty
                    // store): add what this one holds that is newer, and tell the others.
                    let report = self.write_back().await?;
                    if !report.environments.is_empty() {
                        self.store
                            .publish_event(&StoreEvent::Restored {
                                environments: report.environments.clone(),
                            })
                            .await?;
                    }
                    self.set_known_identity(id);
                    return Ok(if report.environments.is_empty() && report.sdk_keys == 0 {
                        Recovery::Followed
                    } else {
                        Recovery::Restored(report)
                    });
                }
                None => {
                    if !self.store_lost.swap(true, Ordering::SeqCst) {
                        tracing::error!(
                            store = self.store.kind(),
                            "the store lost its data (its identity is gone: restarted empty?); writing the state held in memory back"
                        );
                    }
                    if self
                        .store
                        .try_lease(LEASE, &self.instance, LEASE_TTL)
                        .await?
                    {
                        let restored = self.restore_as_lease_holder().await;
                        if let Err(e) = self.store.release_lease(LEASE, &self.instance).await {
                            tracing::debug!(error = %e, "releasing the restore lease failed; it expires by itself");
                        }
                        let (id, report) = restored?;
                        self.set_known_identity(id);
                        return Ok(Recovery::Restored(report));
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(Recovery::Stopped),
                        _ = tokio::time::sleep(WAIT_STEP) => {}
                    }
                }
            }
        }
    }

    /// Writes everything back, then a new identity and the `restored` event.
    async fn restore_as_lease_holder(&self) -> Result<(String, RestoreReport)> {
        let report = self.write_back().await?;
        let id = uuid::Uuid::new_v4().to_string();
        self.store.set_identity(&id).await?;
        self.store
            .publish_event(&StoreEvent::Restored {
                environments: report.environments.clone(),
            })
            .await?;
        Ok((id, report))
    }

    /// Writes back each environment the store does not have at this hub's version or later,
    /// and the SDK keys it does not have.
    async fn write_back(&self) -> Result<RestoreReport> {
        let meta = ChangeMeta {
            actor: "flag-server".to_owned(),
            reason: Some(format!(
                "the store lost its data; written back from the memory of instance {}",
                self.instance
            )),
            at: Utc::now(),
        };
        let keys: Vec<SdkKeyRecord> = self.keys.load().values().map(|k| (**k).clone()).collect();
        let mut report = RestoreReport::default();
        for view in self.views() {
            let state = EnvState {
                environment: view.environment.clone(),
                version: view.version,
                flags: view.flags().into_iter().cloned().collect(),
            };
            let env_keys = keys
                .iter()
                .filter(|k| k.environment == view.environment)
                .count() as u64;
            if self
                .store
                .restore_environment(&state, env_keys, &meta)
                .await?
            {
                report.flags += state.flags.len();
                report.environments.push(state.environment);
            }
        }
        report.sdk_keys = self.store.restore_sdk_keys(&keys).await?;
        Ok(report)
    }
}
