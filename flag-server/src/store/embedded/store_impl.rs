//! [`Store`] for [`EmbeddedStore`]: each method is one redb transaction on a blocking thread.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flag_sdk::EnvName;
use redb::{ReadableTable, ReadableTableMetadata};

use super::*;
use crate::store::ClientRecord;
use crate::store::JobRecord;

#[async_trait]
impl Store for EmbeddedStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn ping(&self) -> Result<()> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            txn.open_table(ENVS)
                .map_err(db_err)?
                .len()
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn list_environments(&self) -> Result<Vec<EnvName>> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            let envs = txn.open_table(ENVS).map_err(db_err)?;
            let mut out = Vec::new();
            for item in envs.iter().map_err(db_err)? {
                let (k, _) = item.map_err(db_err)?;
                out.push(EnvName::parse(k.value()).map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }

    async fn create_environment(&self, env: &EnvName) -> Result<bool> {
        let env = env.clone();
        let name = env.clone();
        let created = self
            .write_txn(move |txn| {
                let mut envs = txn.open_table(ENVS).map_err(db_err)?;
                if envs.get(name.as_str()).map_err(db_err)?.is_some() {
                    return Ok(false);
                }
                envs.insert(name.as_str(), 0).map_err(db_err)?;
                Ok(true)
            })
            .await?;
        if created {
            self.push_event(StoreEvent::EnvironmentCreated { environment: env });
        }
        Ok(created)
    }

    async fn delete_environment(&self, env: &EnvName) -> Result<()> {
        let name = env.clone();
        let env = env.clone();
        self.write_txn(move |txn| {
            let e = env.as_str();
            let end = env_end(e);
            let mut envs = txn.open_table(ENVS).map_err(db_err)?;
            if envs.remove(e).map_err(db_err)?.is_none() {
                return Err(env_not_found(&env));
            }
            for def in [FLAGS, USAGE, SEGMENTS] {
                let mut t = txn.open_table(def).map_err(db_err)?;
                t.retain_in((e, "")..(end.as_str(), ""), |_, _| false)
                    .map_err(db_err)?;
            }
            let mut jobs = txn.open_table(JOBS).map_err(db_err)?;
            jobs.retain_in((e, "")..(end.as_str(), ""), |_, _| false)
                .map_err(db_err)?;
            for def in [LOG, AUDIT] {
                let mut t = txn.open_table(def).map_err(db_err)?;
                t.retain_in((e, 0u64)..=(e, u64::MAX), |_, _| false)
                    .map_err(db_err)?;
            }
            let mut keys = txn.open_table(SDK_KEYS).map_err(db_err)?;
            let mut doomed = Vec::new();
            for item in keys.iter().map_err(db_err)? {
                let (k, v) = item.map_err(db_err)?;
                let rec: SdkKeyRecord = decode(v.value())?;
                if rec.environment == env {
                    doomed.push(k.value().to_owned());
                }
            }
            for id in doomed {
                keys.remove(id.as_str()).map_err(db_err)?;
            }
            clients::delete_env(txn, e)?;
            Ok(())
        })
        .await?;
        self.push_event(StoreEvent::EnvironmentDeleted { environment: name });
        Ok(())
    }

    async fn load(&self, env: &EnvName) -> Result<EnvState> {
        let env = env.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            let version = env_version_r(&txn, &env)?;
            let table = txn.open_table(FLAGS).map_err(db_err)?;
            let e = env.as_str();
            let end = env_end(e);
            let mut flags = Vec::new();
            for item in table.range((e, "")..(end.as_str(), "")).map_err(db_err)? {
                let (_, v) = item.map_err(db_err)?;
                flags.push(decode_flag(v.value())?);
            }
            let segments = read_segments(&txn.open_table(SEGMENTS).map_err(db_err)?, e)?;
            Ok(EnvState {
                environment: env,
                version,
                flags,
                segments,
            })
        })
        .await
    }

    async fn version(&self, env: &EnvName) -> Result<u64> {
        let env = env.clone();
        self.blocking(move |db| env_version_r(&db.begin_read().map_err(db_err)?, &env))
            .await
    }

    async fn write_at(
        &self,
        env: &EnvName,
        at: Option<u64>,
        ops: Vec<WriteOp>,
        meta: &ChangeMeta,
    ) -> Result<Vec<Change>> {
        if ops.is_empty() {
            // Still report a missing environment.
            self.version(env).await?;
            return Ok(Vec::new());
        }
        let (env, meta, limits) = (env.clone(), meta.clone(), self.limits);
        self.write_txn(move |txn| apply(txn, &env, at, ops, &meta, limits))
            .await
    }

    async fn changes_since(&self, env: &EnvName, version: u64) -> Result<Replay> {
        let env = env.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            let current = env_version_r(&txn, &env)?;
            if version > current {
                return Ok(Replay::TooOld);
            }
            if version == current {
                return Ok(Replay::Changes(Vec::new()));
            }
            let log = txn.open_table(LOG).map_err(db_err)?;
            if log
                .get((env.as_str(), version + 1))
                .map_err(db_err)?
                .is_none()
            {
                return Ok(Replay::TooOld);
            }
            Ok(Replay::Changes(read_log(&log, &env, version)?))
        })
        .await
    }

    async fn wait_for_changes(
        &self,
        cursors: &[(EnvName, u64)],
        timeout: Duration,
    ) -> Result<Vec<Change>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut commits = self.commits.subscribe();
        loop {
            commits.borrow_and_update();
            let cursors = cursors.to_vec();
            let changes = self
                .blocking(move |db| {
                    let txn = db.begin_read().map_err(db_err)?;
                    let envs = txn.open_table(ENVS).map_err(db_err)?;
                    let log = txn.open_table(LOG).map_err(db_err)?;
                    let mut out = Vec::new();
                    for (env, after) in &cursors {
                        let current = envs.get(env.as_str()).map_err(db_err)?.map(|g| g.value());
                        if current.is_some_and(|c| c > *after) {
                            out.extend(read_log(&log, env, *after)?);
                        }
                    }
                    Ok(out)
                })
                .await?;
            if !changes.is_empty() {
                return Ok(changes);
            }
            match tokio::time::timeout_at(deadline, commits.changed()).await {
                Ok(Ok(())) => continue,
                // Timed out (or the sender is gone, which cannot happen while `self` lives).
                _ => return Ok(Vec::new()),
            }
        }
    }

    async fn audit(
        &self,
        env: &EnvName,
        limit: usize,
        before: Option<u64>,
    ) -> Result<Vec<AuditEntry>> {
        let env = env.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            env_version_r(&txn, &env)?;
            let table = txn.open_table(AUDIT).map_err(db_err)?;
            let e = env.as_str();
            let range = match before {
                Some(0) => return Ok(Vec::new()),
                Some(b) => table.range((e, 0u64)..=(e, b - 1)),
                None => table.range((e, 0u64)..=(e, u64::MAX)),
            }
            .map_err(db_err)?;
            let mut out = Vec::new();
            for item in range.rev().take(limit) {
                let (_, v) = item.map_err(db_err)?;
                out.push(decode::<AuditRecord>(v.value())?.into_entry()?);
            }
            Ok(out)
        })
        .await
    }

    async fn create_sdk_key(&self, key: &SdkKeyRecord) -> Result<()> {
        keys::create_sdk_key(self, key).await
    }

    async fn list_sdk_keys(&self) -> Result<Vec<SdkKeyRecord>> {
        keys::list_sdk_keys(self).await
    }

    async fn revoke_sdk_key(&self, env: &EnvName, id: &str) -> Result<()> {
        keys::revoke_sdk_key(self, env, id).await
    }

    async fn record_usage(
        &self,
        env: &EnvName,
        period_end: DateTime<Utc>,
        counts: &HashMap<String, (u64, u64)>,
    ) -> Result<()> {
        keys::record_usage(self, env, period_end, counts).await
    }

    async fn usage(&self, env: &EnvName) -> Result<HashMap<String, FlagUsage>> {
        keys::usage(self, env).await
    }

    async fn event_cursor(&self) -> Result<EventCursor> {
        Ok(self.last_event().to_string())
    }

    async fn wait_for_events(
        &self,
        after: &EventCursor,
        timeout: Duration,
    ) -> Result<Vec<(EventCursor, StoreEvent)>> {
        let after: u64 = after
            .parse()
            .map_err(|_| StoreError::InvalidArgument(format!("bad event cursor {after:?}")))?;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut commits = self.commits.subscribe();
        loop {
            commits.borrow_and_update();
            let events = self.events_after(after);
            if !events.is_empty() {
                return Ok(events);
            }
            match tokio::time::timeout_at(deadline, commits.changed()).await {
                Ok(Ok(())) => continue,
                _ => return Ok(Vec::new()),
            }
        }
    }

    async fn publish_event(&self, event: &StoreEvent) -> Result<()> {
        self.push_event(event.clone());
        Ok(())
    }

    async fn identity(&self) -> Result<Option<String>> {
        Ok(self
            .identity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    async fn ensure_identity(&self, proposed: &str) -> Result<String> {
        let mut id = self.identity.lock().unwrap_or_else(|p| p.into_inner());
        Ok(id.get_or_insert_with(|| proposed.to_owned()).clone())
    }

    async fn set_identity(&self, id: &str) -> Result<()> {
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.to_owned());
        Ok(())
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        match leases.get(name) {
            Some((h, until)) if h != holder && *until > now => Ok(false),
            _ => {
                leases.insert(name.to_owned(), (holder.to_owned(), now + ttl));
                Ok(true)
            }
        }
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        if leases.get(name).is_some_and(|(h, _)| h == holder) {
            leases.remove(name);
        }
        Ok(())
    }

    async fn jobs(&self, env: &EnvName) -> Result<Vec<JobRecord>> {
        jobs::jobs(self, env).await
    }

    async fn job_environments(&self) -> Result<Vec<EnvName>> {
        jobs::job_environments(self).await
    }

    async fn put_job(&self, env: &EnvName, id: &str, expected: u64, body: &str) -> Result<u64> {
        jobs::put_job(self, env, id, expected, Some(body)).await
    }

    async fn delete_job(&self, env: &EnvName, id: &str, expected: u64) -> Result<()> {
        jobs::put_job(self, env, id, expected, None).await.map(drop)
    }

    async fn restore_environment(
        &self,
        state: &EnvState,
        sdk_keys: u64,
        meta: &ChangeMeta,
    ) -> Result<bool> {
        let state = state.clone();
        let meta = meta.clone();
        let limits = self.limits;
        self.write_txn(move |txn| ops::restore(txn, &state, sdk_keys, &meta, limits))
            .await
    }

    async fn restore_sdk_keys(&self, keys: &[SdkKeyRecord]) -> Result<usize> {
        let keys = keys.to_vec();
        self.write_txn(move |txn| {
            let mut table = txn.open_table(SDK_KEYS).map_err(db_err)?;
            let mut written = 0;
            for key in &keys {
                if table.get(key.id.as_str()).map_err(db_err)?.is_none() {
                    table
                        .insert(key.id.as_str(), encode(key)?.as_slice())
                        .map_err(db_err)?;
                    written += 1;
                }
            }
            Ok(written)
        })
        .await
    }

    async fn record_clients(&self, env: &EnvName, clients: &[ClientRecord]) -> Result<()> {
        clients::record_clients(self, env, clients).await
    }

    async fn clients(&self, env: &EnvName, since: DateTime<Utc>) -> Result<Vec<ClientRecord>> {
        clients::clients(self, env, since).await
    }
}
