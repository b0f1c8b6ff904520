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
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use flag_sdk::EnvName;

use super::view::EnvSlot;
use super::{EnvView, Hub};
use crate::store::Result;
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
        let meta = self.restore_meta();
        let keys: Vec<SdkKeyRecord> = self.keys.load().values().map(|k| (**k).clone()).collect();
        let mut report = RestoreReport::default();
        for view in self.views() {
            if let Some(flags) = self.write_back_env(&view, &keys, &meta).await? {
                report.flags += flags;
                report.environments.push(view.environment.clone());
            }
        }
        report.sdk_keys = self.store.restore_sdk_keys(&keys).await?;
        Ok(report)
    }

    /// Writes one environment back unless the store is at its version or later; the number of
    /// flags written, or `None`.
    async fn write_back_env(
        &self,
        view: &EnvView,
        keys: &[SdkKeyRecord],
        meta: &ChangeMeta,
    ) -> Result<Option<usize>> {
        let state = EnvState {
            environment: view.environment.clone(),
            version: view.version,
            flags: view.flags().into_iter().cloned().collect(),
            segments: view.snapshot.segments().into_iter().cloned().collect(),
        };
        let env_keys = keys
            .iter()
            .filter(|k| k.environment == view.environment)
            .count() as u64;
        let written = self
            .store
            .restore_environment(&state, env_keys, meta)
            .await?;
        Ok(written.then_some(state.flags.len()))
    }

    /// The store has an environment at a lower version than this hub, with its identity
    /// intact: it went back in time (restored from an older backup), or the environment was
    /// deleted and created again elsewhere. The events tell the second case (the environment
    /// is then replaced here); in the first, this hub's state is written back.
    pub(super) async fn store_behind(
        &self,
        env: &EnvName,
        slot: &Arc<EnvSlot>,
        store_version: u64,
    ) -> Result<()> {
        self.follow_events(Duration::ZERO).await?;
        let replaced = !self
            .envs
            .load()
            .get(env)
            .is_some_and(|s| Arc::ptr_eq(s, slot));
        if replaced {
            return Ok(());
        }
        let view = slot.view.load_full();
        tracing::error!(
            environment = %env,
            held = view.version,
            store = store_version,
            "the store is behind this instance (restored from an older backup?); writing the environment back"
        );
        let keys: Vec<SdkKeyRecord> = self.keys.load().values().map(|k| (**k).clone()).collect();
        self.write_back_env(&view, &keys, &self.restore_meta())
            .await?;
        Ok(())
    }

    fn restore_meta(&self) -> ChangeMeta {
        ChangeMeta {
            actor: "flag-server".to_owned(),
            reason: Some(format!(
                "the store lost data; written back from the memory of instance {}",
                self.instance
            )),
            at: Utc::now(),
        }
    }
}
