//! Scheduled changes: a merge patch applied to a flag once, at its time, as the person who
//! scheduled it and with their reason.

use chrono::{DateTime, Duration as Span, Utc};
use flag_sdk::wire::{ScheduleRequest, ScheduleStatus, ScheduledChange};
use flag_sdk::{EnvName, FlagKey, ValidationErrors};
use serde::{Deserialize, Serialize};

use super::{check_reason, new_id, Job, Pending, Settled};
use crate::service::{merged, Result, Service, ServiceError};
use crate::store::JobRecord;

/// The prefix of a scheduled change's job id; the change's id follows.
pub const JOB_PREFIX: &str = "schedule:";
/// How long applied and failed changes are kept (listed) after they were done.
pub const KEEP_DONE: Span = Span::days(7);
/// How far in the past `at` may be (a clock a little behind, a request that took its time).
const PAST_SLACK: Span = Span::seconds(60);
/// How far ahead a change may be scheduled.
const MAX_AHEAD: Span = Span::days(366);
/// Longest reason, in bytes (the reason header's limit).
const MAX_REASON: usize = 1024;

/// A scheduled change as stored: what the API answers, and its pending write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleJob {
    /// What the API answers.
    #[serde(flatten)]
    pub change: ScheduledChange,
    /// The write it is seeing through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

impl Job for ScheduleJob {
    fn pending(&self) -> Option<&Pending> {
        self.pending.as_ref()
    }

    fn settled(&mut self, settled: &Settled) {
        match settled {
            Settled::Written(version) => {
                self.change.status = ScheduleStatus::Applied;
                self.change.version = Some(*version);
            }
            Settled::Failed(why) => {
                self.change.status = ScheduleStatus::Failed;
                self.change.error = Some(why.clone());
            }
            Settled::Later(_) => return,
        }
        self.change.done_at = Some(Utc::now());
        self.pending = None;
    }
}

fn job_id(id: &str) -> String {
    format!("{JOB_PREFIX}{id}")
}

/// The audit reason of a scheduled change: the person's reason, and the change's id (which
/// makes its write recognisable, see [`super::settle`]).
fn audit_reason(change: &ScheduledChange) -> String {
    match &change.reason {
        Some(r) => format!("{r} (scheduled change {})", change.id),
        None => format!("scheduled change {}", change.id),
    }
}

/// Schedules a change of an existing flag. The patch is checked against the flag as it is
/// now, so a mistake is a 400 today rather than a failure at the scheduled time.
pub async fn create(
    service: &Service,
    env: &EnvName,
    key: &FlagKey,
    request: ScheduleRequest,
    actor: &str,
) -> Result<ScheduledChange> {
    let now = Utc::now();
    let mut problems = ValidationErrors::default();
    if request.at < now - PAST_SLACK {
        problems.push("at", "is in the past");
    } else if request.at > now + MAX_AHEAD {
        problems.push("at", "must be at most a year ahead");
    }
    if let Err(m) = check_reason(&request.reason, MAX_REASON) {
        problems.push("reason", m);
    }
    if !request.patch.is_object() {
        problems.push("patch", "must be a JSON object (a merge patch)");
    }
    problems.into_result()?;
    let view = service.environment(env).await?;
    let flag = view
        .snapshot
        .flag(key.as_str())
        .ok_or_else(|| ServiceError::FlagNotFound {
            env: env.clone(),
            key: key.to_string(),
        })?;
    merged(&flag.spec, &request.patch, key).map_err(|e| match e {
        ServiceError::Invalid(v) => ServiceError::Invalid(v.prefixed("patch")),
        e => e,
    })?;
    let change = ScheduledChange {
        id: new_id("sch"),
        key: key.to_string(),
        at: request.at,
        patch: request.patch,
        reason: request.reason,
        created_by: actor.to_owned(),
        created_at: now,
        status: ScheduleStatus::Pending,
        version: None,
        done_at: None,
        error: None,
    };
    let job = ScheduleJob {
        change: change.clone(),
        pending: None,
    };
    super::write_job(service, env, &job_id(&change.id), 0, &job).await?;
    service.jobs_changed();
    tracing::info!(environment = %env, key = %key, id = %change.id, at = %change.at, actor, "change scheduled");
    Ok(change)
}

/// The scheduled changes of an environment (of one flag when `key` is given), by time.
pub async fn list(
    service: &Service,
    env: &EnvName,
    key: Option<&FlagKey>,
) -> Result<Vec<ScheduledChange>> {
    let mut out: Vec<ScheduledChange> = super::jobs::<ScheduleJob>(service, env, JOB_PREFIX)
        .await?
        .into_iter()
        .map(|(_, job)| job.change)
        .filter(|c| key.map_or(true, |k| c.key == k.as_str()))
        .collect();
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Cancels a pending change; one that was applied (or is being applied) cannot be.
pub async fn cancel(
    service: &Service,
    env: &EnvName,
    key: &FlagKey,
    id: &str,
    actor: &str,
) -> Result<()> {
    for _ in 0..5 {
        let found = super::jobs::<ScheduleJob>(service, env, JOB_PREFIX)
            .await?
            .into_iter()
            .find(|(_, job)| job.change.id == id && job.change.key == key.as_str());
        let Some((rev, job)) = found else {
            return Err(ServiceError::NotFound(format!(
                "flag {:?} has no scheduled change {id:?} in environment \"{env}\"",
                key.as_str()
            )));
        };
        if job.pending.is_some() {
            return Err(ServiceError::Conflict(format!(
                "scheduled change {id} is being applied: it cannot be cancelled"
            )));
        }
        if job.change.status != ScheduleStatus::Pending {
            return Err(ServiceError::Conflict(format!(
                "scheduled change {id} was {} already: it cannot be cancelled",
                match job.change.status {
                    ScheduleStatus::Failed => "tried (and failed)",
                    _ => "applied",
                }
            )));
        }
        match service.store().delete_job(env, &job_id(id), rev).await {
            Ok(()) => {
                tracing::info!(environment = %env, key = %key, id, actor, "scheduled change cancelled");
                return Ok(());
            }
            // The driver took it up meanwhile: look again.
            Err(crate::store::StoreError::JobConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::KeptChanging(format!(
        "scheduled change {id} kept changing; try again"
    )))
}

/// Moves one scheduled change on; the time it is next due, if any.
pub(super) async fn drive(
    service: &Service,
    env: &EnvName,
    record: &JobRecord,
    mut job: ScheduleJob,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    if job.pending.is_some() {
        super::see_through(service, env, &record.id, record.rev, job).await?;
        return Ok(None);
    }
    let change = &job.change;
    match change.status {
        ScheduleStatus::Pending if change.at > now => Ok(Some(change.at)),
        // Due: record the write as pending (the change stays `pending` until it is written),
        // then make it.
        ScheduleStatus::Pending => {
            let key = FlagKey::parse(&change.key)
                .map_err(|e| ServiceError::Internal(format!("stored schedule key: {e}")))?;
            let view = service.environment(env).await?;
            let flag_version = view.snapshot.flag(key.as_str()).map(|f| f.version);
            match flag_version {
                None => {
                    job.change.status = ScheduleStatus::Failed;
                    job.change.done_at = Some(now);
                    job.change.error = Some(format!("flag {:?} was deleted", key.as_str()));
                }
                Some(expected) => {
                    job.pending = Some(Pending {
                        marker: format!("scheduled change {}", job.change.id),
                        key: key.to_string(),
                        patch: job.change.patch.clone(),
                        expected,
                        actor: job.change.created_by.clone(),
                        reason: audit_reason(&job.change),
                    });
                }
            }
            let Some(rev) =
                super::try_write_job(service, env, &record.id, record.rev, &job).await?
            else {
                return Ok(None);
            };
            if job.pending.is_some() {
                super::see_through(service, env, &record.id, rev, job).await?;
            }
            Ok(None)
        }
        ScheduleStatus::Applied | ScheduleStatus::Failed => {
            if change.done_at.is_some_and(|d| d + KEEP_DONE < now) {
                match service
                    .store()
                    .delete_job(env, &record.id, record.rev)
                    .await
                {
                    Ok(()) | Err(crate::store::StoreError::JobConflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(None)
        }
    }
}
