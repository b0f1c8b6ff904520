//! Applications' SDK keys on an edge, checked against the upstream.
//!
//! A key is valid for an environment when the upstream answers its `GET /api/v1/sdk/flags`
//! with 200 (naming the environment) or 304. Every answer, yes or no, is trusted for the TTL
//! (`FLAG_UPSTREAM_KEY_TTL`): a request with a key whose answer is older asks again, so a key
//! revoked upstream is refused at most one TTL after the revocation; [`sweep`] asks again about
//! accepted keys every quarter TTL once their answer is a TTL old, and a refusal ends the
//! streams opened with the key (at most 1.25 TTL after the revocation, plus one round trip).
//! When the upstream cannot be reached, keys it accepted stay valid (and keys read from the
//! backup file are taken as accepted); an unknown key is a 503 until it can be checked.
//! Checks of one key never overlap.
//!
//! The secrets of accepted keys are kept in memory (never logged, never in the backup file),
//! so that the sweep can ask again about keys whose only use is an open stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use flag_sdk::EnvName;
use reqwest::header::IF_NONE_MATCH;
use reqwest::StatusCode;
use tokio::time::Instant;

use super::Edge;
use crate::auth::hash_secret;
use crate::error::ApiError;
use crate::hub::Hub;
use crate::store::SdkKeyRecord;

/// How long one check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many answers are remembered.
const MAX_ENTRIES: usize = 100_000;

/// What the upstream said about a key.
#[derive(Debug, Clone)]
enum Verdict {
    /// Valid for this environment, served here.
    Valid(Arc<SdkKeyRecord>),
    /// Unknown or revoked.
    Refused,
    /// Valid for an environment this edge does not serve.
    Elsewhere(EnvName),
}

#[derive(Debug)]
struct Entry {
    verdict: Verdict,
    checked: Instant,
    /// The secret, for the sweep (accepted keys only).
    secret: Option<Arc<str>>,
}

/// What one check found.
enum Answer {
    /// 200 with this environment, or 304 (the environment sent in `If-None-Match`).
    Valid(EnvName),
    Refused,
    Unreachable(String),
}

/// The answers about application keys. See the module documentation.
#[derive(Debug)]
pub(super) struct KeyChecks {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    /// One lock per key being checked.
    checking: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KeyChecks {
    pub(super) fn new(ttl: Duration) -> KeyChecks {
        KeyChecks {
            ttl,
            entries: Mutex::default(),
            checking: Mutex::default(),
        }
    }

    fn fresh(&self, hash: &str) -> Option<Verdict> {
        lock(&self.entries)
            .get(hash)
            .filter(|e| e.checked.elapsed() < self.ttl)
            .map(|e| e.verdict.clone())
    }

    fn remember(&self, hash: &str, verdict: Verdict, secret: Option<Arc<str>>) {
        let mut entries = lock(&self.entries);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(hash) {
            let ttl = self.ttl;
            entries
                .retain(|_, e| matches!(e.verdict, Verdict::Valid(_)) || e.checked.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, e| matches!(e.verdict, Verdict::Valid(_)));
            }
        }
        entries.insert(
            hash.to_owned(),
            Entry {
                verdict,
                checked: Instant::now(),
                secret,
            },
        );
    }
}

/// Admits the key `secret` for the SDK and OFREP routes, asking the upstream when its last
/// answer is older than the TTL; the error is the answer to send.
pub(super) async fn admit(edge: &Edge, hub: &Hub, secret: &str) -> Result<(), ApiError> {
    let hash = hash_secret(secret);
    let checks = &edge.checks;
    if let Some(verdict) = checks.fresh(&hash) {
        return apply(edge, hub, verdict);
    }
    let gate = lock(&checks.checking)
        .entry(hash.clone())
        .or_default()
        .clone();
    let verdict = {
        let _one = gate.lock().await;
        match checks.fresh(&hash) {
            Some(v) => v,
            None => check(edge, hub, secret, &hash).await?,
        }
    };
    {
        let mut checking = lock(&checks.checking);
        if Arc::strong_count(&gate) <= 2 {
            checking.remove(&hash);
        }
    }
    apply(edge, hub, verdict)
}

/// What a verdict answers; an accepted key is (again) known to the hub, so the SDK routes'
/// own authentication finds it.
fn apply(edge: &Edge, hub: &Hub, verdict: Verdict) -> Result<(), ApiError> {
    match verdict {
        Verdict::Valid(record) => {
            if hub.sdk_key(&record.hash).is_none() {
                hub.key_added(SdkKeyRecord::clone(&record));
            }
            Ok(())
        }
        Verdict::Refused => Err(ApiError::Unauthorized(format!(
            "unknown or revoked SDK key: the upstream {} does not accept it",
            edge.shown
        ))),
        Verdict::Elsewhere(env) => Err(ApiError::Forbidden(format!(
            "this SDK key is for environment \"{env}\", which this edge does not serve (it serves {}); ask the upstream {}",
            served(edge),
            edge.shown
        ))),
    }
}

fn served(edge: &Edge) -> String {
    let mut envs: Vec<String> = (0..edge.upstream_keys.len())
        .filter_map(|i| edge.store.source_env(i))
        .map(|e| format!("\"{e}\""))
        .collect();
    envs.dedup();
    if envs.is_empty() {
        "no environment yet".into()
    } else {
        envs.join(", ")
    }
}

/// Asks the upstream about a key and records the answer; revokes it here when an accepted
/// key is refused now.
async fn check(edge: &Edge, hub: &Hub, secret: &str, hash: &str) -> Result<Verdict, ApiError> {
    let checks = &edge.checks;
    let before = lock(&checks.entries).get(hash).map(|e| e.verdict.clone());
    let known_env = match &before {
        Some(Verdict::Valid(r)) => Some(r.environment.clone()),
        _ => edge.store.accepted_key(hash).map(|r| r.environment),
    };
    let verdict = match ask(edge, hub, secret, known_env.as_ref()).await {
        Answer::Valid(env) if edge.store.owner(&env).is_some() => {
            let record = match (&before, edge.store.accepted_key(hash)) {
                (Some(Verdict::Valid(r)), _) if r.environment == env => r.clone(),
                (_, Some(r)) if r.environment == env => Arc::new(r),
                _ => Arc::new(record_for(hash, &env)),
            };
            edge.store.key_accepted(SdkKeyRecord::clone(&record));
            Verdict::Valid(record)
        }
        Answer::Valid(env) => Verdict::Elsewhere(env),
        Answer::Refused => Verdict::Refused,
        Answer::Unreachable(why) => {
            let kept = match &before {
                Some(v) => Some(v.clone()),
                None => edge
                    .store
                    .accepted_key(hash)
                    .map(|r| Verdict::Valid(Arc::new(r))),
            };
            match kept {
                Some(v) => v,
                None => {
                    return Err(ApiError::Unavailable(format!(
                    "this edge cannot check the SDK key: the upstream {} cannot be reached ({why})",
                    edge.shown
                )))
                }
            }
        }
    };
    if !matches!(verdict, Verdict::Valid(_)) {
        if let Some(Verdict::Valid(old)) = &before {
            tracing::info!(id = %old.id, environment = %old.environment, "the upstream no longer accepts an SDK key; its streams end");
            hub.key_revoked(&old.id);
        }
        edge.store.key_refused(hash);
    }
    let secret = matches!(verdict, Verdict::Valid(_)).then(|| Arc::from(secret));
    checks.remember(hash, verdict.clone(), secret);
    Ok(verdict)
}

/// A key record for an application key the upstream accepted (the id is derived from the
/// hash, so it is the same on every edge and across restarts).
fn record_for(hash: &str, env: &EnvName) -> SdkKeyRecord {
    SdkKeyRecord {
        id: format!("edge-{}", &hash[..16.min(hash.len())]),
        environment: env.clone(),
        name: "checked with the upstream".into(),
        hash: hash.to_owned(),
        created_at: Utc::now(),
        created_by: "upstream".into(),
    }
}

/// One `GET /api/v1/sdk/flags` upstream with the key (with `If-None-Match` when the edge
/// holds the key's environment, so that an unchanged environment costs no body).
async fn ask(edge: &Edge, hub: &Hub, secret: &str, env: Option<&EnvName>) -> Answer {
    let mut req = edge
        .http
        .get(edge.url("/api/v1/sdk/flags"))
        .bearer_auth(secret)
        .timeout(CHECK_TIMEOUT);
    let view = env.and_then(|e| hub.view(e.as_str()));
    if let Some(view) = &view {
        req = req.header(IF_NONE_MATCH, view.etag.as_str());
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return Answer::Unreachable(if e.is_timeout() {
                "timed out".into()
            } else {
                "no connection".into()
            })
        }
    };
    match resp.status() {
        StatusCode::NOT_MODIFIED => match view {
            Some(v) => Answer::Valid(v.environment.clone()),
            None => Answer::Unreachable("an unexpected 304".into()),
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Answer::Refused,
        s if s.is_success() => {
            #[derive(serde::Deserialize)]
            struct Named {
                environment: String,
            }
            match resp
                .json::<Named>()
                .await
                .map(|n| EnvName::parse(&n.environment))
            {
                Ok(Ok(env)) => Answer::Valid(env),
                _ => Answer::Unreachable("an unusable answer".into()),
            }
        }
        s => Answer::Unreachable(format!("status {s}")),
    }
}

/// Asks again, every quarter TTL, about accepted keys whose answer is a TTL old, so that the
/// streams of a key revoked upstream end though it makes no request.
pub(super) async fn sweep(edge: &Edge, hub: &Hub) {
    let every = (edge.checks.ttl / 4).max(Duration::from_millis(100));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let due: Vec<(String, Arc<str>)> = lock(&edge.checks.entries)
            .iter()
            .filter(|(_, e)| e.checked.elapsed() >= edge.checks.ttl)
            .filter_map(|(h, e)| match (&e.verdict, &e.secret) {
                (Verdict::Valid(_), Some(s)) => Some((h.clone(), s.clone())),
                _ => None,
            })
            .collect();
        for (hash, secret) in due {
            let gate = lock(&edge.checks.checking)
                .entry(hash.clone())
                .or_default()
                .clone();
            let _one = gate.lock().await;
            if edge.checks.fresh(&hash).is_none() {
                // An unreachable upstream keeps the key: nothing to do with the error.
                let _ = check(edge, hub, &secret, &hash).await;
            }
        }
    }
}
