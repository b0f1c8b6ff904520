//! Storage of environments, flags, segments, the change log, audit entries, SDK keys, usage
//! counts and the SDK instances seen (clients).
//!
//! Two implementations pass one conformance suite (`tests/tests/store/`, run with
//! `cargo test -p flag-tests --test store`):
//! [`redis::RedisStore`] for production and several instances (one Redis, a Cluster or a
//! Sentinel deployment), and [`embedded::EmbeddedStore`], the zero-setup default for one node.
//! A third, `crate::edge`'s replica of an upstream server, implements the trait to serve the
//! SDK routes of an edge from memory; it refuses every write, so it is tested by the edge
//! suite (`tests/tests/edge/`), not this one.
//!
//! Guarantees every implementation gives:
//! - [`Store::write`] is atomic: every check (existence, expected versions) passes and every
//!   operation is written, each with its own consecutive environment version, its audit entry
//!   and its change-log entry, or nothing at all is written.
//! - An environment's version starts at 0 and increases by exactly one per change; a flag's
//!   `version` is the environment version of the change that last wrote it.
//! - Segments ([`WriteOp::PutSegment`], [`WriteOp::DeleteSegment`]) are written like flags:
//!   each is one change with its version, audit entry and change-log entry, in the same
//!   sequence. The store does not check references between flags and segments; the service
//!   does, and writes with [`Store::write_at`] so that what it checked is what it writes on.
//! - The change log holds the last [`Limits::change_log_len`] changes of each environment
//!   ([`CHANGE_LOG_LEN`] by default) and the audit trail the last [`Limits::audit_len`] entries;
//!   [`Store::changes_since`] answers [`Replay::TooOld`] when it no longer reaches back.
//! - A write the store acknowledged survives a crash of the process (embedded) or of the
//!   server (Redis, within Redis's own persistence settings).
//! - When the backing store is unreachable, every method fails with [`StoreError::Unavailable`].
//! - Creating and deleting an environment, and issuing and revoking an SDK key, each record a
//!   [`StoreEvent`] in the store's event log, which [`Store::wait_for_events`] follows: other
//!   instances learn of these changes from events, never by noticing that something is missing.
//! - The store carries an identity ([`Store::identity`]), written at first start. It is gone
//!   when the backing store lost its data (a Redis restarted empty): the server then writes its
//!   in-memory state back ([`Store::restore_environment`], [`Store::restore_sdk_keys`]).
//!   While the identity is gone, a call that finds an environment missing fails with
//!   [`StoreError::Unavailable`] rather than [`StoreError::EnvNotFound`]: absence is not deletion.

mod clients;
pub mod embedded;
mod error;
mod record;
pub mod redis;
mod types;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flag_sdk::EnvName;

pub use clients::{ClientRecord, CLIENT_RETENTION, MAX_CLIENT_FLAGS};
pub use error::{Result, StoreError};
pub use types::{
    AuditAction, AuditEntry, Change, ChangeEvent, ChangeMeta, Durability, EnvState, EventCursor,
    FlagUsage, JobRecord, Replay, RestoreCounts, SdkKeyRecord, StoreEvent, WriteOp,
};

/// How many changes per environment the log keeps for replay (at least).
pub const CHANGE_LOG_LEN: usize = 10_000;

/// How many audit entries per environment a store keeps (the newest); older ones are dropped.
pub const AUDIT_LEN: usize = 100_000;

/// Retention limits of a store; [`Limits::default`] is [`CHANGE_LOG_LEN`] and [`AUDIT_LEN`].
/// Tests use small ones to exercise trimming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Changes kept per environment for replay (at least 1).
    pub change_log_len: usize,
    /// Audit entries kept per environment (at least 1).
    pub audit_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            change_log_len: CHANGE_LOG_LEN,
            audit_len: AUDIT_LEN,
        }
    }
}

/// The storage backend. See the module documentation for the guarantees.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and metrics (`redis`, `embedded`).
    fn kind(&self) -> &'static str;

    /// Succeeds when the backing store answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    /// All environments, sorted by name.
    async fn list_environments(&self) -> Result<Vec<EnvName>>;

    /// Creates an environment at version 0; `Ok(false)` when it existed already.
    async fn create_environment(&self, env: &EnvName) -> Result<bool>;

    /// Deletes an environment with its flags, change log, audit entries, SDK keys and usage.
    /// [`StoreError::EnvNotFound`] when it does not exist.
    async fn delete_environment(&self, env: &EnvName) -> Result<()>;

    /// The whole state of an environment; [`StoreError::EnvNotFound`] when it does not exist.
    async fn load(&self, env: &EnvName) -> Result<EnvState>;

    /// The current version of an environment, cheaply; [`StoreError::EnvNotFound`] when absent.
    async fn version(&self, env: &EnvName) -> Result<u64>;

    /// Applies `ops` atomically (see the module documentation) and returns the changes made,
    /// in order, one per op. The store sets each flag's `version`, `updated_at` (from
    /// `meta.at`) and `updated_by` (from `meta.actor`). [`StoreError::EnvNotFound`] when the
    /// environment does not exist. An empty `ops` writes nothing and returns nothing.
    async fn write(
        &self,
        env: &EnvName,
        ops: Vec<WriteOp>,
        meta: &ChangeMeta,
    ) -> Result<Vec<Change>> {
        self.write_at(env, None, ops, meta).await
    }

    /// [`Store::write`], only when the environment is at version `at` (when given):
    /// [`StoreError::EnvChanged`] otherwise, with nothing written. For writes checked against
    /// the whole environment (references between flags and segments).
    async fn write_at(
        &self,
        env: &EnvName,
        at: Option<u64>,
        ops: Vec<WriteOp>,
        meta: &ChangeMeta,
    ) -> Result<Vec<Change>>;

    /// The changes after `version`, in order.
    async fn changes_since(&self, env: &EnvName, version: u64) -> Result<Replay>;

    /// Waits until some environment in `cursors` has a change after its version, or until
    /// `timeout`; returns those changes (empty on timeout), in order per environment.
    /// The fan-out path between server instances.
    ///
    /// Returns at once when a cursor is already behind. Environments that do not exist add
    /// nothing. When the log was trimmed past a cursor, the changes of that environment start
    /// later than `version + 1`: the caller sees the gap and loads afresh.
    async fn wait_for_changes(
        &self,
        cursors: &[(EnvName, u64)],
        timeout: Duration,
    ) -> Result<Vec<Change>>;

    /// Audit entries newest first: at most `limit`, only versions below `before` when given.
    async fn audit(
        &self,
        env: &EnvName,
        limit: usize,
        before: Option<u64>,
    ) -> Result<Vec<AuditEntry>>;

    /// Stores a new SDK key; [`StoreError::EnvNotFound`] when its environment does not exist.
    async fn create_sdk_key(&self, key: &SdkKeyRecord) -> Result<()>;

    /// All SDK keys of every environment (the server keeps them in memory for authentication).
    async fn list_sdk_keys(&self) -> Result<Vec<SdkKeyRecord>>;

    /// Revokes an SDK key of an environment; [`StoreError::SdkKeyNotFound`] when there is no such key.
    async fn revoke_sdk_key(&self, env: &EnvName, id: &str) -> Result<()>;

    /// Adds evaluation counts reported by an SDK for one period ending at `period_end`.
    async fn record_usage(
        &self,
        env: &EnvName,
        period_end: DateTime<Utc>,
        counts: &HashMap<String, (u64, u64)>,
    ) -> Result<()>;

    /// Summed evaluation counts of an environment's flags, by key.
    async fn usage(&self, env: &EnvName) -> Result<HashMap<String, FlagUsage>>;

    /// The position of the newest event: following from it yields only later events.
    async fn event_cursor(&self) -> Result<EventCursor>;

    /// Waits until the event log has entries after `after`, or until `timeout`; returns them in
    /// order with the cursor of each (empty on timeout).
    async fn wait_for_events(
        &self,
        after: &EventCursor,
        timeout: Duration,
    ) -> Result<Vec<(EventCursor, StoreEvent)>>;

    /// Appends an event to the log (the store's own methods record theirs; the server records
    /// [`StoreEvent::Restored`]).
    async fn publish_event(&self, event: &StoreEvent) -> Result<()>;

    /// The store's identity, `None` when it is gone: the backing store lost its data.
    async fn identity(&self) -> Result<Option<String>>;

    /// Sets the identity to `proposed` unless one exists; returns the identity in force.
    async fn ensure_identity(&self, proposed: &str) -> Result<String>;

    /// Replaces the identity (after a restore, so that every instance sees that one happened).
    async fn set_identity(&self, id: &str) -> Result<()>;

    /// Takes the lease `name` for `holder` for `ttl` unless another holder has it; `true` when
    /// taken. A holder that calls again while it holds the lease renews it for `ttl`. Used so
    /// that one instance restores a store that lost its data, and one drives releases.
    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool>;

    /// Gives the lease back when `holder` still has it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;

    /// Writes an environment's state back (flags with their versions, segments, and the version) when the
    /// store does not have it or has an older version, with one [`AuditAction::Restore`] entry
    /// at the restored version. `Ok(false)` when the store is at that version or later already.
    /// Flags and segments of the environment the state does not hold are removed; the change log starts
    /// empty after the restored version.
    async fn restore_environment(
        &self,
        state: &EnvState,
        sdk_keys: u64,
        meta: &ChangeMeta,
    ) -> Result<bool>;

    /// Writes back the SDK keys the store does not have (by id); returns how many it wrote.
    async fn restore_sdk_keys(&self, keys: &[SdkKeyRecord]) -> Result<usize>;

    /// The jobs of an environment (scheduled changes, release plans), sorted by id.
    /// [`StoreError::EnvNotFound`] when the environment does not exist.
    async fn jobs(&self, env: &EnvName) -> Result<Vec<JobRecord>>;

    /// The environments that have (or had) jobs, sorted: where the release driver looks, so
    /// that an idle deployment with many environments costs the store little. A superset:
    /// an environment stays listed after its last job is gone, until it is deleted.
    async fn job_environments(&self) -> Result<Vec<EnvName>>;

    /// Writes a job when it is at revision `expected` (0: when it does not exist yet) and
    /// returns its new revision; [`StoreError::JobConflict`] with nothing written otherwise.
    /// Every instance that races to move a job on does so through this compare-and-set, so
    /// exactly one of them wins each step.
    async fn put_job(&self, env: &EnvName, id: &str, expected: u64, body: &str) -> Result<u64>;

    /// Deletes a job when it is at revision `expected`; [`StoreError::JobConflict`] otherwise
    /// (`actual` 0 when there is no such job).
    async fn delete_job(&self, env: &EnvName, id: &str, expected: u64) -> Result<()>;

    /// Whether a restart of the backing store keeps the data.
    async fn durability(&self) -> Result<Durability> {
        Ok(Durability::Durable)
    }

    /// Records what this server instance saw of SDK instances of `env` (see
    /// [`ClientRecord`]): each is merged into the stored record of its instance id
    /// ([`ClientRecord::merge`]), and records whose `last_seen` is older than
    /// [`CLIENT_RETENTION`] are dropped. Written in batches, never once per request.
    /// [`StoreError::EnvNotFound`] when the environment does not exist. Deleting an
    /// environment deletes its records.
    async fn record_clients(&self, env: &EnvName, clients: &[ClientRecord]) -> Result<()>;

    /// The SDK instances of `env` seen at or after `since`, sorted by instance id;
    /// [`StoreError::EnvNotFound`] when the environment does not exist.
    async fn clients(&self, env: &EnvName, since: DateTime<Utc>) -> Result<Vec<ClientRecord>>;
}

/// Maps an unreachable-store failure; used by both implementations.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}
