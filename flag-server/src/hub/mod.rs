//! The hub: the server's in-memory state of every environment, the heart of SDK reads and of
//! the stream.
//!
//! # What it holds
//! - Per environment an [`EnvView`] behind an `ArcSwap`: the compiled [`Snapshot`], the
//!   snapshot response body (`{"environment","version","flags"}`) serialized once per version,
//!   and its `ETag`. `GET /sdk/flags` and `POST /sdk/evaluate` are answered from it with no
//!   store round trip, so they keep working while the store is down.
//! - The SDK keys, by SHA-256 of their secret ([`Hub::sdk_key`]).
//!
//! # How it changes
//! Changes are applied strictly in version order and exactly once ([`Hub::apply`]): a change
//! at `current + 1` is applied, one at or below `current` is skipped, and a gap is filled from
//! [`Store::changes_since`] (or, when the log no longer reaches back, the environment is
//! reloaded with [`Store::load`]). After a successful write a handler applies the changes the
//! store returned at once (read-your-writes); the follower task ([`follower`]) applies what
//! other instances wrote as soon as the store has it.
//!
//! Environments and SDK keys change through the store's event log ([`Hub::apply_events`]):
//! an environment or key is forgotten only when an event says it was deleted or revoked,
//! never because the store no longer has it. An SDK key unknown here is looked up in the store
//! before it is refused ([`Hub::sdk_key_or_lookup`]), so a key issued through another
//! instance works on its first request.
//!
//! # When the store loses its data
//! The follower compares the store's identity with the one the hub knows. When it is gone or
//! changed, [`Hub::check_store`] writes the hub's state back (see the `recovery` module): no
//! environment is dropped and no version goes backwards meanwhile.
//!
//! # For the stream
//! - [`Hub::subscribe`] returns the current view and a `broadcast::Receiver<Arc<Change>>`
//!   taken under the same lock as publication, so the receiver gets exactly the changes after
//!   the view's version, in order, with no gap and no duplicate.
//! - The receiver ends (`RecvError::Closed`) when the environment is reloaded from scratch
//!   (the log did not reach back) or deleted: resubscribe and send a fresh snapshot, or end
//!   the stream when [`Hub::subscribe`] answers `None`. `RecvError::Lagged` (a slow client
//!   fell more than [`CHANNEL_CAPACITY`] changes behind) is handled the same way.
//! - [`Hub::notices`] tells of revoked SDK keys and deleted environments;
//!   [`Hub::sdk_key_active`] checks a key by id.
//! - [`Hub::shutdown_token`] is cancelled when the server stops: streams end then.

mod encoded;
mod events;
pub mod follower;
mod keys;
mod recovery;
mod view;

pub use recovery::{Recovery, RestoreReport};

use view::EnvSlot;
pub use view::{EnvView, Notice};

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use flag_sdk::{EnvName, Snapshot};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::store::{Change, ChangeEvent, EventCursor, Replay, SdkKeyRecord, Store};
use crate::store::{Result, StoreError};

/// Changes a stream receiver may fall behind before it is told it lagged.
pub const CHANNEL_CAPACITY: usize = 1024;

type KeyMap = HashMap<String, Arc<SdkKeyRecord>>;

/// The in-memory state shared by every handler and the follower. See the module documentation.
pub struct Hub {
    store: Arc<dyn Store>,
    envs: ArcSwap<HashMap<EnvName, Arc<EnvSlot>>>,
    /// Serialises changes to the set of environments.
    envs_lock: tokio::sync::Mutex<()>,
    keys: ArcSwap<KeyMap>,
    keys_lock: Mutex<()>,
    /// Ids of keys revoked while this process ran: a store read that predates the revocation
    /// never brings them back.
    revoked: Mutex<HashSet<String>>,
    /// Looking up unknown SDK keys in the store (see [`Hub::sdk_key_or_lookup`]).
    lookups: events::KeyLookups,
    notices: broadcast::Sender<Notice>,
    shutdown: CancellationToken,
    /// Where this hub is in the store's event log.
    event_cursor: Mutex<EventCursor>,
    /// This process's name for leases.
    instance: String,
    /// The store identity this hub's state belongs to.
    identity: Mutex<String>,
    /// One recovery at a time.
    recovering: tokio::sync::Mutex<()>,
    /// Set while the store has lost its data and is not restored yet (readiness says so).
    store_lost: AtomicBool,
    /// Live changes encoded once for every stream ([`Hub::encoded_change`]).
    encoded: encoded::EncodedChanges,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("environments", &self.envs.load().len())
            .field("sdk_keys", &self.keys.load().len())
            .finish()
    }
}

impl Hub {
    /// Loads every environment and SDK key from the store. A store without environments gets
    /// `development` and `production`.
    pub async fn load(store: Arc<dyn Store>) -> Result<Arc<Hub>> {
        let instance = uuid::Uuid::new_v4().to_string();
        // Events from here on are followed; what came before is in the state read below.
        let event_cursor = store.event_cursor().await?;
        let identity = store.ensure_identity(&instance).await?;
        let mut names = store.list_environments().await?;
        if names.is_empty() {
            for name in ["development", "production"] {
                let env = EnvName::parse(name).map_err(|e| StoreError::Internal(e.to_string()))?;
                store.create_environment(&env).await?;
            }
            names = store.list_environments().await?;
        }
        let mut envs = HashMap::new();
        for name in names {
            match store.load(&name).await {
                Ok(state) => {
                    envs.insert(name, Arc::new(EnvSlot::new(EnvView::from_state(state))));
                }
                // Deleted meanwhile by another instance.
                Err(StoreError::EnvNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let keys = keys::key_map(store.list_sdk_keys().await?);
        Ok(Arc::new(Hub {
            store,
            envs: ArcSwap::from_pointee(envs),
            envs_lock: tokio::sync::Mutex::new(()),
            keys: ArcSwap::from_pointee(keys),
            keys_lock: Mutex::new(()),
            revoked: Mutex::default(),
            lookups: events::KeyLookups::default(),
            notices: broadcast::channel(256).0,
            shutdown: CancellationToken::new(),
            event_cursor: Mutex::new(event_cursor),
            instance,
            identity: Mutex::new(identity),
            recovering: tokio::sync::Mutex::new(()),
            store_lost: AtomicBool::new(false),
            encoded: encoded::EncodedChanges::default(),
        }))
    }

    /// The store behind the hub.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current view of an environment held in memory; `None` when it is unknown here.
    pub fn view(&self, env: &str) -> Option<Arc<EnvView>> {
        self.envs.load().get(env).map(|s| s.view.load_full())
    }

    /// The current view of an environment, loading it from the store when it was created
    /// by another instance and is not known here yet; [`StoreError::EnvNotFound`] when it does not exist.
    pub async fn view_or_load(&self, env: &EnvName) -> Result<Arc<EnvView>> {
        if let Some(v) = self.view(env.as_str()) {
            return Ok(v);
        }
        let _guard = self.envs_lock.lock().await;
        if let Some(v) = self.view(env.as_str()) {
            return Ok(v);
        }
        let state = self.store.load(env).await?;
        let slot = Arc::new(EnvSlot::new(EnvView::from_state(state)));
        let view = slot.view.load_full();
        self.insert_slot(env.clone(), slot);
        Ok(view)
    }

    /// The view of an environment after catching up with the store (one cheap round trip
    /// when nothing changed): for admin reads, so that what another instance wrote is seen
    /// at once. SDK reads use [`Hub::view`] and never wait for the store.
    pub async fn fresh_view(&self, env: &EnvName) -> Result<Arc<EnvView>> {
        if self.view(env.as_str()).is_none() {
            return self.view_or_load(env).await;
        }
        // An error when the store does not have it (the event that deletes it here is on its
        // way), or when the store lost it and it is being restored (then Unavailable).
        self.sync(env).await?;
        match self.view(env.as_str()) {
            Some(v) => Ok(v),
            None => Err(StoreError::EnvNotFound(env.clone())),
        }
    }

    /// Every environment known here with its view, sorted by name.
    pub fn views(&self) -> Vec<Arc<EnvView>> {
        let envs = self.envs.load();
        let mut views: Vec<Arc<EnvView>> = envs.values().map(|s| s.view.load_full()).collect();
        views.sort_by(|a, b| a.environment.cmp(&b.environment));
        views
    }

    /// The current view and a receiver of every change after it, with no gap between them.
    /// `None` when the environment is unknown here (or deleted).
    pub fn subscribe(&self, env: &str) -> Option<(Arc<EnvView>, broadcast::Receiver<Arc<Change>>)> {
        let slot = self.envs.load().get(env).cloned()?;
        let guard = slot.lock_publish();
        let rx = guard.as_ref()?.subscribe();
        Some((slot.view.load_full(), rx))
    }

    /// Revoked keys and deleted environments, as they are noticed.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// This instance's id (random, new at each start): the holder name of its leases.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Cancelled when the server stops.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Remembers an environment just created through this instance.
    pub async fn environment_created(&self, env: &EnvName) -> Result<Arc<EnvView>> {
        self.view_or_load(env).await
    }

    /// Forgets an environment just deleted; its streams end.
    pub async fn environment_deleted(&self, env: &EnvName) {
        {
            let _guard = self.envs_lock.lock().await;
            self.remove_slot(env);
        }
        // Its SDK keys went with it.
        self.update_keys(|map| map.retain(|_, k| &k.environment != env));
    }

    fn insert_slot(&self, env: EnvName, slot: Arc<EnvSlot>) {
        let mut map = HashMap::clone(&self.envs.load());
        map.insert(env, slot);
        self.envs.store(Arc::new(map));
    }

    fn remove_slot(&self, env: &EnvName) {
        let mut map = HashMap::clone(&self.envs.load());
        if let Some(slot) = map.remove(env) {
            slot.close();
            self.envs.store(Arc::new(map));
            let _ = self.notices.send(Notice::EnvironmentDeleted(env.clone()));
        }
    }

    /// The version each environment is at here: the follower's cursors.
    pub fn cursors(&self) -> Vec<(EnvName, u64)> {
        self.envs
            .load()
            .iter()
            .map(|(name, slot)| (name.clone(), slot.view.load().version))
            .collect()
    }

    /// Applies changes (of any environments, in any order) exactly once and in version order.
    /// Changes of environments unknown here are ignored (the refresh picks them up). Returns
    /// the first store error met while filling a gap; what could be applied is applied.
    pub async fn apply(&self, changes: Vec<Change>) -> Result<()> {
        let mut by_env: HashMap<EnvName, Vec<Change>> = HashMap::new();
        for c in changes {
            by_env.entry(c.environment.clone()).or_default().push(c);
        }
        let mut result = Ok(());
        for (env, changes) in by_env {
            let Some(slot) = self.envs.load().get(&env).cloned() else {
                continue;
            };
            if let Err(e) = self.apply_env(&env, &slot, changes).await {
                result = Err(e);
            }
        }
        result
    }

    /// Brings one environment up to the store's version (used after a stale `If-Match`).
    pub async fn sync(&self, env: &EnvName) -> Result<()> {
        let Some(slot) = self.envs.load().get(env).cloned() else {
            return Ok(());
        };
        let version = slot.view.load().version;
        let changes = match self.store.changes_since(env, version).await? {
            Replay::Changes(changes) => changes,
            Replay::TooOld => {
                self.reload(env, &slot).await?;
                return Ok(());
            }
        };
        self.apply_env(env, &slot, changes).await
    }

    async fn apply_env(
        &self,
        env: &EnvName,
        slot: &Arc<EnvSlot>,
        changes: Vec<Change>,
    ) -> Result<()> {
        let _guard = slot.apply.lock().await;
        let start = slot.view.load_full();
        let mut current = start.version;
        let mut snapshot: Option<Snapshot> = None;
        let mut applied: Vec<Arc<Change>> = Vec::new();
        let mut pending = changes;
        pending.sort_by_key(|c| c.version);
        let mut pending = std::collections::VecDeque::from(pending);
        let mut outcome = Ok(());
        while let Some(change) = pending.pop_front() {
            if change.version <= current {
                continue;
            }
            if change.version > current + 1 {
                // A gap: fetch what is missing.
                match self.store.changes_since(env, current).await {
                    Ok(Replay::Changes(missing))
                        if missing.first().map(|c| c.version) == Some(current + 1) =>
                    {
                        let mut all: Vec<Change> = missing;
                        all.push(change);
                        all.extend(pending.drain(..));
                        all.sort_by_key(|c| c.version);
                        pending = all.into();
                        continue;
                    }
                    Ok(_) => {
                        drop(_guard);
                        return self.reload(env, slot).await;
                    }
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
            }
            let base = snapshot.take().unwrap_or_else(|| start.snapshot.clone());
            let next = match &change.event {
                ChangeEvent::Put { flag } => base.with_put(flag.clone(), change.version),
                ChangeEvent::Delete { key } => base.with_delete(key.as_str(), change.version),
                ChangeEvent::SegmentPut { segment } => {
                    base.with_segment_put(segment.clone(), change.version)
                }
                ChangeEvent::SegmentDelete { key } => {
                    base.with_segment_delete(key.as_str(), change.version)
                }
            };
            snapshot = Some(next);
            current = change.version;
            applied.push(Arc::new(change));
        }
        if let Some(snapshot) = snapshot {
            slot.publish(EnvView::new(env.clone(), current, snapshot), applied);
        }
        outcome
    }

    async fn reload(&self, env: &EnvName, slot: &Arc<EnvSlot>) -> Result<()> {
        let guard = slot.apply.lock().await;
        match self.store.load(env).await {
            Ok(state) if state.version < slot.view.load().version => {
                drop(guard);
                // Boxed: it follows events, which may sync this environment again.
                Box::pin(self.store_behind(env, slot, state.version)).await
            }
            Ok(state) => {
                tracing::info!(environment = %env, version = state.version, "environment reloaded from the store");
                slot.reset(EnvView::from_state(state));
                Ok(())
            }
            // Gone from the store: only an event deletes it here (absence is not deletion).
            Err(StoreError::EnvNotFound(_)) => {
                tracing::warn!(environment = %env, "environment missing from the store; kept until an event deletes it");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Stops the follower and tells streams to end.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
}
