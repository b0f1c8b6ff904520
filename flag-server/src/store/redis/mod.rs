//! The Redis store: for production and for several server instances sharing one Redis.
//!
//! Keys (`P` is the prefix, `E` the environment; every key of one environment carries the
//! hash tag `{E}`, so a Redis Cluster keeps an environment in one slot):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:envs` | set | environment names (for listing) |
//! | `P:sdk_keys` | hash | SDK key id → [`SdkKeyRecord`] JSON |
//! | `P:epoch` | string | the store's identity; gone when Redis lost its data |
//! | `P:events` | stream | [`StoreEvent`]s (environments and SDK keys), trimmed to about 10,000 |
//! | `P:lease:N` | string | the holder of lease `N`, with an expiry |
//! | `P:{E}:version` | string | the environment's version; the environment exists iff it does |
//! | `P:{E}:flags` | hash | flag key → `{"version": V, "flag": {...}}` |
//! | `P:{E}:segments` | hash | segment key → the segment's contract JSON |
//! | `P:{E}:log` | stream | the change log; entry id `<version>-1`, trimmed to the log length |
//! | `P:{E}:audit` | sorted set | audit entries scored by version, trimmed to the audit length |
//! | `P:{E}:usage` | hash | `y:<key>`, `n:<key>` counts and `l:<key>` last period end (ms) |
//! | `P:{E}:clients` | hash | SDK instance id → its record JSON (`clients.rs`) |
//! | `P:{E}:clients_seen` | sorted set | SDK instance ids by last seen (ms), for pruning |
//!
//! Every flag and segment write is one Lua script (`write.lua`): checks, flags, version, audit and change
//! log, all or nothing. The script runs every check before its first write, and Redis refuses
//! a writing script up front when it is out of memory, so a failed check or a full Redis
//! leaves nothing behind. Creating and deleting an environment touch `P:envs` (and `P:sdk_keys`)
//! in a second step, since those keys live in other slots; `list_environments` only lists
//! environments whose version key exists, so a crash between the steps never shows a deleted one.
//!
//! Creating and deleting an environment and issuing and revoking an SDK key append a
//! [`StoreEvent`] to `P:events` after their own step, which other instances follow with a
//! blocking `XREAD`. When a call finds an environment missing, the store checks `P:epoch`:
//! gone means Redis lost its data (restarted empty), and the call fails with
//! [`StoreError::Unavailable`] instead of saying the environment does not exist.
//!
//! Connection (`topology.rs`): the URL's scheme picks one Redis (`redis://`, `rediss://`), a
//! Redis Cluster (`redis+cluster://host:port,host:port,…`) or the primary Redis Sentinel names
//! (`redis+sentinel://host:port,…/MASTER_NAME`). Every command is bounded by short connection
//! and response timeouts, so while Redis is down (or a failover is under way) every call fails
//! with [`StoreError::Unavailable`] within about two seconds and works again, without a
//! restart, once a primary answers. [`Store::wait_for_changes`] and
//! [`Store::wait_for_events`] block in `XREAD` on dedicated connections of their own, never
//! on the shared one.
//!
//! **Redis Cluster.** An environment's keys share the hash tag `{E}`, so they live in one slot
//! and every script above runs on one node, atomically, as on one Redis. `P:envs`,
//! `P:sdk_keys`, `P:epoch`, `P:events` and the leases live in other slots: the operations that
//! span environments are already ordered so that a crash between their steps leaves nothing
//! half-visible (see above), and none of them needs a multi-slot command. Listing environments
//! asks `EXISTS` per environment; following the change logs is one blocking `XREAD` per
//! environment, each on a dedicated cluster connection routed to the slot's primary, and
//! when one returns the others are woken with `CLIENT UNBLOCK` (`cluster.rs`). The cluster
//! connection follows `MOVED`/`ASK` and failovers; a blocked read whose primary was demoted
//! (`UNBLOCKED`) is retried on a new connection.
//!
//! **Redis Sentinel.** The sentinels are asked for the primary (which is checked with `ROLE`)
//! before the first command, after any command failed as unavailable (`READONLY` from a
//! demoted primary, a dropped connection, …), and at least every second; idle blocking
//! connections to a former primary are dropped. Replication is asynchronous: a write a
//! primary acknowledged just before a failover may be lost with it (Redis's own limit;
//! `min-replicas-to-write` on the primary narrows it).
//!
//! A URL's password is never logged: errors name hosts and ports only.

use std::sync::Mutex;
use std::time::Duration;

use flag_sdk::EnvName;
use redis::{ErrorKind, RedisError, Script, ServerErrorKind};

use super::record::{
    corrupt, decode, decode_flag, encode, env_not_found, flag_exists, flag_not_found,
    sdk_key_not_found, stale, AuditRecord, FlagRecord, MetaRecord,
};
use super::{
    unavailable, AuditEntry, Change, ChangeMeta, Durability, EnvState, EventCursor, FlagUsage,
    Limits, Replay, SdkKeyRecord, Store, StoreEvent, WriteOp,
};
use crate::store::{Result, StoreError};

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long Redis may take to answer one command.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1500);
/// The upper bound of any one store call, reconnection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// About how many events `P:events` keeps.
const EVENT_LOG_LEN: usize = 10_000;

/// The Redis store. Cheap to share behind an `Arc`.
pub struct RedisStore {
    /// One Redis, a cluster, or the primary Sentinel names, with the shared connection.
    topology: Topology,
    /// Idle connections for blocking `XREAD`s, which must not sit on the shared connection,
    /// each with the tag of the server it leads to ([`Topology::tag`]).
    blocking: Mutex<Vec<(String, Conn)>>,
    prefix: String,
    limits: Limits,
    write_script: Script,
    usage_script: Script,
    delete_env_script: Script,
    restore_env_script: Script,
    release_lease_script: Script,
    lease_script: Script,
    job_script: Script,
    clients_script: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("topology", &self.topology)
            .field("prefix", &self.prefix)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Maps a Redis failure: anything that means "cannot reach or use Redis right now" is
/// [`StoreError::Unavailable`], the rest (unexpected replies, script bugs) [`StoreError::Internal`].
fn redis_err(e: RedisError) -> StoreError {
    let down = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        // A blocked command of a primary that was turned into a replica (a failover).
        || e.code() == Some("UNBLOCKED")
        || matches!(
            e.kind(),
            ErrorKind::AuthenticationFailed
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::MasterNameNotFoundBySentinel
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                        | ServerErrorKind::Moved
                        | ServerErrorKind::Ask
                )
        );
    if down {
        unavailable(format!("redis: {e}"))
    } else {
        StoreError::Internal(format!("redis: {e}"))
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
            return Err(StoreError::InvalidArgument(format!(
                "invalid Redis key prefix {prefix:?}: it must be non-empty, without braces or spaces"
            )));
        }
        let topology = Topology::open(url)?;
        Ok(RedisStore {
            topology,
            blocking: Mutex::new(Vec::new()),
            prefix: prefix.to_owned(),
            limits: Limits {
                change_log_len: limits.change_log_len.max(1),
                audit_len: limits.audit_len.max(1),
            },
            write_script: Script::new(include_str!("write.lua")),
            usage_script: Script::new(include_str!("usage.lua")),
            delete_env_script: Script::new(include_str!("delete_env.lua")),
            restore_env_script: Script::new(include_str!("restore_env.lua")),
            release_lease_script: Script::new(include_str!("release_lease.lua")),
            lease_script: Script::new(include_str!("lease.lua")),
            job_script: Script::new(include_str!("job.lua")),
            clients_script: Script::new(include_str!("clients.lua")),
        })
    }

    /// The shared connection.
    async fn conn(&self) -> Result<Conn> {
        let c = self.topology.shared().await;
        self.observe(&c);
        c
    }

    /// Tells the topology about an unreachable server (see [`Topology::failed`]).
    fn observe<T>(&self, r: &Result<T>) {
        if let Err(StoreError::Unavailable(_)) = r {
            self.topology.failed();
        }
    }

    /// Runs a script with the standard bound.
    async fn eval<T: redis::FromRedisValue>(&self, inv: &redis::ScriptInvocation<'_>) -> Result<T> {
        let mut c = self.conn().await?;
        let r = bounded(CALL_TIMEOUT, inv.invoke_async(&mut c)).await;
        self.observe(&r);
        r
    }

    fn envs_key(&self) -> String {
        format!("{}:envs", self.prefix)
    }

    fn sdk_keys_key(&self) -> String {
        format!("{}:sdk_keys", self.prefix)
    }

    /// The environments that have (or had) jobs.
    fn job_envs_key(&self) -> String {
        format!("{}:job_envs", self.prefix)
    }

    fn epoch_key(&self) -> String {
        format!("{}:epoch", self.prefix)
    }

    fn events_key(&self) -> String {
        format!("{}:events", self.prefix)
    }

    fn lease_key(&self, name: &str) -> String {
        format!("{}:lease:{name}", self.prefix)
    }

    /// The error for an environment the store does not have: [`StoreError::Unavailable`] when Redis
    /// lost its data (the identity is gone too), so that nobody takes a loss for a deletion.
    async fn missing_env(&self, env: &EnvName) -> StoreError {
        match self.require_identity().await {
            Ok(()) => env_not_found(env),
            Err(e) => e,
        }
    }

    /// `Ok(())` when the store's identity exists; [`StoreError::Unavailable`] when Redis lost its
    /// data. Asked before answering "nothing" to a listing, so that a loss is not taken for
    /// an empty store.
    async fn require_identity(&self) -> Result<()> {
        let exists: bool = self
            .query(redis::cmd("EXISTS").arg(self.epoch_key()))
            .await?;
        if exists {
            Ok(())
        } else {
            Err(unavailable(
                "Redis lost its data (the store's identity is gone); flag-server is writing it \
                 back from memory, try again in a moment",
            ))
        }
    }

    /// Appends an event to `P:events`.
    async fn append_event(&self, event: &StoreEvent) -> Result<()> {
        let json = String::from_utf8(encode(event)?).map_err(corrupt)?;
        let _: String = self
            .query(
                redis::cmd("XADD")
                    .arg(self.events_key())
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(EVENT_LOG_LEN)
                    .arg("*")
                    .arg("e")
                    .arg(json),
            )
            .await?;
        Ok(())
    }

    /// Runs a blocking command (`XREAD … BLOCK`) bounded by `timeout` on a connection of its
    /// own. An idle connection may have died with an earlier Redis; then it tries once more on a
    /// new one.
    async fn blocking_query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        timeout: Duration,
    ) -> Result<T> {
        let (mut c, mut pooled) = self.blocking_conn().await?;
        let reply = loop {
            match bounded(timeout + CALL_TIMEOUT, cmd.query_async(&mut c.1)).await {
                Ok(reply) => break reply,
                Err(StoreError::Unavailable(_)) if pooled => {
                    (c, pooled) = self.blocking_conn().await?
                }
                Err(e) => {
                    self.topology.failed();
                    return Err(e);
                }
            }
        };
        self.release_blocking_conn(c);
        Ok(reply)
    }

    /// A key of one environment, e.g. `flags:{production}:log`.
    fn key(&self, env: &EnvName, what: &str) -> String {
        format!("{}:{{{}}}:{what}", self.prefix, env.as_str())
    }

    /// Runs one command with the standard bound.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        let mut c = self.conn().await?;
        let r = bounded(CALL_TIMEOUT, cmd.query_async(&mut c)).await;
        self.observe(&r);
        r
    }

    /// Runs an atomic pipeline (`MULTI`/`EXEC`) with the standard bound.
    async fn atomic<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T> {
        let mut c = self.conn().await?;
        let r = bounded(CALL_TIMEOUT, pipe.query_async(&mut c)).await;
        self.observe(&r);
        r
    }

    /// A connection for a blocking command, with its tag: an idle one (`true`), or a new one
    /// (`false`). Idle ones that lead to a former Sentinel primary are dropped.
    async fn blocking_conn(&self) -> Result<((String, Conn), bool)> {
        let tag = self.topology.tag().await;
        self.observe(&tag);
        let tag = tag?;
        if let Ok(mut idle) = self.blocking.lock() {
            idle.retain(|(t, _)| *t == tag);
            if let Some(c) = idle.pop() {
                return Ok((c, true));
            }
        }
        let c = self.topology.dedicated().await;
        self.observe(&c);
        Ok((c?, false))
    }

    fn release_blocking_conn(&self, c: (String, Conn)) {
        if let Ok(mut idle) = self.blocking.lock() {
            idle.push(c);
        }
    }

    /// `Ok(())` when `env` exists.
    async fn require_env(&self, env: &EnvName) -> Result<()> {
        let exists: bool = self
            .query(redis::cmd("EXISTS").arg(self.key(env, "version")))
            .await?;
        if exists {
            Ok(())
        } else {
            Err(self.missing_env(env).await)
        }
    }
}

mod clients;
mod cluster;
mod events;
mod jobs;
mod keys;
mod ops;
mod recovery;
mod store_impl;
mod topology;

use ops::op_args;
use topology::{Conn, Topology};
