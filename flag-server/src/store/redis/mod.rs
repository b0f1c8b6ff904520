//! The Redis store: for production and for several server instances sharing one Redis.
//!
//! Keys (`P` is the prefix, `E` the environment; every key of one environment carries the
//! hash tag `{E}`, so a Redis Cluster keeps an environment in one slot):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:envs` | set | environment names (for listing) |
//! | `P:sdk_keys` | hash | SDK key id → [`SdkKeyRecord`] JSON |
//! | `P:{E}:version` | string | the environment's version; the environment exists iff it does |
//! | `P:{E}:flags` | hash | flag key → `{"version": V, "flag": {...}}` |
//! | `P:{E}:log` | stream | the change log; entry id `<version>-1`, trimmed to the log length |
//! | `P:{E}:audit` | sorted set | audit entries scored by version, trimmed to the audit length |
//! | `P:{E}:usage` | hash | `y:<key>`, `n:<key>` counts and `l:<key>` last period end (ms) |
//!
//! Every flag write is one Lua script (`write.lua`): checks, flags, version, audit and change
//! log, all or nothing. The script runs every check before its first write, and Redis refuses
//! a writing script up front when it is out of memory, so a failed check or a full Redis
//! leaves nothing behind. Creating and deleting an environment touch `P:envs` (and `P:sdk_keys`)
//! in a second step, since those keys live in other slots; `list_environments` only lists
//! environments whose version key exists, so a crash between the steps never shows a deleted one.
//!
//! Connection: a lazily connecting [`ConnectionManager`] with short connection and response
//! timeouts, so while Redis is down every call fails with [`Error::Unavailable`] within about
//! two seconds and works again, without a restart, once Redis is back.
//! [`Store::wait_for_changes`] blocks in `XREAD` on a dedicated connection of its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use flag_sdk::{EnvName, FlagKey};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError, Script, ServerErrorKind};

use super::embedded::sort_sdk_keys;
use super::record::{
    corrupt, decode, decode_flag, encode, env_not_found, flag_exists, flag_not_found,
    sdk_key_not_found, stale, stamped, AuditRecord, FlagRecord, MetaRecord,
};
use super::{
    unavailable, AuditEntry, Change, ChangeEvent, ChangeMeta, EnvState, FlagUsage, Limits, Replay,
    SdkKeyRecord, Store, WriteOp,
};
use crate::error::{Error, Result};

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long Redis may take to answer one command.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1500);
/// The upper bound of any one store call, reconnection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The Redis store. Cheap to share behind an `Arc`.
pub struct RedisStore {
    client: Client,
    manager: ConnectionManager,
    /// Idle connections for blocking `XREAD`s, which must not sit on the shared connection.
    blocking: Mutex<Vec<MultiplexedConnection>>,
    prefix: String,
    limits: Limits,
    write_script: Script,
    usage_script: Script,
    delete_env_script: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Maps a Redis failure: anything that means "cannot reach or use Redis right now" is
/// [`Error::Unavailable`], the rest (unexpected replies, script bugs) [`Error::Internal`].
fn redis_err(e: RedisError) -> Error {
    let down = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::AuthenticationFailed
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        );
    if down {
        unavailable(format!("redis: {e}"))
    } else {
        Error::Internal(format!("redis: {e}"))
    }
}

/// Bounds a Redis call by `limit`, mapping errors and the timeout.
async fn bounded<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(redis_err),
        Err(_) => Err(unavailable(format!(
            "redis did not answer within {limit:?}"
        ))),
    }
}

/// The version a change-log entry id `<version>-1` stands for.
fn id_version(id: &str) -> Result<u64> {
    id.split('-')
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(format!("change-log id {id}")))
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://…`, `rediss://…`) whose keys all start with
    /// `prefix:`. A malformed URL or prefix is an error; an unreachable Redis is not: the
    /// connection is made on first use and remade after failures.
    pub fn connect(url: &str, prefix: &str) -> Result<Self> {
        Self::connect_with(url, prefix, Limits::default())
    }

    /// [`RedisStore::connect`] with the given retention limits.
    pub fn connect_with(url: &str, prefix: &str, limits: Limits) -> Result<Self> {
        if prefix.is_empty()
            || prefix.contains(['{', '}'])
            || prefix.chars().any(char::is_whitespace)
        {
            return Err(Error::BadRequest(format!(
                "invalid Redis key prefix {prefix:?}: it must be non-empty, without braces or spaces"
            )));
        }
        let client =
            Client::open(url).map_err(|e| Error::BadRequest(format!("invalid Redis URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| Error::BadRequest(format!("invalid Redis configuration: {e}")))?;
        Ok(RedisStore {
            client,
            manager,
            blocking: Mutex::new(Vec::new()),
            prefix: prefix.to_owned(),
            limits: Limits {
                change_log_len: limits.change_log_len.max(1),
                audit_len: limits.audit_len.max(1),
            },
            write_script: Script::new(include_str!("write.lua")),
            usage_script: Script::new(include_str!("usage.lua")),
            delete_env_script: Script::new(include_str!("delete_env.lua")),
        })
    }

    fn conn(&self) -> ConnectionManager {
        self.manager.clone()
    }

    fn envs_key(&self) -> String {
        format!("{}:envs", self.prefix)
    }

    fn sdk_keys_key(&self) -> String {
        format!("{}:sdk_keys", self.prefix)
    }

    /// A key of one environment, e.g. `flags:{production}:log`.
    fn key(&self, env: &EnvName, what: &str) -> String {
        format!("{}:{{{}}}:{what}", self.prefix, env.as_str())
    }

    /// Runs one command with the standard bound.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        let mut c = self.conn();
        bounded(CALL_TIMEOUT, cmd.query_async(&mut c)).await
    }

    /// Runs an atomic pipeline (`MULTI`/`EXEC`) with the standard bound.
    async fn atomic<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T> {
        let mut c = self.conn();
        bounded(CALL_TIMEOUT, pipe.query_async(&mut c)).await
    }

    /// A connection for a blocking command: an idle one (`true`), or a new one (`false`).
    async fn blocking_conn(&self) -> Result<(MultiplexedConnection, bool)> {
        if let Some(c) = self.blocking.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok((c, true));
        }
        // No response timeout here: the caller bounds the blocking command itself.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        let connect = self
            .client
            .get_multiplexed_async_connection_with_config(&config);
        Ok((bounded(CALL_TIMEOUT, connect).await?, false))
    }

    fn release_blocking_conn(&self, c: MultiplexedConnection) {
        if let Ok(mut idle) = self.blocking.lock() {
            idle.push(c);
        }
    }

    /// Decodes change-log entries of `env`.
    fn changes(&self, env: &EnvName, ids: &[StreamId]) -> Result<Vec<Change>> {
        ids.iter()
            .map(|entry| {
                let version = id_version(&entry.id)?;
                let event = match entry.get::<String>("op").as_deref() {
                    Some("put") => {
                        let rec: String = entry
                            .get("flag")
                            .ok_or_else(|| corrupt("change without flag"))?;
                        ChangeEvent::Put {
                            flag: decode_flag(rec.as_bytes())?,
                        }
                    }
                    Some("delete") => {
                        let key: String = entry
                            .get("key")
                            .ok_or_else(|| corrupt("change without key"))?;
                        ChangeEvent::Delete {
                            key: FlagKey::parse(key).map_err(corrupt)?,
                        }
                    }
                    other => return Err(corrupt(format!("change-log op {other:?}"))),
                };
                Ok(Change {
                    environment: env.clone(),
                    version,
                    event,
                })
            })
            .collect()
    }

    /// `Ok(())` when `env` exists.
    async fn require_env(&self, env: &EnvName) -> Result<()> {
        let exists: bool = self
            .query(redis::cmd("EXISTS").arg(self.key(env, "version")))
            .await?;
        if exists {
            Ok(())
        } else {
            Err(env_not_found(env))
        }
    }
}

/// The script arguments of one op: kind, key, expected, flag JSON.
fn op_args(op: &WriteOp, version_hint: &ChangeMeta) -> Result<[String; 4]> {
    let expected = |e: &Option<u64>| e.map(|v| v.to_string()).unwrap_or_default();
    Ok(match op {
        WriteOp::Create(flag) => {
            let flag = stamped(flag.clone(), 0, version_hint);
            [
                "c".into(),
                flag.key.as_str().into(),
                String::new(),
                flag_json(&flag)?,
            ]
        }
        WriteOp::Put { flag, expected: e } => {
            let flag = stamped(flag.clone(), 0, version_hint);
            [
                "p".into(),
                flag.key.as_str().into(),
                expected(e),
                flag_json(&flag)?,
            ]
        }
        WriteOp::Delete { key, expected: e } => {
            ["d".into(), key.as_str().into(), expected(e), String::new()]
        }
    })
}

/// The flag's contract JSON, as the script wraps it into a [`FlagRecord`].
fn flag_json(flag: &Flag) -> Result<String> {
    serde_json::to_string(&FlagRecord::of(flag).flag).map_err(corrupt)
}

use flag_sdk::Flag;

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
            return Ok(envs);
        }
        let mut pipe = redis::pipe();
        for env in &envs {
            pipe.exists(self.key(env, "version"));
        }
        let exists: Vec<bool> = self.atomic(&pipe).await?;
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
        Ok(created.is_some())
    }

    async fn delete_environment(&self, env: &EnvName) -> Result<()> {
        let mut c = self.conn();
        let existed: i64 = bounded(
            CALL_TIMEOUT,
            self.delete_env_script
                .key(self.key(env, "version"))
                .key(self.key(env, "flags"))
                .key(self.key(env, "log"))
                .key(self.key(env, "audit"))
                .key(self.key(env, "usage"))
                .invoke_async(&mut c),
        )
        .await?;
        let _: i64 = self
            .query(redis::cmd("SREM").arg(self.envs_key()).arg(env.as_str()))
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
            Ok(())
        } else {
            Err(env_not_found(env))
        }
    }

    async fn load(&self, env: &EnvName) -> Result<EnvState> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .get(self.key(env, "version"))
            .hvals(self.key(env, "flags"));
        let (version, records): (Option<u64>, Vec<String>) = self.atomic(&pipe).await?;
        let version = version.ok_or_else(|| env_not_found(env))?;
        let mut flags = records
            .iter()
            .map(|r| decode_flag(r.as_bytes()))
            .collect::<Result<Vec<_>>>()?;
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(EnvState {
            environment: env.clone(),
            version,
            flags,
        })
    }

    async fn version(&self, env: &EnvName) -> Result<u64> {
        let v: Option<u64> = self
            .query(redis::cmd("GET").arg(self.key(env, "version")))
            .await?;
        v.ok_or_else(|| env_not_found(env))
    }

    async fn write(
        &self,
        env: &EnvName,
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
            .arg(self.limits.change_log_len)
            .arg(self.limits.audit_len)
            .arg(meta_json);
        for op in &ops {
            for a in op_args(op, meta)? {
                inv.arg(a);
            }
        }
        let mut c = self.conn();
        let reply: Vec<String> = bounded(CALL_TIMEOUT, inv.invoke_async(&mut c)).await?;
        let arg = |i: usize| reply.get(i).map(String::as_str).unwrap_or_default();
        match arg(0) {
            "OK" => {}
            "ENV" => return Err(env_not_found(env)),
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
                return Err(Error::Internal(format!(
                    "unexpected reply from the write script: {other}"
                )))
            }
        }
        let first: u64 = arg(1).parse().map_err(corrupt)?;
        Ok(ops
            .into_iter()
            .zip(first..)
            .map(|(op, version)| {
                let event = match op {
                    WriteOp::Create(flag) | WriteOp::Put { flag, .. } => ChangeEvent::Put {
                        flag: stamped(flag, version, meta),
                    },
                    WriteOp::Delete { key, .. } => ChangeEvent::Delete { key },
                };
                Change {
                    environment: env.clone(),
                    version,
                    event,
                }
            })
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
        let current = current.ok_or_else(|| env_not_found(env))?;
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
        // An idle connection may have died with an earlier Redis; then try once on a new one.
        let (mut c, mut pooled) = self.blocking_conn().await?;
        let reply: Option<StreamReadReply> = loop {
            match bounded(timeout + CALL_TIMEOUT, cmd.query_async(&mut c)).await {
                Ok(reply) => break reply,
                Err(Error::Unavailable(_)) if pooled => (c, pooled) = self.blocking_conn().await?,
                Err(e) => return Err(e),
            }
        };
        self.release_blocking_conn(c);
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
            return Err(env_not_found(env));
        }
        entries
            .iter()
            .map(|e| decode::<AuditRecord>(e.as_bytes())?.into_entry())
            .collect()
    }

    async fn create_sdk_key(&self, key: &SdkKeyRecord) -> Result<()> {
        self.require_env(&key.environment).await?;
        let json = String::from_utf8(encode(key)?).map_err(corrupt)?;
        let added: bool = self
            .query(
                redis::cmd("HSETNX")
                    .arg(self.sdk_keys_key())
                    .arg(&key.id)
                    .arg(json),
            )
            .await?;
        if added {
            Ok(())
        } else {
            Err(Error::Conflict(format!(
                "SDK key '{}' already exists",
                key.id
            )))
        }
    }

    async fn list_sdk_keys(&self) -> Result<Vec<SdkKeyRecord>> {
        let records: Vec<String> = self
            .query(redis::cmd("HVALS").arg(self.sdk_keys_key()))
            .await?;
        let mut keys = records
            .iter()
            .map(|r| decode(r.as_bytes()))
            .collect::<Result<Vec<SdkKeyRecord>>>()?;
        sort_sdk_keys(&mut keys);
        Ok(keys)
    }

    async fn revoke_sdk_key(&self, env: &EnvName, id: &str) -> Result<()> {
        let rec: Option<String> = self
            .query(redis::cmd("HGET").arg(self.sdk_keys_key()).arg(id))
            .await?;
        match rec
            .map(|r| decode::<SdkKeyRecord>(r.as_bytes()))
            .transpose()?
        {
            Some(rec) if &rec.environment == env => {
                let _: i64 = self
                    .query(redis::cmd("HDEL").arg(self.sdk_keys_key()).arg(id))
                    .await?;
                Ok(())
            }
            _ => Err(sdk_key_not_found(id)),
        }
    }

    async fn record_usage(
        &self,
        env: &EnvName,
        period_end: DateTime<Utc>,
        counts: &HashMap<String, (u64, u64)>,
    ) -> Result<()> {
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut inv = self.usage_script.prepare_invoke();
        inv.key(self.key(env, "version"))
            .key(self.key(env, "usage"))
            .arg(period_end.timestamp_millis());
        for (key, (yes, no)) in counts {
            inv.arg(key).arg(clamp(*yes)).arg(clamp(*no));
        }
        let mut c = self.conn();
        let found: i64 = bounded(CALL_TIMEOUT, inv.invoke_async(&mut c)).await?;
        if found == 1 {
            Ok(())
        } else {
            Err(env_not_found(env))
        }
    }

    async fn usage(&self, env: &EnvName) -> Result<HashMap<String, FlagUsage>> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .exists(self.key(env, "version"))
            .hgetall(self.key(env, "usage"));
        let (exists, fields): (bool, HashMap<String, i64>) = self.atomic(&pipe).await?;
        if !exists {
            return Err(env_not_found(env));
        }
        let mut out: HashMap<String, FlagUsage> = HashMap::new();
        for (field, n) in fields {
            let Some((kind, key)) = field.split_once(':') else {
                continue;
            };
            let u = out.entry(key.to_owned()).or_default();
            let count = u64::try_from(n).unwrap_or_default();
            match kind {
                "y" => u.yes = count,
                "n" => u.no = count,
                "l" => u.last_evaluated = Utc.timestamp_millis_opt(n).single(),
                _ => {}
            }
        }
        Ok(out)
    }
}
