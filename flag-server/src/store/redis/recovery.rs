//! The Redis store's side of recovering from data loss: writing an environment and SDK keys
//! back, and asking Redis whether it persists anything.

use super::*;

impl RedisStore {
    pub(super) async fn restore_env(
        &self,
        state: &EnvState,
        sdk_keys: u64,
        meta: &ChangeMeta,
    ) -> Result<bool> {
        let env = &state.environment;
        let entry = AuditRecord::restore(state.version, meta, state, sdk_keys);
        let mut inv = self.restore_env_script.prepare_invoke();
        inv.key(self.key(env, "version"))
            .key(self.key(env, "flags"))
            .key(self.key(env, "log"))
            .key(self.key(env, "audit"))
            .key(self.key(env, "segments"))
            .arg(state.version)
            .arg(self.limits.audit_len)
            .arg(String::from_utf8(encode(&entry)?).map_err(corrupt)?)
            .arg(state.flags.len());
        for flag in &state.flags {
            inv.arg(flag.key.as_str())
                .arg(String::from_utf8(encode(&FlagRecord::of(flag))?).map_err(corrupt)?);
        }
        for segment in &state.segments {
            inv.arg(segment.key.as_str())
                .arg(crate::store::record::segment_json(segment)?);
        }
        let written: i64 = self.eval(&inv).await?;
        let _: i64 = self
            .query(redis::cmd("SADD").arg(self.envs_key()).arg(env.as_str()))
            .await?;
        Ok(written == 1)
    }

    pub(super) async fn restore_keys(&self, keys: &[SdkKeyRecord]) -> Result<usize> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for key in keys {
            let json = String::from_utf8(encode(key)?).map_err(corrupt)?;
            pipe.cmd("HSETNX")
                .arg(self.sdk_keys_key())
                .arg(&key.id)
                .arg(json);
        }
        let added: Vec<bool> = self.atomic(&pipe).await?;
        Ok(added.into_iter().filter(|a| *a).count())
    }

    pub(super) async fn persistence(&self) -> Result<Durability> {
        let aof: redis::RedisResult<Vec<String>> = {
            let mut c = self.conn().await?;
            match tokio::time::timeout(
                CALL_TIMEOUT,
                redis::cmd("CONFIG")
                    .arg("GET")
                    .arg("appendonly")
                    .query_async(&mut c),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => return Err(unavailable("redis did not answer CONFIG GET")),
            }
        };
        let aof = match aof {
            Ok(v) => v,
            // CONFIG renamed or forbidden (managed Redis): cannot tell.
            Err(e)
                if e.kind() == ErrorKind::Server(ServerErrorKind::ResponseError)
                    || e.code().is_some() =>
            {
                return Ok(Durability::Unknown)
            }
            Err(e) => return Err(redis_err(e)),
        };
        if aof.get(1).is_some_and(|v| v == "yes") {
            return Ok(Durability::Durable);
        }
        let save: Vec<String> = match self
            .query(redis::cmd("CONFIG").arg("GET").arg("save"))
            .await
        {
            Ok(v) => v,
            Err(StoreError::Internal(_)) => return Ok(Durability::Unknown),
            Err(e) => return Err(e),
        };
        if save.get(1).is_some_and(|v| !v.trim().is_empty()) {
            return Ok(Durability::Durable);
        }
        Ok(Durability::Volatile(
            "Redis persists nothing (appendonly no, save \"\"): a restart of Redis loses every \
             flag unless a flag-server instance is running to write its state back"
                .to_owned(),
        ))
    }
}
