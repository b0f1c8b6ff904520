//! [`EdgeStore`]: the edge's replica of its upstream, behind the [`Store`] trait so that the
//! hub, the SDK routes and the stream's exact resume work on an edge unchanged.
//!
//! It holds, per environment, the state the upstream last sent (from a `snapshot` event or
//! the backup file) and the changes received since, with the upstream's version numbers: a
//! stream client's `Last-Event-ID` means the same on the upstream and on every edge. It is
//! written only by the edge's sources ([`EdgeStore::install`], [`EdgeStore::append`]); the
//! admin half of the trait refuses (the edge's guard answers admin routes before they get
//! here). Evaluation counts are summed here and forwarded upstream ([`EdgeStore::take_usage`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flag_sdk::{EnvName, Flag, Segment};
use tokio::sync::{watch, Notify};

use crate::store::ClientRecord;
use crate::store::{
    AuditEntry, Change, ChangeEvent, ChangeMeta, EnvState, EventCursor, FlagUsage, JobRecord,
    Replay, Result, SdkKeyRecord, Store, StoreError, StoreEvent,
};

/// One environment as received from the upstream.
#[derive(Debug)]
struct Replica {
    version: u64,
    flags: BTreeMap<String, Flag>,
    segments: BTreeMap<String, Segment>,
    /// The changes after the last snapshot, oldest first, at most `log_len`.
    log: VecDeque<Change>,
}

impl Replica {
    fn state(&self, env: &EnvName) -> EnvState {
        EnvState {
            environment: env.clone(),
            version: self.version,
            flags: self.flags.values().cloned().collect(),
            segments: self.segments.values().cloned().collect(),
        }
    }
}

/// Evaluation counts of one environment waiting to be forwarded.
#[derive(Debug, Default)]
pub(crate) struct PendingUsage {
    /// The earliest and latest period ends reported.
    pub(crate) period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// `(yes, no)` by flag key.
    pub(crate) counts: HashMap<String, (u64, u64)>,
}

/// What [`EdgeStore::append`] did with a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    /// The change is the next version: applied.
    Applied,
    /// At or below the version held: ignored.
    Stale,
    /// Versions are missing before it (or the environment is unknown): resume the stream.
    Gap,
}

/// The edge's replica of its upstream. See the module documentation.
pub struct EdgeStore {
    /// The message for everything an edge does not do (names the upstream).
    refusal: String,
    log_len: usize,
    envs: Mutex<BTreeMap<EnvName, Replica>>,
    /// Application SDK keys the upstream accepted, by hash (hashes only, never secrets).
    keys: Mutex<HashMap<String, SdkKeyRecord>>,
    usage: Mutex<HashMap<EnvName, PendingUsage>>,
    /// What each upstream key follows, once known (readiness); `(env, true)` for a key that
    /// names an environment another key follows already.
    sources: Mutex<Vec<Option<(EnvName, bool)>>>,
    /// Woken on every change of the replica ([`Store::wait_for_changes`]).
    changed: Notify,
    /// Counts changes of the replica and of the accepted keys (the backup writer).
    revision: watch::Sender<u64>,
}

impl std::fmt::Debug for EdgeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStore")
            .field("environments", &self.lock_envs().len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl EdgeStore {
    /// An empty replica for `sources` upstream keys, keeping `log_len` changes per
    /// environment for replay; `refusal` is what admin operations answer.
    pub(crate) fn new(refusal: String, sources: usize, log_len: usize) -> EdgeStore {
        EdgeStore {
            refusal,
            log_len: log_len.max(1),
            envs: Mutex::default(),
            keys: Mutex::default(),
            usage: Mutex::default(),
            sources: Mutex::new(vec![None; sources]),
            changed: Notify::new(),
            revision: watch::channel(0).0,
        }
    }

    fn lock_envs(&self) -> std::sync::MutexGuard<'_, BTreeMap<EnvName, Replica>> {
        lock(&self.envs)
    }

    fn refused(&self) -> StoreError {
        StoreError::InvalidArgument(self.refusal.clone())
    }

    /// Upstream key number `source` follows `env`, unless another key follows it already:
    /// then that key's number (and this one is marked as naming it, for readiness).
    pub(crate) fn claim(&self, source: usize, env: &EnvName) -> std::result::Result<(), usize> {
        let mut sources = lock(&self.sources);
        let owner = sources
            .iter()
            .enumerate()
            .position(|(i, e)| i != source && matches!(e, Some((named, false)) if named == env));
        let redundant = owner.is_some();
        if let Some(slot) = sources.get_mut(source) {
            *slot = Some((env.clone(), redundant));
        }
        owner.map_or(Ok(()), Err)
    }

    /// The environment upstream key number `source` follows, once known.
    pub(crate) fn source_env(&self, source: usize) -> Option<EnvName> {
        match lock(&self.sources).get(source) {
            Some(Some((env, false))) => Some(env.clone()),
            _ => None,
        }
    }

    /// The upstream key number following `env`, if any.
    pub(crate) fn owner(&self, env: &EnvName) -> Option<usize> {
        lock(&self.sources)
            .iter()
            .position(|e| matches!(e, Some((named, false)) if named == env))
    }

    /// The version held of `env`.
    pub(crate) fn held_version(&self, env: &EnvName) -> Option<u64> {
        self.lock_envs().get(env).map(|r| r.version)
    }

    /// Installs a whole state (a `snapshot` event, or the backup file): the change log starts
    /// over after it, so older `Last-Event-ID`s get a snapshot.
    pub(crate) fn install(&self, state: EnvState) {
        let replica = Replica {
            version: state.version,
            flags: state
                .flags
                .into_iter()
                .map(|f| (f.key.as_str().to_owned(), f))
                .collect(),
            segments: state
                .segments
                .into_iter()
                .map(|s| (s.key.as_str().to_owned(), s))
                .collect(),
            log: VecDeque::new(),
        };
        self.lock_envs().insert(state.environment, replica);
        self.touched();
    }

    /// Applies a change received from the upstream, strictly in version order.
    pub(crate) fn append(&self, change: &Change) -> Appended {
        let mut envs = self.lock_envs();
        let Some(replica) = envs.get_mut(&change.environment) else {
            return Appended::Gap;
        };
        if change.version <= replica.version {
            return Appended::Stale;
        }
        if change.version > replica.version + 1 {
            return Appended::Gap;
        }
        match &change.event {
            ChangeEvent::Put { flag } => {
                replica
                    .flags
                    .insert(flag.key.as_str().to_owned(), flag.clone());
            }
            ChangeEvent::Delete { key } => {
                replica.flags.remove(key.as_str());
            }
            ChangeEvent::SegmentPut { segment } => {
                replica
                    .segments
                    .insert(segment.key.as_str().to_owned(), segment.clone());
            }
            ChangeEvent::SegmentDelete { key } => {
                replica.segments.remove(key.as_str());
            }
        }
        replica.version = change.version;
        replica.log.push_back(change.clone());
        while replica.log.len() > self.log_len {
            replica.log.pop_front();
        }
        drop(envs);
        self.touched();
        Appended::Applied
    }

    /// Whether the replica holds exactly this state.
    pub(crate) fn same_state(&self, state: &EnvState) -> bool {
        self.lock_envs()
            .get(&state.environment)
            .is_some_and(|r| r.state(&state.environment) == *state)
    }

    /// Every environment held, as whole states (for the backup file).
    pub(crate) fn states(&self) -> Vec<EnvState> {
        self.lock_envs()
            .iter()
            .map(|(env, r)| r.state(env))
            .collect()
    }

    fn touched(&self) {
        self.changed.notify_waiters();
        self.revision.send_modify(|r| *r += 1);
    }

    /// Tells of every change of the replica or of the accepted keys (for the backup file).
    pub(crate) fn revisions(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }

    /// Remembers an application key the upstream accepted (hash and environment only).
    pub(crate) fn key_accepted(&self, key: SdkKeyRecord) {
        let fresh = lock(&self.keys).insert(key.hash.clone(), key).is_none();
        if fresh {
            self.revision.send_modify(|r| *r += 1);
        }
    }

    /// Forgets an application key the upstream refused.
    pub(crate) fn key_refused(&self, hash: &str) {
        if lock(&self.keys).remove(hash).is_some() {
            self.revision.send_modify(|r| *r += 1);
        }
    }

    /// The application key with this hash, when the upstream accepted it.
    pub(crate) fn accepted_key(&self, hash: &str) -> Option<SdkKeyRecord> {
        lock(&self.keys).get(hash).cloned()
    }

    /// Every application key the upstream accepted.
    pub(crate) fn accepted_keys(&self) -> Vec<SdkKeyRecord> {
        lock(&self.keys).values().cloned().collect()
    }

    /// Takes the evaluation counts summed since the last call.
    pub(crate) fn take_usage(&self) -> HashMap<EnvName, PendingUsage> {
        std::mem::take(&mut *lock(&self.usage))
    }

    /// Whether every upstream key has a state from the upstream or the backup; the message
    /// says what is missing.
    fn readiness(&self) -> std::result::Result<(), String> {
        let sources = lock(&self.sources);
        let envs = self.lock_envs();
        let missing = sources
            .iter()
            .filter(|s| !s.as_ref().is_some_and(|(env, _)| envs.contains_key(env)))
            .count();
        if missing == 0 {
            Ok(())
        } else {
            Err(format!(
                "{missing} of the {} upstream keys have no snapshot yet (from the upstream or the backup file)",
                sources.len()
            ))
        }
    }
}

#[async_trait]
impl Store for EdgeStore {
    fn kind(&self) -> &'static str {
        "edge"
    }

    async fn ping(&self) -> Result<()> {
        self.readiness().map_err(StoreError::Unavailable)
    }

    async fn list_environments(&self) -> Result<Vec<EnvName>> {
        Ok(self.lock_envs().keys().cloned().collect())
    }

    /// An edge never creates environments: they come from the upstream.
    async fn create_environment(&self, _env: &EnvName) -> Result<bool> {
        Ok(false)
    }

    async fn delete_environment(&self, _env: &EnvName) -> Result<()> {
        Err(self.refused())
    }

    async fn load(&self, env: &EnvName) -> Result<EnvState> {
        self.lock_envs()
            .get(env)
            .map(|r| r.state(env))
            .ok_or_else(|| StoreError::EnvNotFound(env.clone()))
    }

    async fn version(&self, env: &EnvName) -> Result<u64> {
        self.held_version(env)
            .ok_or_else(|| StoreError::EnvNotFound(env.clone()))
    }

    async fn write_at(
        &self,
        _env: &EnvName,
        _at: Option<u64>,
        _ops: Vec<crate::store::WriteOp>,
        _meta: &ChangeMeta,
    ) -> Result<Vec<Change>> {
        Err(self.refused())
    }

    async fn changes_since(&self, env: &EnvName, version: u64) -> Result<Replay> {
        let envs = self.lock_envs();
        let replica = envs
            .get(env)
            .ok_or_else(|| StoreError::EnvNotFound(env.clone()))?;
        if version == replica.version {
            return Ok(Replay::Changes(Vec::new()));
        }
        let reaches = replica
            .log
            .front()
            .is_some_and(|first| first.version <= version + 1);
        if version > replica.version || !reaches {
            return Ok(Replay::TooOld);
        }
        Ok(Replay::Changes(
            replica
                .log
                .iter()
                .filter(|c| c.version > version)
                .cloned()
                .collect(),
        ))
    }

    async fn wait_for_changes(
        &self,
        cursors: &[(EnvName, u64)],
        timeout: Duration,
    ) -> Result<Vec<Change>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let mut out = Vec::new();
            {
                let envs = self.lock_envs();
                for (env, after) in cursors {
                    if let Some(r) = envs.get(env) {
                        out.extend(r.log.iter().filter(|c| c.version > *after).cloned());
                    }
                }
            }
            if !out.is_empty() {
                return Ok(out);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn audit(
        &self,
        _env: &EnvName,
        _limit: usize,
        _before: Option<u64>,
    ) -> Result<Vec<AuditEntry>> {
        Err(self.refused())
    }

    async fn create_sdk_key(&self, _key: &SdkKeyRecord) -> Result<()> {
        Err(self.refused())
    }

    async fn list_sdk_keys(&self) -> Result<Vec<SdkKeyRecord>> {
        Ok(lock(&self.keys).values().cloned().collect())
    }

    async fn revoke_sdk_key(&self, _env: &EnvName, _id: &str) -> Result<()> {
        Err(self.refused())
    }

    /// Sums the counts; the edge forwards them upstream every few seconds.
    async fn record_usage(
        &self,
        env: &EnvName,
        period_end: DateTime<Utc>,
        counts: &HashMap<String, (u64, u64)>,
    ) -> Result<()> {
        let mut usage = lock(&self.usage);
        let pending = usage.entry(env.clone()).or_default();
        pending.period = Some(match pending.period {
            Some((start, end)) => (start.min(period_end), end.max(period_end)),
            None => (period_end, period_end),
        });
        for (key, (yes, no)) in counts {
            let sum = pending.counts.entry(key.clone()).or_default();
            sum.0 = sum.0.saturating_add(*yes);
            sum.1 = sum.1.saturating_add(*no);
        }
        Ok(())
    }

    async fn usage(&self, _env: &EnvName) -> Result<HashMap<String, FlagUsage>> {
        Err(self.refused())
    }

    async fn event_cursor(&self) -> Result<EventCursor> {
        Ok("0".into())
    }

    /// An edge has no event log: environments and keys come from its sources.
    async fn wait_for_events(
        &self,
        _after: &EventCursor,
        timeout: Duration,
    ) -> Result<Vec<(EventCursor, StoreEvent)>> {
        tokio::time::sleep(timeout).await;
        Ok(Vec::new())
    }

    async fn publish_event(&self, _event: &StoreEvent) -> Result<()> {
        Ok(())
    }

    async fn identity(&self) -> Result<Option<String>> {
        Ok(Some("edge".into()))
    }

    async fn ensure_identity(&self, _proposed: &str) -> Result<String> {
        Ok("edge".into())
    }

    async fn set_identity(&self, _id: &str) -> Result<()> {
        Ok(())
    }

    async fn try_lease(&self, _name: &str, _holder: &str, _ttl: Duration) -> Result<bool> {
        Ok(false)
    }

    async fn release_lease(&self, _name: &str, _holder: &str) -> Result<()> {
        Ok(())
    }

    async fn jobs(&self, _env: &EnvName) -> Result<Vec<JobRecord>> {
        Err(self.refused())
    }

    async fn job_environments(&self) -> Result<Vec<EnvName>> {
        Err(self.refused())
    }

    async fn put_job(&self, _env: &EnvName, _id: &str, _expected: u64, _body: &str) -> Result<u64> {
        Err(self.refused())
    }

    async fn delete_job(&self, _env: &EnvName, _id: &str, _expected: u64) -> Result<()> {
        Err(self.refused())
    }

    async fn restore_environment(
        &self,
        _state: &EnvState,
        _sdk_keys: u64,
        _meta: &ChangeMeta,
    ) -> Result<bool> {
        Err(self.refused())
    }

    async fn restore_sdk_keys(&self, _keys: &[SdkKeyRecord]) -> Result<usize> {
        Err(self.refused())
    }

    /// An edge keeps the SDK instances it serves in memory only (for its own `/metrics`) and
    /// forwards nothing upstream: writing them is a no-op.
    async fn record_clients(&self, _env: &EnvName, _clients: &[ClientRecord]) -> Result<()> {
        Ok(())
    }

    async fn clients(&self, _env: &EnvName, _since: DateTime<Utc>) -> Result<Vec<ClientRecord>> {
        Err(self.refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> EnvName {
        EnvName::parse("production").unwrap()
    }

    fn put(version: u64, key: &str) -> Change {
        let mut flag = Flag::on(key).unwrap();
        flag.version = version;
        Change {
            environment: env(),
            version,
            event: ChangeEvent::Put { flag },
        }
    }

    #[tokio::test]
    async fn replays_exactly_what_it_holds() {
        let store = EdgeStore::new("edge".into(), 1, 3);
        assert_eq!(
            store.append(&put(1, "a")),
            Appended::Gap,
            "unknown environment"
        );
        store.install(EnvState {
            environment: env(),
            version: 10,
            flags: vec![],
            segments: vec![],
        });
        assert_eq!(store.append(&put(10, "a")), Appended::Stale);
        assert_eq!(store.append(&put(12, "a")), Appended::Gap);
        for v in 11..=14 {
            assert_eq!(store.append(&put(v, "a")), Appended::Applied);
        }
        let production = env();
        let since = |v| store.changes_since(&production, v);
        assert_eq!(since(14).await.unwrap(), Replay::Changes(vec![]));
        let Replay::Changes(c) = since(11).await.unwrap() else {
            panic!("replay")
        };
        assert_eq!(
            c.iter().map(|c| c.version).collect::<Vec<_>>(),
            [12, 13, 14]
        );
        // The log keeps 3 changes; older, and future, versions get a snapshot.
        assert_eq!(since(10).await.unwrap(), Replay::TooOld);
        assert_eq!(since(15).await.unwrap(), Replay::TooOld);
        assert_eq!(store.load(&env()).await.unwrap().version, 14);
        // A new snapshot starts the log over.
        store.install(EnvState {
            environment: env(),
            version: 20,
            flags: vec![],
            segments: vec![],
        });
        assert_eq!(since(14).await.unwrap(), Replay::TooOld);
    }

    #[tokio::test]
    async fn ready_once_every_source_has_a_state() {
        let store = EdgeStore::new("edge".into(), 2, 10);
        assert!(store.ping().await.is_err());
        assert_eq!(store.claim(0, &env()), Ok(()));
        assert_eq!(store.claim(1, &env()), Err(0), "followed once");
        assert_eq!(store.claim(0, &env()), Ok(()), "again by the same key");
        assert_eq!(store.owner(&env()), Some(0));
        assert!(store.ping().await.is_err(), "named but not held");
        store.install(EnvState {
            environment: env(),
            version: 1,
            flags: vec![],
            segments: vec![],
        });
        assert!(store.ping().await.is_ok());
        assert!(store
            .write(
                &env(),
                vec![],
                &ChangeMeta {
                    actor: "a".into(),
                    reason: None,
                    at: Utc::now()
                }
            )
            .await
            .is_err());
    }
}
