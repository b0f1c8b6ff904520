//! The embedded store: one [redb](https://docs.rs/redb) database file in a directory, the
//! zero-setup default for a single node.
//!
//! Why redb: it is an embedded key-value store with ACID transactions over copy-on-write
//! B-trees that fsyncs on commit, so an acknowledged write survives `kill -9` and a torn write
//! is never visible; a write costs O(log n) in what it touches. An atomically renamed JSON
//! file would rewrite everything on every change (O(total)) and need its own log for the audit
//! trail and the change log; sled is unmaintained.
//!
//! redb is synchronous, so every transaction runs in [`tokio::task::spawn_blocking`].
//! [`Store::wait_for_changes`] is served in-process: every committed write bumps a
//! [`tokio::sync::watch`] counter, and waiters then read the change log.
//!
//! Retention: the change log keeps the last [`Limits::change_log_len`] changes per environment
//! and the audit trail the last [`Limits::audit_len`] entries (100 000 by default), both trimmed
//! in the transaction that writes.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use flag_sdk::EnvName;
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use tokio::sync::watch;

use super::record::{
    corrupt, decode, decode_flag, encode, env_not_found, sdk_key_not_found, AuditRecord,
};
use super::{
    AuditEntry, Change, ChangeMeta, EnvState, EventCursor, FlagUsage, Limits, Replay, SdkKeyRecord,
    Store, StoreEvent, WriteOp,
};
use crate::store::{Result, StoreError};

/// Environment name → current version.
const ENVS: TableDefinition<&str, u64> = TableDefinition::new("environments");
/// (environment, flag key) → [`FlagRecord`] JSON.
const FLAGS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("flags");
/// (environment, version) → [`LogRecord`] JSON.
const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("change_log");
/// (environment, version) → [`AuditRecord`] JSON.
const AUDIT: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("audit");
/// SDK key id → [`SdkKeyRecord`] JSON.
const SDK_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("sdk_keys");
/// (environment, segment key) → the segment's contract JSON.
const SEGMENTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("segments");
/// (environment, flag key) → [`FlagUsage`] JSON.
const USAGE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("usage");

/// (environment, job id) → (revision, the job's JSON).
const JOBS: TableDefinition<(&str, &str), (u64, &[u8])> = TableDefinition::new("jobs");

/// The database file's name inside the store's directory.
const FILE_NAME: &str = "flags.redb";

/// The embedded, durable store. Cheap to share behind an `Arc`; one per directory (redb locks
/// the file, so a second open of the same directory fails while the first is alive).
pub struct EmbeddedStore {
    db: Arc<Database>,
    limits: Limits,
    /// Bumped after every committed write and every event; waiters re-read the log.
    commits: watch::Sender<u64>,
    /// The event log. One process owns the database, so the log lives in its memory: the
    /// server reads it from the same process that wrote it.
    events: Mutex<EventLog>,
    /// The identity (see [`Store::identity`]); a file of the process's own does not lose data
    /// behind its back, so it is kept in memory.
    identity: Mutex<Option<String>>,
    /// Leases by name: holder and expiry.
    leases: Mutex<HashMap<String, (String, std::time::Instant)>>,
}

/// The newest events, numbered from 1.
#[derive(Debug, Default)]
struct EventLog {
    last: u64,
    entries: VecDeque<(u64, StoreEvent)>,
}

/// Events the in-memory log keeps.
const EVENT_LOG_LEN: usize = 10_000;

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Maps a redb failure: I/O is [`StoreError::Unavailable`] (a full or failing disk), the rest
/// [`StoreError::Internal`].
fn db_err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Io(e) => StoreError::Unavailable(format!("embedded store I/O error: {e}")),
        redb::Error::PreviousIo => StoreError::Unavailable(
            "embedded store I/O failed earlier; restart the server".to_owned(),
        ),
        e => StoreError::Internal(format!("embedded store: {e}")),
    }
}

/// The first key after every `(env, _)` key: `\0` sorts before any byte a name may contain.
fn env_end(env: &str) -> String {
    format!("{env}\0")
}

impl EmbeddedStore {
    /// Opens (creating when needed) the store in `dir`, with the default [`Limits`].
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, Limits::default())
    }

    /// Opens (creating when needed) the store in `dir` with the given retention limits.
    pub fn open_with(dir: &Path, limits: Limits) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let db = Database::create(dir.join(FILE_NAME)).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(ENVS).map_err(db_err)?;
        txn.open_table(FLAGS).map_err(db_err)?;
        txn.open_table(LOG).map_err(db_err)?;
        txn.open_table(AUDIT).map_err(db_err)?;
        txn.open_table(SDK_KEYS).map_err(db_err)?;
        txn.open_table(USAGE).map_err(db_err)?;
        txn.open_table(SEGMENTS).map_err(db_err)?;
        txn.open_table(JOBS).map_err(db_err)?;
        txn.open_table(clients::CLIENTS).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        let limits = Limits {
            change_log_len: limits.change_log_len.max(1),
            audit_len: limits.audit_len.max(1),
        };
        Ok(EmbeddedStore {
            db: Arc::new(db),
            limits,
            commits: watch::channel(0).0,
            events: Mutex::default(),
            identity: Mutex::default(),
            leases: Mutex::default(),
        })
    }

    /// Appends an event and wakes the waiters.
    fn push_event(&self, event: StoreEvent) {
        {
            let mut log = self.events.lock().unwrap_or_else(|p| p.into_inner());
            log.last += 1;
            let n = log.last;
            log.entries.push_back((n, event));
            while log.entries.len() > EVENT_LOG_LEN {
                log.entries.pop_front();
            }
        }
        self.commits.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The events after `after`.
    fn events_after(&self, after: u64) -> Vec<(EventCursor, StoreEvent)> {
        let log = self.events.lock().unwrap_or_else(|p| p.into_inner());
        log.entries
            .iter()
            .filter(|(n, _)| *n > after)
            .map(|(n, e)| (n.to_string(), e.clone()))
            .collect()
    }

    fn last_event(&self) -> u64 {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).last
    }

    /// Runs `f` on a blocking thread.
    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Internal(format!("embedded store task failed: {e}")))?
    }

    /// Runs `f` in a write transaction, commits when it succeeds and wakes the waiters;
    /// when it fails, the transaction is dropped, which aborts it: nothing is written.
    async fn write_txn<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        let out = self
            .blocking(move |db| {
                let txn = db.begin_write().map_err(db_err)?;
                let out = f(&txn)?;
                txn.commit().map_err(db_err)?;
                Ok(out)
            })
            .await?;
        self.commits.send_modify(|n| *n = n.wrapping_add(1));
        Ok(out)
    }
}

/// The current version of `env` in a write transaction; [`StoreError::EnvNotFound`] when absent.
fn env_version_w(txn: &WriteTransaction, env: &str) -> Result<Option<u64>> {
    let envs = txn.open_table(ENVS).map_err(db_err)?;
    let v = envs.get(env).map_err(db_err)?.map(|g| g.value());
    Ok(v)
}

/// Drops the entries of `env` at or below `version - keep`.
fn trim(
    table: &mut redb::Table<(&'static str, u64), &'static [u8]>,
    env: &str,
    version: u64,
    keep: usize,
) -> Result<()> {
    let keep = u64::try_from(keep).unwrap_or(u64::MAX);
    if let Some(cutoff) = version.checked_sub(keep) {
        table
            .retain_in((env, 0u64)..=(env, cutoff), |_, _| false)
            .map_err(db_err)?;
    }
    Ok(())
}

/// The version of `env` in a read transaction; [`StoreError::EnvNotFound`] when absent.
fn env_version_r(txn: &redb::ReadTransaction, env: &EnvName) -> Result<u64> {
    let envs = txn.open_table(ENVS).map_err(db_err)?;
    let v = envs.get(env.as_str()).map_err(db_err)?.map(|g| g.value());
    v.ok_or_else(|| env_not_found(env))
}

mod clients;
mod jobs;
mod keys;
mod ops;
mod store_impl;

use ops::{apply, read_log, read_segments};
