//! Releases the server drives: scheduled changes ([`schedule`]) and release plans ([`plan`]),
//! moved on by a driver task ([`driver`]) that runs in every instance.
//!
//! Both are jobs in the store ([`crate::store::Store::jobs`]), next to their environment's
//! flags, so that every instance sees them and a restart loses none. One instance at a time
//! drives them: the holder of the `releases` lease, which it renews while it runs; when it
//! dies another takes the lease over within [`driver::LEASE_TTL`].
//!
//! # Exactly once
//!
//! The lease keeps the work in one place, but correctness does not depend on it: an instance
//! that lost the lease without knowing (a long pause) could still act. Every change a job makes
//! to a flag goes through two steps:
//!
//! 1. The job is written with the change as its [`Pending`] write (the merge patch, the flag
//!    version it was decided on, and a marker unique to this change), by compare-and-set on the
//!    job's revision: of several instances deciding the same step, exactly one wins.
//! 2. The patch is written to the flag only at the version it was decided on ([`settle`]);
//!    then the job's pending write is cleared.
//!
//! An instance that finds a job with a pending write (its writer died in between) settles it:
//! when the flag is still at that version the patch was not written, so it writes it; when the
//! flag moved on, the audit log tells whether the move was this change (its reason carries the
//! marker) or someone else's, in which case the patch is written on the newer version. Two
//! instances settling at once race on the flag's version, and the loser finds the winner's
//! marker. So each step is applied once, and never lost.

pub mod driver;
pub mod guard;
pub mod plan;
pub mod schedule;

use std::time::Duration;

use chrono::Utc;
use flag_sdk::{EnvName, FlagKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::service::{Service, ServiceError};
use crate::store::{ChangeMeta, JobRecord, StoreError};

/// How many audit entries of the flag [`settle`] reads looking for a marker.
const MARKER_SCAN: usize = 50;

/// A write a job decided on and has not yet seen through (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Unique to this change; the audit reason contains it.
    pub marker: String,
    /// The merge patch.
    pub patch: serde_json::Value,
    /// The flag's key.
    pub key: String,
    /// The flag's version it was decided on.
    pub expected: u64,
    /// The audit entry's actor.
    pub actor: String,
    /// The audit entry's reason (containing the marker).
    pub reason: String,
}

/// What became of a pending write.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// Written, by this call or an earlier one, at this environment version.
    Written(u64),
    /// It can never be written: the flag is gone, or the patch no longer makes a valid flag.
    Failed(String),
    /// Not now (the store is unavailable): try again later, the pending write stays.
    Later(String),
}

/// Sees a pending write through, exactly once (see the module documentation).
pub async fn settle(service: &Service, env: &EnvName, key: &FlagKey, p: &Pending) -> Settled {
    let mut at = p.expected;
    for _ in 0..5 {
        let view = match service.environment(env).await {
            Ok(view) => view,
            Err(ServiceError::Store(StoreError::EnvNotFound(_))) => {
                return Settled::Failed(format!("environment \"{env}\" was deleted"))
            }
            Err(e) => return Settled::Later(e.to_string()),
        };
        let current = view.snapshot.flag(key.as_str()).map(|f| f.version);
        if current != Some(at) {
            // The flag moved on (or went): by this very change, or by someone else's.
            match find_marker(service, env, key, at, &p.marker).await {
                Ok(Some(version)) => return Settled::Written(version),
                Ok(None) => {}
                Err(e) => return Settled::Later(e.to_string()),
            }
            match current {
                Some(v) => at = v,
                None => return Settled::Failed(format!("flag {:?} was deleted", key.as_str())),
            }
        }
        let meta = ChangeMeta {
            actor: p.actor.clone(),
            reason: Some(p.reason.clone()),
            at: Utc::now(),
        };
        match service
            .patch_flag(env, key, &p.patch, Some(at), &meta)
            .await
        {
            Ok(flag) => return Settled::Written(flag.version),
            // Someone wrote in between (maybe another instance settling this): look again.
            Err(ServiceError::Stale { .. }) => continue,
            Err(ServiceError::FlagNotFound { .. }) => {
                return Settled::Failed(format!("flag {:?} was deleted", key.as_str()))
            }
            Err(e @ (ServiceError::Invalid(_) | ServiceError::InUse(_))) => {
                return Settled::Failed(e.to_string())
            }
            Err(e) => return Settled::Later(e.to_string()),
        }
    }
    Settled::Later(format!(
        "flag {:?} kept changing; trying again",
        key.as_str()
    ))
}

/// The environment version of the flag's audit entry after `after` whose reason contains
/// `marker`, if any.
async fn find_marker(
    service: &Service,
    env: &EnvName,
    key: &FlagKey,
    after: u64,
    marker: &str,
) -> Result<Option<u64>, ServiceError> {
    let (entries, _) = service.audit(env, MARKER_SCAN, None, Some(key)).await?;
    Ok(entries
        .iter()
        .take_while(|e| e.version > after)
        .find(|e| e.reason.as_deref().is_some_and(|r| r.contains(marker)))
        .map(|e| e.version))
}

/// A stored job that may carry a pending write.
pub(crate) trait Job: Serialize + DeserializeOwned {
    /// The write it is seeing through.
    fn pending(&self) -> Option<&Pending>;
    /// Records what became of the pending write (and clears it, unless it is to be tried later).
    fn settled(&mut self, settled: &Settled);
}

/// The jobs of an environment whose id starts with `prefix`, with their revisions.
pub(crate) async fn jobs<J: Job>(
    service: &Service,
    env: &EnvName,
    prefix: &str,
) -> Result<Vec<(u64, J)>, ServiceError> {
    service.require_environment(env).await?;
    service
        .store()
        .jobs(env)
        .await?
        .into_iter()
        .filter(|r| r.id.starts_with(prefix))
        .map(|r| Ok((r.rev, decode_job(&r)?)))
        .collect()
}

pub(crate) fn decode_job<J: Job>(record: &JobRecord) -> Result<J, ServiceError> {
    serde_json::from_str(&record.body)
        .map_err(|e| ServiceError::Internal(format!("stored job {}: {e}", record.id)))
}

/// Writes a job at revision `rev` (0: new); its new revision.
pub(crate) async fn write_job<J: Job>(
    service: &Service,
    env: &EnvName,
    id: &str,
    rev: u64,
    job: &J,
) -> Result<u64, ServiceError> {
    let body =
        serde_json::to_string(job).map_err(|e| ServiceError::Internal(format!("job {id}: {e}")))?;
    Ok(service.store().put_job(env, id, rev, &body).await?)
}

/// [`write_job`], with `None` when another writer moved the job on first.
pub(crate) async fn try_write_job<J: Job>(
    service: &Service,
    env: &EnvName,
    id: &str,
    rev: u64,
    job: &J,
) -> Result<Option<u64>, ServiceError> {
    match write_job(service, env, id, rev, job).await {
        Ok(rev) => Ok(Some(rev)),
        Err(ServiceError::Store(StoreError::JobConflict { .. })) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Settles the job's pending write and records the outcome in the job, on whatever revision
/// the job is at by then, as long as it still carries this pending write.
pub(crate) async fn see_through<J: Job>(
    service: &Service,
    env: &EnvName,
    id: &str,
    mut rev: u64,
    mut job: J,
) -> Result<(), ServiceError> {
    let Some(pending) = job.pending().cloned() else {
        return Ok(());
    };
    let key = pending_key(&pending)?;
    let settled = settle(service, env, &key, &pending).await;
    match &settled {
        Settled::Later(why) => {
            tracing::warn!(environment = %env, job = id, reason = %why, "a release write waits; trying again");
            return Ok(());
        }
        Settled::Failed(why) => {
            tracing::warn!(environment = %env, job = id, reason = %why, "a release write failed");
        }
        Settled::Written(version) => {
            tracing::info!(environment = %env, job = id, version, change = %pending.marker, "release write applied");
        }
    }
    for _ in 0..5 {
        job.settled(&settled);
        if try_write_job(service, env, id, rev, &job).await?.is_some() {
            return Ok(());
        }
        // Moved on meanwhile (paused, aborted): record the outcome on what it is now.
        let Some(record) = service
            .store()
            .jobs(env)
            .await?
            .into_iter()
            .find(|r| r.id == id)
        else {
            return Ok(());
        };
        job = decode_job(&record)?;
        rev = record.rev;
        if job.pending().map(|p| &p.marker) != Some(&pending.marker) {
            return Ok(());
        }
    }
    Ok(())
}

/// The flag a pending write is for: its patch carries no key, so the job's id names it.
fn pending_key(p: &Pending) -> Result<FlagKey, ServiceError> {
    FlagKey::parse(&p.key).map_err(|e| ServiceError::Internal(format!("pending key: {e}")))
}

/// A new id: `prefix` and 16 hex digits.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::random::<u64>())
}

/// Parses a duration such as `10m`, `30s` or `1h 30m` within `min..=max`.
pub(crate) fn parse_duration(s: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration like 30s, 10m or 1h ({e})"))?;
    if d < min || d > max {
        return Err(format!(
            "{s:?} must be from {} to {}",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(d)
}

/// Checks a reason given in a body: visible ASCII (and spaces), at most `max` bytes.
pub(crate) fn check_reason(reason: &Option<String>, max: usize) -> Result<(), String> {
    match reason {
        Some(r) if r.len() > max => Err(format!("must be at most {max} bytes")),
        Some(r) if !r.bytes().all(|b| (0x20..0x7f).contains(&b)) => {
            Err("must be visible ASCII characters and spaces".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_bounded() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(3600));
        assert_eq!(
            parse_duration("10m", min, max),
            Ok(Duration::from_secs(600))
        );
        assert_eq!(
            parse_duration(" 1h ", min, max),
            Ok(Duration::from_secs(3600))
        );
        assert!(parse_duration("500ms", min, max)
            .unwrap_err()
            .contains("from 1s to 1h"));
        assert!(parse_duration("2h", min, max).is_err());
        assert!(parse_duration("soon", min, max)
            .unwrap_err()
            .contains("not a duration"));
    }

    #[test]
    fn reasons_are_visible_ascii() {
        assert!(check_reason(&None, 10).is_ok());
        assert!(check_reason(&Some("canary 5%".into()), 10).is_ok());
        assert!(check_reason(&Some("x".repeat(11)), 10).is_err());
        assert!(check_reason(&Some("tab\there".into()), 100).is_err());
        assert!(check_reason(&Some("é".into()), 100).is_err());
    }

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let (a, b) = (new_id("sch"), new_id("sch"));
        assert!(a.starts_with("sch_") && a.len() == 20, "{a}");
        assert_ne!(a, b);
    }
}
