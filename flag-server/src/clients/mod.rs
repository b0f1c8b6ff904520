//! Who runs what: the SDK instances this server sees, per environment, and the streams
//! connected to it.
//!
//! An SDK says who it is with request headers (`X-Flag-Instance-Id`, `X-Flag-App-Name`,
//! `X-Flag-App-Version`, `X-Flag-Sdk`; see [`flag_sdk::wire::client_headers`]) on its
//! snapshot, stream, evaluation and metrics requests. The handlers hand those headers to
//! [`Clients`], which keeps what it learns **in memory**: a request costs one short lock and a
//! hash lookup, and allocates only for an instance or a name it has not seen. The
//! [`flusher`] writes what changed to the store in batches ([`FLUSH_INTERVAL`], and once more
//! at shutdown), so that the server instances on one store see each other's clients
//! ([`crate::store::Store::record_clients`]). A header value that is not 1 to 128 bytes of
//! visible ASCII is ignored (logged at debug), never refused: an SDK read does not fail over
//! its identity.
//!
//! Streams are counted here too, SDK and admin alike ([`Clients::stream_opened`] returns a
//! guard that counts the stream until it is dropped): the `flag_streams_connected` gauge.
//! A streaming SDK instance counts as seen at every flush, and its record carries the time
//! (`stream_seen`), so that the other server instances can tell that it streams.

pub mod flusher;
pub mod list;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::http::header::HeaderMap;
use chrono::{DateTime, TimeDelta, Utc};
use flag_sdk::wire::client_headers;
use flag_sdk::EnvName;

use crate::store::{ClientRecord, MAX_CLIENT_FLAGS};

/// How often what changed is written to the store.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// How far back the list of clients and the `flag_sdk_clients` gauge look.
pub const LISTED_FOR: TimeDelta = TimeDelta::hours(1);

/// A stream another server instance reported at most this long ago still counts as
/// connected (three flushes).
pub const STREAM_FRESH: TimeDelta = TimeDelta::seconds(15);

/// Most SDK instances one environment keeps in memory; more are not recorded (logged at debug).
pub const MAX_INSTANCES: usize = 10_000;

/// The SDK instances seen by this server, and its streams, per environment.
#[derive(Debug, Default)]
pub struct Clients {
    envs: Mutex<HashMap<EnvName, EnvClients>>,
}

#[derive(Debug, Default)]
struct EnvClients {
    /// Streams connected here now, SDK and admin.
    streams: i64,
    instances: HashMap<Box<str>, Seen>,
}

/// What this server saw of one SDK instance.
#[derive(Debug)]
struct Seen {
    app_name: Option<Box<str>>,
    app_version: Option<Box<str>>,
    sdk: Option<Box<str>>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    /// Its streams connected here now.
    streams: u32,
    /// When its last stream here closed.
    stream_closed: Option<DateTime<Utc>>,
    flags: BTreeSet<String>,
    /// Changed since the last flush.
    dirty: bool,
}

/// The identity headers of one request, checked: `None` for a value that is absent or invalid.
#[derive(Debug, Clone, Copy)]
struct Identity<'a> {
    instance_id: &'a str,
    app_name: Option<&'a str>,
    app_version: Option<&'a str>,
    sdk: Option<&'a str>,
}

impl<'a> Identity<'a> {
    /// The identity a request carries; `None` without a valid `X-Flag-Instance-Id`.
    fn of(headers: &'a HeaderMap) -> Option<Identity<'a>> {
        let get = |name: &str| -> Option<&'a str> {
            let value = headers.get(name)?;
            match value.to_str() {
                Ok(v) if client_headers::is_valid(v) => Some(v),
                _ => {
                    tracing::debug!(
                        header = name,
                        "an SDK identity header that is not 1 to 128 bytes of visible ASCII is ignored"
                    );
                    None
                }
            }
        };
        Some(Identity {
            instance_id: get(client_headers::INSTANCE_ID)?,
            app_name: get(client_headers::APP_NAME),
            app_version: get(client_headers::APP_VERSION),
            sdk: get(client_headers::SDK),
        })
    }
}

/// Replaces `slot` with `value` when it is given and differs (allocating only then).
fn update(slot: &mut Option<Box<str>>, value: Option<&str>) {
    if let Some(v) = value {
        if slot.as_deref() != Some(v) {
            *slot = Some(v.into());
        }
    }
}

/// Counts one stream connected here until it is dropped; made by [`Clients::stream_opened`].
#[derive(Debug)]
#[must_use = "the stream counts only while the guard lives"]
pub struct StreamGuard {
    clients: Arc<Clients>,
    env: EnvName,
    instance: Option<Box<str>>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut envs = self.clients.lock();
        let Some(e) = envs.get_mut(self.env.as_str()) else {
            return;
        };
        e.streams -= 1;
        if let Some(seen) = self
            .instance
            .as_deref()
            .and_then(|id| e.instances.get_mut(id))
        {
            seen.streams = seen.streams.saturating_sub(1);
            let now = Utc::now();
            seen.stream_closed = Some(now);
            seen.last_seen = now;
            seen.dirty = true;
        }
    }
}

/// One SDK instance as this server knows it, for the list of clients.
#[derive(Debug, Clone)]
pub struct LocalClient {
    /// What this server saw (with `stream_seen` now when a stream of it is connected here).
    pub record: ClientRecord,
    /// Whether a stream of it is connected here now.
    pub streaming_here: bool,
    /// When its last stream here closed.
    pub stream_closed: Option<DateTime<Utc>>,
}

impl Clients {
    /// An empty registry.
    pub fn new() -> Clients {
        Clients::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<EnvName, EnvClients>> {
        self.envs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the instance a request names (recording it when new); nothing when the
    /// request names none validly, or the environment is full.
    fn with_instance(
        envs: &mut HashMap<EnvName, EnvClients>,
        env: &EnvName,
        id: Identity<'_>,
        f: impl FnOnce(&mut Seen),
    ) {
        let now = Utc::now();
        if !envs.contains_key(env.as_str()) {
            envs.insert(env.clone(), EnvClients::default());
        }
        let Some(e) = envs.get_mut(env.as_str()) else {
            return;
        };
        if let Some(seen) = e.instances.get_mut(id.instance_id) {
            seen.last_seen = now;
            update(&mut seen.app_name, id.app_name);
            update(&mut seen.app_version, id.app_version);
            update(&mut seen.sdk, id.sdk);
            seen.dirty = true;
            f(seen);
            return;
        }
        if e.instances.len() >= MAX_INSTANCES {
            tracing::debug!(environment = %env, "too many SDK instances in memory; this one is not recorded");
            return;
        }
        let mut seen = Seen {
            app_name: id.app_name.map(Into::into),
            app_version: id.app_version.map(Into::into),
            sdk: id.sdk.map(Into::into),
            first_seen: now,
            last_seen: now,
            streams: 0,
            stream_closed: None,
            flags: BTreeSet::new(),
            dirty: true,
        };
        f(&mut seen);
        e.instances.insert(id.instance_id.into(), seen);
    }

    /// Notes a request of an SDK of `env` (a snapshot, an evaluation).
    pub fn seen(&self, env: &EnvName, headers: &HeaderMap) {
        if let Some(id) = Identity::of(headers) {
            Self::with_instance(&mut self.lock(), env, id, |_| {});
        }
    }

    /// Notes a metrics report of an SDK of `env`, with the flags it evaluated.
    pub fn evaluated<'k>(
        &self,
        env: &EnvName,
        headers: &HeaderMap,
        flags: impl IntoIterator<Item = &'k String>,
    ) {
        let Some(id) = Identity::of(headers) else {
            return;
        };
        Self::with_instance(&mut self.lock(), env, id, |seen| {
            for key in flags {
                if seen.flags.len() >= MAX_CLIENT_FLAGS {
                    break;
                }
                if !seen.flags.contains(key) {
                    seen.flags.insert(key.clone());
                }
            }
        });
    }

    /// Counts a stream of `env` connected here until the guard is dropped; with an SDK's
    /// request headers, also notes its instance as streaming.
    pub fn stream_opened(
        self: &Arc<Self>,
        env: &EnvName,
        headers: Option<&HeaderMap>,
    ) -> StreamGuard {
        let mut envs = self.lock();
        let mut instance = None;
        if let Some(id) = headers.and_then(Identity::of) {
            Self::with_instance(&mut envs, env, id, |seen| {
                seen.streams += 1;
                instance = Some(id.instance_id.into());
            });
        }
        envs.entry(env.clone()).or_default().streams += 1;
        StreamGuard {
            clients: self.clone(),
            env: env.clone(),
            instance,
        }
    }

    /// Streams connected here now, by environment (those with none left out).
    pub fn streams(&self) -> BTreeMap<EnvName, i64> {
        self.lock()
            .iter()
            .filter(|(_, e)| e.streams > 0)
            .map(|(env, e)| (env.clone(), e.streams))
            .collect()
    }

    /// Instances seen in the last hour by this server, by environment, application name
    /// and version (empty when absent).
    pub fn census(&self) -> BTreeMap<(EnvName, String, String), i64> {
        let since = Utc::now() - LISTED_FOR;
        let mut out = BTreeMap::new();
        for (env, e) in self.lock().iter() {
            for seen in e.instances.values() {
                if seen.last_seen >= since || seen.streams > 0 {
                    let key = (
                        env.clone(),
                        seen.app_name.as_deref().unwrap_or_default().to_owned(),
                        seen.app_version.as_deref().unwrap_or_default().to_owned(),
                    );
                    *out.entry(key).or_default() += 1;
                }
            }
        }
        out
    }

    /// What this server knows of the instances of `env`.
    pub fn local(&self, env: &EnvName) -> Vec<LocalClient> {
        let now = Utc::now();
        self.lock()
            .get(env.as_str())
            .map(|e| {
                e.instances
                    .iter()
                    .map(|(id, seen)| LocalClient {
                        record: record(id, seen, now),
                        streaming_here: seen.streams > 0,
                        stream_closed: seen.stream_closed,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What changed since the last call, as records to merge into the store, by environment;
    /// a streaming instance is always in (seen now). Forgets instances not seen for
    /// [`LISTED_FOR`] that have nothing left to write.
    pub fn take_changes(&self) -> Vec<(EnvName, Vec<ClientRecord>)> {
        let now = Utc::now();
        let forget_before = now - LISTED_FOR;
        let mut out = Vec::new();
        let mut envs = self.lock();
        for (env, e) in envs.iter_mut() {
            let mut records = Vec::new();
            for (id, seen) in e.instances.iter_mut() {
                if seen.streams > 0 {
                    seen.last_seen = now;
                    seen.dirty = true;
                }
                if std::mem::take(&mut seen.dirty) {
                    records.push(record(id, seen, now));
                }
            }
            e.instances
                .retain(|_, s| s.streams > 0 || s.last_seen >= forget_before);
            if !records.is_empty() {
                out.push((env.clone(), records));
            }
        }
        envs.retain(|_, e| e.streams > 0 || !e.instances.is_empty());
        out
    }

    /// Marks records taken by [`take_changes`](Self::take_changes) as still to write (the
    /// store did not take them).
    pub fn unflushed(&self, env: &EnvName, records: &[ClientRecord]) {
        let mut envs = self.lock();
        let Some(e) = envs.get_mut(env.as_str()) else {
            return;
        };
        for r in records {
            if let Some(seen) = e.instances.get_mut(r.instance_id.as_str()) {
                seen.dirty = true;
            }
        }
    }

    /// Forgets the instances of an environment that no longer exists.
    pub fn forget(&self, env: &EnvName) {
        if let Some(e) = self.lock().get_mut(env.as_str()) {
            e.instances.clear();
        }
    }
}

/// The record of one instance as this server saw it at `now`.
fn record(id: &str, seen: &Seen, now: DateTime<Utc>) -> ClientRecord {
    ClientRecord {
        instance_id: id.to_owned(),
        app_name: seen.app_name.as_deref().map(str::to_owned),
        app_version: seen.app_version.as_deref().map(str::to_owned),
        sdk: seen.sdk.as_deref().map(str::to_owned),
        first_seen: seen.first_seen,
        last_seen: seen.last_seen,
        stream_seen: (seen.streams > 0).then_some(now),
        flags: seen.flags.clone(),
    }
}

/// Whether an instance streams: connected here, or reported connected by another server
/// within [`STREAM_FRESH`] and not closed here since.
pub fn streaming(stored: &ClientRecord, local: Option<&LocalClient>, now: DateTime<Utc>) -> bool {
    if local.is_some_and(|l| l.streaming_here) {
        return true;
    }
    let closed_here = local.and_then(|l| l.stream_closed);
    stored
        .stream_seen
        .is_some_and(|at| at >= now - STREAM_FRESH && !closed_here.is_some_and(|c| at <= c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn env() -> EnvName {
        EnvName::parse("production").unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn instances_are_recorded_once_and_flushed_when_changed() {
        let c = Arc::new(Clients::new());
        let h = headers(&[
            ("X-Flag-Instance-Id", "pod-1"),
            ("X-Flag-App-Name", "checkout"),
            ("X-Flag-App-Version", "2.3.1"),
        ]);
        c.seen(&env(), &h);
        c.evaluated(&env(), &h, &["a".to_owned(), "b".to_owned()]);
        let changes = c.take_changes();
        assert_eq!(changes.len(), 1);
        let r = &changes[0].1[0];
        assert_eq!(r.instance_id, "pod-1");
        assert_eq!(r.app_version.as_deref(), Some("2.3.1"));
        assert_eq!(r.flags.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert!(c.take_changes().is_empty(), "nothing changed since");
        c.unflushed(&env(), &changes[0].1);
        assert_eq!(c.take_changes().len(), 1, "a failed flush is written again");
    }

    #[test]
    fn invalid_values_are_ignored_and_no_instance_id_records_nothing() {
        let c = Clients::new();
        c.seen(&env(), &headers(&[("X-Flag-App-Name", "checkout")]));
        c.seen(
            &env(),
            &headers(&[
                ("X-Flag-Instance-Id", &"x".repeat(129)),
                ("X-Flag-App-Name", "a"),
            ]),
        );
        assert!(c.local(&env()).is_empty());
        c.seen(
            &env(),
            &headers(&[
                ("X-Flag-Instance-Id", "pod-1"),
                ("X-Flag-App-Name", "my app"),
            ]),
        );
        let local = c.local(&env());
        assert_eq!(local.len(), 1);
        assert_eq!(local[0].record.app_name, None);
    }

    #[test]
    fn streams_are_counted_while_their_guard_lives() {
        let c = Arc::new(Clients::new());
        let sdk = c.stream_opened(&env(), Some(&headers(&[("X-Flag-Instance-Id", "pod-1")])));
        let admin = c.stream_opened(&env(), None);
        assert_eq!(c.streams()[&env()], 2);
        let local = c.local(&env());
        assert!(local[0].streaming_here);
        assert!(streaming(&local[0].record, Some(&local[0]), Utc::now()));
        drop(sdk);
        let local = c.local(&env());
        assert!(!local[0].streaming_here);
        assert!(!streaming(&local[0].record, Some(&local[0]), Utc::now()));
        assert_eq!(c.streams()[&env()], 1);
        drop(admin);
        assert!(c.streams().is_empty());
    }

    #[test]
    fn another_servers_stream_counts_while_fresh_and_not_closed_here() {
        let now = Utc::now();
        let mut r = ClientRecord {
            instance_id: "i".into(),
            app_name: None,
            app_version: None,
            sdk: None,
            first_seen: now,
            last_seen: now,
            stream_seen: Some(now - TimeDelta::seconds(3)),
            flags: BTreeSet::new(),
        };
        assert!(streaming(&r, None, now));
        let closed = LocalClient {
            record: r.clone(),
            streaming_here: false,
            stream_closed: Some(now - TimeDelta::seconds(1)),
        };
        assert!(!streaming(&r, Some(&closed), now));
        r.stream_seen = Some(now - STREAM_FRESH - TimeDelta::seconds(1));
        assert!(!streaming(&r, None, now));
    }
}
