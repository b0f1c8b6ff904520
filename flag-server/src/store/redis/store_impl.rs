//! [`Store`] for [`RedisStore`].

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flag_sdk::EnvName;
use redis::streams::{StreamRangeReply, StreamReadReply};

use super::*;
use crate::store::record::{decode_segment, env_changed, segment_not_found};
use crate::store::ClientRecord;
use crate::store::JobRecord;

#[async_trait]
impl Store for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<()> {
        let _: String = self.query(&redis::cmd("PING")).await?;
        Ok(())
    }

    async fn list_environments(&self) -> Result<Vec<EnvName>> {
        let names: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(self.envs_key()))
            .await?;
        let mut envs = names
            .into_iter()
            .map(EnvName::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        envs.sort();
        if envs.is_empty() {
            self.require_identity().await?;
            return Ok(envs);
        }
        let exists: Vec<bool> = if self.topology.is_cluster() {
            let keys: Vec<String> = envs.iter().map(|e| self.key(e, "version")).collect();
            cluster::exists_each(self, &keys).await?
        } else {
            let mut pipe = redis::pipe();
            for env in &envs {
                pipe.exists(self.key(env, "version"));
            }
            self.atomic(&pipe).await?
        };
        Ok(envs
            .into_iter()
            .zip(exists)
            .filter_map(|(e, x)| x.then_some(e))
            .collect())
    }

    async fn create_environment(&self, env: &EnvName) -> Result<bool> {
        let created: Option<String> = self
            .query(
                redis::cmd("SET")
                    .arg(self.key(env, "version"))
                    .arg(0)
                    .arg("NX"),
            )
            .await?;
        // Always (re)add to the listing, which repairs a crash between the two steps.
        let _: i64 = self
            .query(redis::cmd("SADD").arg(self.envs_key()).arg(env.as_str()))
            .await?;
        if created.is_some() {
            self.append_event(&StoreEvent::EnvironmentCreated {
                environment: env.clone(),
            })
            .await?;
        }
        Ok(created.is_some())
    }

    async fn delete_environment(&self, env: &EnvName) -> Result<()> {
        let existed: i64 = self
            .eval(
                self.delete_env_script
                    .key(self.key(env, "version"))
                    .key(self.key(env, "flags"))
                    .key(self.key(env, "log"))
                    .key(self.key(env, "audit"))
                    .key(self.key(env, "usage"))
                    .key(self.key(env, "segments"))
                    .key(self.key(env, "jobs"))
                    .key(self.key(env, "clients"))
                    .key(self.key(env, "clients_seen")),
            )
            .await?;
        let _: i64 = self
            .query(redis::cmd("SREM").arg(self.envs_key()).arg(env.as_str()))
            .await?;
        let _: i64 = self
            .query(
                redis::cmd("SREM")
                    .arg(self.job_envs_key())
                    .arg(env.as_str()),
            )
            .await?;
        let keys: Vec<String> = self
            .query(redis::cmd("HVALS").arg(self.sdk_keys_key()))
            .await?;
        let mut doomed = Vec::new();
        for rec in keys {
            let rec: SdkKeyRecord = decode(rec.as_bytes())?;
            if &rec.environment == env {
                doomed.push(rec.id);
            }
        }
        if !doomed.is_empty() {
            let _: i64 = self
                .query(redis::cmd("HDEL").arg(self.sdk_keys_key()).arg(&doomed))
                .await?;
        }
        if existed == 1 {
            self.append_event(&StoreEvent::EnvironmentDeleted {
                environment: env.clone(),
            })
            .await?;
            Ok(())
        } else {
            Err(self.missing_env(env).await)
        }
    }

    async fn load(&self, env: &EnvName) -> Result<EnvState> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .get(self.key(env, "version"))
            .hvals(self.key(env, "flags"))
            .hvals(self.key(env, "segments"));
        let (version, records, segment_records): (Option<u64>, Vec<String>, Vec<String>) =
            self.atomic(&pipe).await?;
        let Some(version) = version else {
            return Err(self.missing_env(env).await);
        };
        let mut flags = records
            .iter()
            .map(|r| decode_flag(r.as_bytes()))
            .collect::<Result<Vec<_>>>()?;
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        let mut segments = segment_records
            .iter()
            .map(|r| decode_segment(r.as_bytes()))
            .collect::<Result<Vec<_>>>()?;
        segments.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(EnvState {
            environment: env.clone(),
            version,
            flags,
            segments,
        })
    }

    async fn version(&self, env: &EnvName) -> Result<u64> {
        let v: Option<u64> = self
            .query(redis::cmd("GET").arg(self.key(env, "version")))
            .await?;
        match v {
            Some(v) => Ok(v),
            None => Err(self.missing_env(env).await),
        }
    }

    async fn write_at(
        &self,
        env: &EnvName,
        at: Option<u64>,
        ops: Vec<WriteOp>,
        meta: &ChangeMeta,
    ) -> Result<Vec<Change>> {
        if ops.is_empty() {
            self.version(env).await?;
            return Ok(Vec::new());
        }
        let meta_json = String::from_utf8(encode(&MetaRecord::from(meta))?).map_err(corrupt)?;
        let mut inv = self.write_script.prepare_invoke();
        inv.key(self.key(env, "version"))
            .key(self.key(env, "flags"))
            .key(self.key(env, "log"))
            .key(self.key(env, "audit"))
            .key(self.key(env, "segments"))
            .arg(self.limits.change_log_len)
            .arg(self.limits.audit_len)
            .arg(meta_json)
            .arg(at.map(|v| v.to_string()).unwrap_or_default());
        for op in &ops {
            for a in op_args(op, meta)? {
                inv.arg(a);
            }
        }
        let reply: Vec<String> = self.eval(&inv).await?;
        let arg = |i: usize| reply.get(i).map(String::as_str).unwrap_or_default();
        match arg(0) {
            "OK" => {}
            "ENV" => return Err(self.missing_env(env).await),
            "CHANGED" => {
                return Err(env_changed(
                    at.unwrap_or_default(),
                    arg(1).parse().unwrap_or_default(),
                ))
            }
            "SMISSING" => return Err(segment_not_found(arg(1))),
            "EXISTS" => return Err(flag_exists(arg(1))),
            "MISSING" => return Err(flag_not_found(arg(1))),
            "STALE" => {
                return Err(stale(
                    arg(1),
                    arg(2).parse().unwrap_or_default(),
                    arg(3).parse().unwrap_or_default(),
                ))
            }
            other => {
                return Err(StoreError::Internal(format!(
                    "unexpected reply from the write script: {other}"
                )))
            }
        }
        let first: u64 = arg(1).parse().map_err(corrupt)?;
        Ok(ops
            .into_iter()
            .zip(first..)
            .map(|(op, version)| ops::change_of(env, op, version, meta))
            .collect())
    }

    async fn changes_since(&self, env: &EnvName, version: u64) -> Result<Replay> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .get(self.key(env, "version"))
            .cmd("XRANGE")
            .arg(self.key(env, "log"))
            .arg(format!("{}-1", version.saturating_add(1)))
            .arg("+");
        let (current, range): (Option<u64>, StreamRangeReply) = self.atomic(&pipe).await?;
        let Some(current) = current else {
            return Err(self.missing_env(env).await);
        };
        if version > current {
            return Ok(Replay::TooOld);
        }
        if version == current {
            return Ok(Replay::Changes(Vec::new()));
        }
        match range.ids.first() {
            Some(first) if id_version(&first.id)? == version + 1 => {
                Ok(Replay::Changes(self.changes(env, &range.ids)?))
            }
            _ => Ok(Replay::TooOld),
        }
    }

    async fn wait_for_changes(
        &self,
        cursors: &[(EnvName, u64)],
        timeout: Duration,
    ) -> Result<Vec<Change>> {
        if cursors.is_empty() {
            tokio::time::sleep(timeout).await;
            return Ok(Vec::new());
        }
        if self.topology.is_cluster() {
            return cluster::wait_for_changes(self, cursors, timeout).await;
        }
        let streams: HashMap<String, &EnvName> = cursors
            .iter()
            .map(|(e, _)| (self.key(e, "log"), e))
            .collect();
        let mut cmd = redis::cmd("XREAD");
        let block_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        if block_ms > 0 {
            cmd.arg("BLOCK").arg(block_ms);
        }
        cmd.arg("STREAMS");
        for (env, _) in cursors {
            cmd.arg(self.key(env, "log"));
        }
        for (_, version) in cursors {
            cmd.arg(format!("{version}-1"));
        }
        let reply: Option<StreamReadReply> = self.blocking_query(&cmd, timeout).await?;
        let mut out = Vec::new();
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            if let Some(env) = streams.get(&stream.key) {
                out.extend(self.changes(env, &stream.ids)?);
            }
        }
        Ok(out)
    }

    async fn audit(
        &self,
        env: &EnvName,
        limit: usize,
        before: Option<u64>,
    ) -> Result<Vec<AuditEntry>> {
        if limit == 0 || before == Some(0) {
            self.require_env(env).await?;
            return Ok(Vec::new());
        }
        let max = match before {
            Some(b) => format!("({b}"),
            None => "+inf".to_owned(),
        };
        let mut pipe = redis::pipe();
        pipe.atomic()
            .exists(self.key(env, "version"))
            .cmd("ZREVRANGEBYSCORE")
            .arg(self.key(env, "audit"))
            .arg(max)
            .arg("-inf")
            .arg("LIMIT")
            .arg(0)
            .arg(i64::try_from(limit).unwrap_or(i64::MAX));
        let (exists, entries): (bool, Vec<String>) = self.atomic(&pipe).await?;
        if !exists {
            return Err(self.missing_env(env).await);
        }
        entries
            .iter()
            .map(|e| decode::<AuditRecord>(e.as_bytes())?.into_entry())
            .collect()
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
        events::event_cursor(self).await
    }

    async fn wait_for_events(
        &self,
        after: &EventCursor,
        timeout: Duration,
    ) -> Result<Vec<(EventCursor, StoreEvent)>> {
        events::wait_for_events(self, after, timeout).await
    }

    async fn publish_event(&self, event: &StoreEvent) -> Result<()> {
        events::publish_event(self, event).await
    }

    async fn identity(&self) -> Result<Option<String>> {
        events::identity(self).await
    }

    async fn ensure_identity(&self, proposed: &str) -> Result<String> {
        events::ensure_identity(self, proposed).await
    }

    async fn set_identity(&self, id: &str) -> Result<()> {
        events::set_identity(self, id).await
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        events::try_lease(self, name, holder, ttl).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        events::release_lease(self, name, holder).await
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
        self.restore_env(state, sdk_keys, meta).await
    }

    async fn restore_sdk_keys(&self, keys: &[SdkKeyRecord]) -> Result<usize> {
        self.restore_keys(keys).await
    }

    async fn durability(&self) -> Result<Durability> {
        self.persistence().await
    }

    async fn record_clients(&self, env: &EnvName, clients: &[ClientRecord]) -> Result<()> {
        clients::record_clients(self, env, clients).await
    }

    async fn clients(&self, env: &EnvName, since: DateTime<Utc>) -> Result<Vec<ClientRecord>> {
        clients::clients(self, env, since).await
    }
}
