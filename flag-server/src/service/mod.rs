//! The service: the rules of the admin API, between the HTTP handlers and the store and hub.
//!
//! Every write goes to the store and its result is applied to the hub before the call returns
//! (read-your-writes): handlers never keep the two in step themselves. Creating and deleting
//! environments, issuing and revoking SDK keys, and the PATCH and apply retry loops live here.

mod apply;
mod error;
mod flags;
mod promote;
mod references;
mod segments;

pub use error::{Result, ServiceError};
pub use flags::check_key;
pub(crate) use flags::merged;
pub use promote::{Promote, PromoteError};

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use flag_sdk::{EnvName, FlagKey};
use rand::RngCore;

use crate::hub::{EnvView, Hub};
use crate::secret::{hash_secret, random_secret};
use crate::store::{
    AuditEntry, Change, ChangeMeta, FlagUsage, SdkKeyRecord, Store, StoreError, WriteOp,
};

/// How many audit entries one store read takes when looking for one flag's entries.
pub const AUDIT_SCAN_PAGE: usize = 1000;
/// How many audit entries one look for a flag's entries reads at most.
pub const AUDIT_SCAN_LIMIT: usize = 10_000;

/// The admin API's rules over the store and the hub. One per server, shared by every worker
/// (and cloned, cheaply, for the release driver).
#[derive(Clone)]
pub struct Service {
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    /// Wakes the release driver when a job was written here.
    jobs: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("hub", &self.hub)
            .field("store", &self.store.kind())
            .finish()
    }
}

impl Service {
    /// A service over the hub and its store.
    pub fn new(hub: Arc<Hub>) -> Service {
        let store = hub.store().clone();
        Service {
            hub,
            store,
            jobs: Arc::default(),
        }
    }

    /// Tells the release driver of this instance that a job was written.
    pub fn jobs_changed(&self) {
        self.jobs.notify_one();
    }

    /// Resolves after [`Service::jobs_changed`] (or at once when it was called since the
    /// last wait).
    pub async fn jobs_written(&self) {
        self.jobs.notified().await;
    }

    /// The hub: SDK reads and streams are served from its memory.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The store behind the hub.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The environment's view after catching up with the store (admin reads).
    pub async fn environment(&self, env: &EnvName) -> Result<Arc<EnvView>> {
        Ok(self.hub.fresh_view(env).await?)
    }

    /// Succeeds when the environment exists (known here, or loaded from the store).
    pub async fn require_environment(&self, env: &EnvName) -> Result<()> {
        self.hub.view_or_load(env).await?;
        Ok(())
    }

    /// Every environment in the store, with its view, sorted by name.
    pub async fn environments(&self) -> Result<Vec<Arc<EnvView>>> {
        let names = self.store.list_environments().await?;
        let mut views = Vec::with_capacity(names.len());
        for name in &names {
            match self.hub.fresh_view(name).await {
                Ok(view) => views.push(view),
                // Deleted between the list and the load.
                Err(StoreError::EnvNotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(views)
    }

    /// Creates an environment (idempotent): whether it was created, and its view.
    pub async fn create_environment(&self, env: &EnvName) -> Result<(bool, Arc<EnvView>)> {
        let created = self.store.create_environment(env).await?;
        let view = self.hub.environment_created(env).await?;
        if created {
            tracing::info!(environment = %env, "environment created");
        }
        Ok((created, view))
    }

    /// Deletes an environment with its flags, history and SDK keys; its streams end.
    pub async fn delete_environment(&self, env: &EnvName) -> Result<()> {
        self.store.delete_environment(env).await?;
        self.hub.environment_deleted(env).await;
        tracing::info!(environment = %env, "environment deleted");
        Ok(())
    }

    /// Summed evaluation counts of the environment's flags, by key.
    pub async fn usage(&self, env: &EnvName) -> Result<HashMap<String, FlagUsage>> {
        Ok(self.store.usage(env).await?)
    }

    /// Adds evaluation counts an SDK reported for the period ending at `period_end`.
    pub async fn record_usage(
        &self,
        env: &EnvName,
        period_end: DateTime<Utc>,
        counts: &HashMap<String, (u64, u64)>,
    ) -> Result<()> {
        Ok(self.store.record_usage(env, period_end, counts).await?)
    }

    /// A page of an existing environment's audit log, newest first: at most `limit` entries
    /// of versions below `before`, only those of the flag `flag` when given, and the `before`
    /// of the next page when there may be one.
    ///
    /// A flag's entries are found by reading the log [`AUDIT_SCAN_PAGE`] entries at a time;
    /// one call reads at most [`AUDIT_SCAN_LIMIT`] entries and then answers what it found
    /// with the version it stopped at, so a flag changed rarely in a busy environment costs
    /// the caller more pages, never the server an unbounded scan.
    pub async fn audit(
        &self,
        env: &EnvName,
        limit: usize,
        before: Option<u64>,
        flag: Option<&FlagKey>,
    ) -> Result<(Vec<AuditEntry>, Option<u64>)> {
        self.require_environment(env).await?;
        let Some(flag) = flag else {
            let entries = self.store.audit(env, limit, before).await?;
            let next = (entries.len() == limit)
                .then(|| entries.last().map(|e| e.version))
                .flatten();
            return Ok((entries, next));
        };
        let mut found = Vec::new();
        let mut cursor = before;
        let mut scanned = 0;
        loop {
            let page = self.store.audit(env, AUDIT_SCAN_PAGE, cursor).await?;
            let read = page.len();
            for entry in page {
                cursor = Some(entry.version);
                if entry.key.as_ref() == Some(flag) && entry.action.is_flag_change() {
                    found.push(entry);
                    if found.len() == limit {
                        return Ok((found, cursor));
                    }
                }
            }
            scanned += read;
            if read < AUDIT_SCAN_PAGE {
                return Ok((found, None));
            }
            if scanned >= AUDIT_SCAN_LIMIT {
                return Ok((found, cursor));
            }
        }
    }

    /// Writes `ops` atomically and applies the changes to the hub before returning.
    pub async fn write(
        &self,
        env: &EnvName,
        ops: Vec<WriteOp>,
        meta: &ChangeMeta,
    ) -> Result<Vec<Change>> {
        Ok(self.store_write(env, ops, meta).await?)
    }

    /// The SDK keys of an existing environment, oldest first.
    pub async fn sdk_keys(&self, env: &EnvName) -> Result<Vec<SdkKeyRecord>> {
        self.require_environment(env).await?;
        let mut keys: Vec<SdkKeyRecord> = self
            .store
            .list_sdk_keys()
            .await?
            .into_iter()
            .filter(|k| &k.environment == env)
            .collect();
        keys.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(keys)
    }

    /// Issues an SDK key named `name` for the environment: the record and its secret, which
    /// is not kept anywhere.
    pub async fn issue_sdk_key(
        &self,
        env: &EnvName,
        name: String,
        actor: &str,
    ) -> Result<(SdkKeyRecord, String)> {
        self.require_environment(env).await?;
        let secret = random_secret(&format!("sdk-{env}"));
        let mut id = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut id);
        let record = SdkKeyRecord {
            id: hex::encode(id),
            environment: env.clone(),
            name,
            hash: hash_secret(&secret),
            created_at: Utc::now(),
            created_by: actor.to_owned(),
        };
        self.store.create_sdk_key(&record).await?;
        self.hub.key_added(record.clone());
        tracing::info!(environment = %env, id = %record.id, actor = %actor, "SDK key issued");
        Ok((record, secret))
    }

    /// Revokes an SDK key: it stops working at once here, within seconds elsewhere.
    pub async fn revoke_sdk_key(&self, env: &EnvName, id: &str, actor: &str) -> Result<()> {
        self.store
            .revoke_sdk_key(env, id)
            .await
            .map_err(|e| match e {
                StoreError::SdkKeyNotFound(_) | StoreError::EnvNotFound(_) => {
                    ServiceError::SdkKeyNotFound {
                        env: env.clone(),
                        id: id.to_owned(),
                    }
                }
                e => e.into(),
            })?;
        self.hub.key_revoked(id);
        tracing::info!(environment = %env, id = %id, actor = %actor, "SDK key revoked");
        Ok(())
    }
}
