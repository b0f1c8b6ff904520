//! Following the upstream: one loop per upstream key over `GET /api/v1/sdk/stream`, feeding
//! the replica ([`EdgeStore`](super::EdgeStore)) and the hub; and the forwarding of
//! evaluation counts.
//!
//! A loop resumes with `Last-Event-ID` (the version held), so the upstream sends exactly the
//! changes missed, or a fresh snapshot when the version is too old. A change is written to the
//! replica first (so that stream replays on the edge find it) and then applied to the hub,
//! which sends it to the edge's streams under the upstream's version. After a failure the loop
//! waits a full-jitter backoff (at most [`BACKOFF_CAP`]); after a 401/403 about
//! [`REFUSED_RETRY`]. The first failure of a key with nothing held yet loads its environment
//! from the backup file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use flag_sdk::wire::sse::{self, EventStream, StreamEvent};
use flag_sdk::wire::{Counts, MetricsReport, SnapshotBody, StoredFlag};
use flag_sdk::{EnvName, FlagKey, Segment};
use rand::Rng;
use reqwest::StatusCode;
use tokio::time::Instant;

use super::store::Appended;
use super::Edge;
use crate::hub::Hub;
use crate::store::{Change, ChangeEvent, EnvState};

/// First reconnection delay ceiling.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// Longest reconnection delay.
pub(crate) const BACKOFF_CAP: Duration = Duration::from_secs(2);
/// A connection that stayed up this long starts the backoff over.
const HEALTHY_AFTER: Duration = Duration::from_secs(5);
/// About how long after a 401/403 the upstream is asked again.
pub(crate) const REFUSED_RETRY: Duration = Duration::from_secs(15);
/// No bytes for this long (the upstream sends a heartbeat every 15 s): reconnect.
const IDLE_LIMIT: Duration = Duration::from_secs(45);
/// How often summed evaluation counts are forwarded upstream.
pub(crate) const USAGE_EVERY: Duration = Duration::from_secs(2);

/// How one connection ended.
enum Ended {
    /// 401 or 403.
    Refused(StatusCode),
    /// Reconnect; `connected_for` is how long the stream was open (`None`: not accepted).
    Reconnect {
        connected_for: Option<Duration>,
        /// Ask for a fresh snapshot (an event could not be used).
        resync: bool,
    },
    /// Another upstream key follows the same environment: this one stops.
    Redundant,
}

/// What to do after an event.
enum Next {
    Continue,
    /// Versions are missing: reconnect with `Last-Event-ID`.
    Resume,
    /// An event was unusable: reconnect for a fresh snapshot.
    Resync,
    Redundant,
}

/// Uniformly random between 0 and `min(cap, base * 2^(attempt-1))`.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling.as_millis() as u64))
}

/// Follows the upstream with key number `index` until the task is cancelled (or another key
/// turns out to follow the same environment).
pub(super) async fn follow(edge: &Edge, hub: &Arc<Hub>, index: usize) {
    let mut failures: u32 = 0;
    let mut resync = false;
    let mut refused_logged = false;
    loop {
        let ended = connect_once(edge, hub, index, resync).await;
        resync = false;
        let delay = match ended {
            Ended::Redundant => return,
            Ended::Refused(status) => {
                if !refused_logged {
                    tracing::error!(upstream = %edge.shown, key = index + 1, %status,
                        "the upstream refuses this edge's SDK key; serving what is held, asking again about every {}s",
                        REFUSED_RETRY.as_secs());
                    refused_logged = true;
                }
                load_backup(edge, hub, index).await;
                let ms = REFUSED_RETRY.as_millis() as u64;
                Duration::from_millis(ms / 2 + rand::thread_rng().gen_range(0..=ms))
            }
            Ended::Reconnect {
                connected_for,
                resync: again,
            } => {
                resync = again;
                if connected_for.is_some() {
                    refused_logged = false;
                }
                if connected_for.is_some_and(|d| d >= HEALTHY_AFTER) {
                    failures = 0;
                }
                failures = failures.saturating_add(1);
                if connected_for.is_none() {
                    load_backup(edge, hub, index).await;
                }
                backoff(failures)
            }
        };
        tracing::debug!(
            key = index + 1,
            ?delay,
            "upstream stream: reconnecting after a delay"
        );
        tokio::time::sleep(delay).await;
    }
}

async fn connect_once(edge: &Edge, hub: &Arc<Hub>, index: usize, resync: bool) -> Ended {
    let resume = if resync {
        None
    } else {
        edge.store
            .source_env(index)
            .and_then(|env| edge.store.held_version(&env))
            .map(|v| v.to_string())
    };
    let req = edge
        .http
        .get(edge.url("/api/v1/sdk/stream"))
        .bearer_auth(&edge.upstream_keys[index]);
    let resp = match sse::request(req, resume.as_deref()).send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(upstream = %edge.shown, error = %without_url(&e), "upstream stream: cannot connect");
            return Ended::Reconnect {
                connected_for: None,
                resync,
            };
        }
    };
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Ended::Refused(status);
    }
    if !status.is_success() {
        tracing::debug!(upstream = %edge.shown, %status, "upstream stream: not accepted for now");
        return Ended::Reconnect {
            connected_for: None,
            resync,
        };
    }
    let connected = Instant::now();
    tracing::debug!(upstream = %edge.shown, key = index + 1, resume = ?resume, "upstream stream: connected");
    let mut events = EventStream::new(resp).idle_limit(IDLE_LIMIT);
    let mut again = false;
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e @ sse::StreamError::Unusable { .. }) => {
                tracing::warn!(problem = %e, "upstream stream: unusable event; asking for a snapshot");
                again = true;
                break;
            }
            Err(e) => {
                tracing::debug!(error = %e, "upstream stream: broken");
                break;
            }
        };
        match handle(edge, hub, index, event).await {
            Next::Continue => {}
            Next::Resume => break,
            Next::Resync => {
                again = true;
                break;
            }
            Next::Redundant => return Ended::Redundant,
        }
    }
    tracing::debug!(upstream = %edge.shown, key = index + 1, "upstream stream: ended");
    Ended::Reconnect {
        connected_for: Some(connected.elapsed()),
        resync: again,
    }
}

/// A reqwest error's text without its URL (which holds no secret here, but is long).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn handle(edge: &Edge, hub: &Arc<Hub>, index: usize, event: StreamEvent) -> Next {
    let (version, event) = match event {
        StreamEvent::Snapshot(body) => {
            let Some(state) = state_of(body) else {
                return Next::Resync;
            };
            if let Err(other) = edge.store.claim(index, &state.environment) {
                tracing::warn!(environment = %state.environment, key = index + 1, other = other + 1,
                    "two upstream keys name the same environment: it is followed once, with the other key");
                return Next::Redundant;
            }
            install(edge, hub, state).await;
            return Next::Continue;
        }
        StreamEvent::Put { version, data } => match StoredFlag::from_value(data.flag) {
            Ok(stored) => (version, ChangeEvent::Put { flag: stored.flag }),
            Err(e) => {
                tracing::warn!(version, error = %e, "upstream sent a flag this edge cannot read");
                return Next::Resync;
            }
        },
        StreamEvent::Delete { version, data } => match FlagKey::parse(&data.key) {
            Ok(key) => (version, ChangeEvent::Delete { key }),
            Err(_) => return Next::Resync,
        },
        StreamEvent::SegmentPut { version, data } => match Segment::from_value(data.segment) {
            Ok(segment) => (version, ChangeEvent::SegmentPut { segment }),
            Err(e) => {
                tracing::warn!(version, error = %e, "upstream sent a segment this edge cannot read");
                return Next::Resync;
            }
        },
        StreamEvent::SegmentDelete { version, data } => match FlagKey::parse(&data.key) {
            Ok(key) => (version, ChangeEvent::SegmentDelete { key }),
            Err(_) => return Next::Resync,
        },
        StreamEvent::Other { .. } => return Next::Continue,
    };
    let Some(environment) = edge.store.source_env(index) else {
        return Next::Resync;
    };
    let change = Change {
        environment,
        version,
        event,
    };
    match edge.store.append(&change) {
        Appended::Applied => {
            if let Err(e) = hub.apply(vec![change]).await {
                tracing::warn!(error = %e, "applying an upstream change to the hub failed");
            }
            Next::Continue
        }
        Appended::Stale => Next::Continue,
        Appended::Gap => Next::Resume,
    }
}

/// The state of a snapshot; flags and segments this edge cannot read are left out (logged).
pub(super) fn state_of(body: SnapshotBody) -> Option<EnvState> {
    let environment = match EnvName::parse(&body.environment) {
        Ok(env) => env,
        Err(e) => {
            tracing::warn!(error = %e, "upstream snapshot names no valid environment");
            return None;
        }
    };
    let mut flags = Vec::with_capacity(body.flags.len());
    for value in body.flags {
        match StoredFlag::from_value(value) {
            Ok(stored) => flags.push(stored.flag),
            Err(e) => {
                tracing::warn!(%environment, error = %e, "left out a flag this edge cannot read")
            }
        }
    }
    let mut segments = Vec::with_capacity(body.segments.len());
    for value in body.segments {
        match Segment::from_value(value) {
            Ok(s) => segments.push(s),
            Err(e) => {
                tracing::warn!(%environment, error = %e, "left out a segment this edge cannot read")
            }
        }
    }
    flags.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    segments.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    Some(EnvState {
        environment,
        version: body.version,
        flags,
        segments,
    })
}

/// Installs a whole state in the replica and the hub. A newer one replaces the hub's view (its
/// streams get a fresh snapshot); an older one, or another at the same version, means the
/// upstream's environment started over (deleted and created again): it is replaced, and its
/// streams end so that their clients start over too.
pub(super) async fn install(edge: &Edge, hub: &Arc<Hub>, state: EnvState) {
    let env = state.environment.clone();
    let outcome = match hub.view(env.as_str()).map(|v| v.version) {
        None => {
            tracing::info!(environment = %env, version = state.version, "edge: environment received");
            edge.store.install(state);
            hub.view_or_load(&env).await.map(|_| ())
        }
        Some(held) if state.version > held => {
            edge.store.install(state);
            hub.sync(&env).await
        }
        Some(held) => {
            if state.version == held
                && edge.store.held_version(&env) == Some(held)
                && edge.store.same_state(&state)
            {
                return;
            }
            tracing::warn!(environment = %env, held, received = state.version,
                "the upstream's environment started over; replacing it here");
            edge.store.install(state);
            hub.environment_deleted(&env).await;
            hub.view_or_load(&env).await.map(|_| ())
        }
    };
    if let Err(e) = outcome {
        tracing::warn!(environment = %env, error = %e, "installing an upstream snapshot in the hub failed");
    }
}

/// Loads the environment of upstream key `index` from the backup file, when nothing is held
/// for it yet.
async fn load_backup(edge: &Edge, hub: &Arc<Hub>, index: usize) {
    if edge
        .store
        .source_env(index)
        .is_some_and(|env| edge.store.held_version(&env).is_some())
    {
        return;
    }
    let key_hash = crate::auth::hash_secret(&edge.upstream_keys[index]);
    let body = {
        let doc = edge.backup.lock().unwrap_or_else(|p| p.into_inner());
        doc.as_ref().and_then(|d| d.environment_for(&key_hash))
    };
    let Some(state) = body.and_then(state_of) else {
        return;
    };
    if edge.store.claim(index, &state.environment).is_err() {
        return;
    }
    tracing::warn!(environment = %state.environment, version = state.version,
        "the upstream cannot be reached: serving the environment from the backup file");
    install(edge, hub, state).await;
}

/// Forwards summed evaluation counts upstream every [`USAGE_EVERY`], with the edge's key of
/// each environment; what the upstream does not take is dropped.
pub(super) async fn forward_usage(edge: &Edge) {
    let mut tick = tokio::time::interval(USAGE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (env, pending) in edge.store.take_usage() {
            let (Some((start, end)), Some(owner)) = (pending.period, edge.store.owner(&env)) else {
                continue;
            };
            let counts: Vec<(String, Counts)> = pending
                .counts
                .into_iter()
                .map(|(k, (yes, no))| {
                    let cap = i64::MAX as u64;
                    (
                        k,
                        Counts {
                            yes: yes.min(cap),
                            no: no.min(cap),
                        },
                    )
                })
                .collect();
            for chunk in counts.chunks(crate::api::sdk::MAX_REPORTED_FLAGS) {
                let report = MetricsReport {
                    period_start: start,
                    period_end: end,
                    flags: chunk.iter().cloned().collect::<BTreeMap<_, _>>(),
                };
                let sent = edge
                    .http
                    .post(edge.url("/api/v1/sdk/metrics"))
                    .bearer_auth(&edge.upstream_keys[owner])
                    .timeout(Duration::from_secs(5))
                    .json(&report)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => {
                        tracing::debug!(environment = %env, status = %r.status(), "the upstream did not take evaluation counts; dropped")
                    }
                    Err(e) => {
                        tracing::debug!(environment = %env, error = %without_url(&e), "cannot forward evaluation counts; dropped")
                    }
                }
            }
        }
    }
}
