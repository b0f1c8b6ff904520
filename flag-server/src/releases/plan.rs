//! Release plans: the server raises a flag's percentage step by step, checks a guard
//! meanwhile, and sets the flag back when the guard fails.
//!
//! A flag has at most one plan at a time (its job id is `release:KEY`); a new plan replaces
//! the flag's previous one once that one is no longer active. Every step and the rollback are
//! flag changes made with [`super::settle`]: an audit entry (actor: who started the plan;
//! reason: the plan's id and the step) and a stream event each, exactly once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use flag_sdk::wire::{GuardCheck, ReleasePlan, ReleaseRequest, ReleaseStatus};
use flag_sdk::{EnvName, FlagKey, Percentage, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::guard::{self, Outcome};
use super::{check_reason, new_id, parse_duration, Job, Pending, Settled};
use crate::service::{merged, Result, Service, ServiceError};
use crate::store::JobRecord;

/// The prefix of a plan's job id; the flag's key follows.
pub const JOB_PREFIX: &str = "release:";
const MIN_INTERVAL: Duration = Duration::from_secs(1);
const MAX_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_STEPS: usize = 100;
const MAX_REASON: usize = 512;

/// A plan as stored: what the API answers, its pending write, and its guard's errors in a row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseJob {
    /// What the API answers.
    #[serde(flatten)]
    pub plan: ReleasePlan,
    /// The write it is seeing through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// Guard checks that could not be made, in a row.
    #[serde(default)]
    pub guard_errors: u32,
    /// The status the plan takes once its pending write is made (a rollback: the plan says
    /// `rolled_back` only when the flag is set back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<ReleaseStatus>,
}

impl Job for ReleaseJob {
    fn pending(&self) -> Option<&Pending> {
        self.pending.as_ref()
    }

    fn settled(&mut self, settled: &Settled) {
        match settled {
            Settled::Written(_) => {
                if let Some(status) = self.then.take() {
                    self.plan.status = status;
                    self.plan.updated_at = Utc::now();
                }
            }
            Settled::Failed(why) => {
                self.then = None;
                self.plan.status = ReleaseStatus::Aborted;
                self.plan.next_at = None;
                self.plan.message = Some(format!("stopped: {why}"));
                self.plan.updated_at = Utc::now();
            }
            Settled::Later(_) => return,
        }
        self.pending = None;
    }
}

fn job_id(key: &FlagKey) -> String {
    format!("{JOB_PREFIX}{}", key.as_str())
}

fn interval(plan: &ReleasePlan) -> Duration {
    parse_duration(&plan.interval, MIN_INTERVAL, MAX_INTERVAL).unwrap_or(MAX_INTERVAL)
}

fn after(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    at + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// What a request asks for, checked: the problems with their field paths.
fn validate(request: &ReleaseRequest) -> ValidationErrors {
    let mut problems = ValidationErrors::default();
    if request.steps.is_empty() || request.steps.len() > MAX_STEPS {
        problems.push("steps", format!("must have 1 to {MAX_STEPS} percentages"));
    }
    for (i, w) in request.steps.windows(2).enumerate() {
        if w[1] <= w[0] {
            problems.push(
                format!("steps[{}]", i + 1),
                format!("must be above the step before ({} after {})", w[1], w[0]),
            );
        }
    }
    if request.steps.first() == Some(&Percentage::ZERO) {
        problems.push("steps[0]", "must be above 0");
    }
    if let Err(m) = parse_duration(&request.interval, MIN_INTERVAL, MAX_INTERVAL) {
        problems.push("interval", m);
    }
    if let Some(g) = &request.guard {
        problems.0.extend(guard::validate(g).0);
    }
    if let (Some(back), Some(first)) = (request.rollback_to, request.steps.first()) {
        if back >= *first {
            problems.push(
                "rollback_to",
                format!("must be below the first step ({first})"),
            );
        }
    }
    if let Err(m) = check_reason(&request.reason, MAX_REASON) {
        problems.push("reason", m);
    }
    problems
}

/// Starts a plan for an existing flag. Steps at or below the flag's percentage count as done.
pub async fn start(
    service: &Service,
    env: &EnvName,
    key: &FlagKey,
    request: ReleaseRequest,
    actor: &str,
) -> Result<ReleasePlan> {
    validate(&request).into_result()?;
    let view = service.environment(env).await?;
    let flag = view
        .snapshot
        .flag(key.as_str())
        .ok_or_else(|| ServiceError::FlagNotFound {
            env: env.clone(),
            key: key.to_string(),
        })?;
    // The steps must make a valid flag (a typed flag serves variants, not a percentage).
    merged(&flag.spec, &json!({ "percentage": request.steps[0] }), key).map_err(|e| match e {
        ServiceError::Invalid(v) => {
            let why = v.iter().map(|e| e.message.as_str()).collect::<Vec<_>>();
            ServiceError::Invalid(ValidationErrors::single(
                "steps",
                format!(
                    "a release plan raises the flag's `percentage`, which flag {:?} cannot take: {}",
                    key.as_str(),
                    why.join("; ")
                ),
            ))
        }
        e => e,
    })?;
    let current = flag
        .spec
        .default_serve
        .is_none()
        .then_some(flag.spec.percentage);
    let done = request
        .steps
        .iter()
        .take_while(|p| current.is_some_and(|c| **p <= c))
        .count();
    let now = Utc::now();
    let plan = ReleasePlan {
        id: new_id("rel"),
        key: key.to_string(),
        steps: request.steps,
        interval: request.interval,
        guard: request.guard,
        rollback_to: request.rollback_to.unwrap_or(Percentage::ZERO),
        reason: request.reason,
        created_by: actor.to_owned(),
        created_at: now,
        status: ReleaseStatus::Running,
        step: done,
        next_at: Some(now),
        last_check: None,
        message: (done > 0).then(|| {
            format!(
                "the flag was at {}% already: {done} step(s) counted as done",
                current.unwrap_or_default()
            )
        }),
        updated_at: now,
        updated_by: None,
    };
    let job = ReleaseJob {
        plan: plan.clone(),
        pending: None,
        guard_errors: 0,
        then: None,
    };
    let id = job_id(key);
    let previous = super::jobs::<ReleaseJob>(service, env, &id)
        .await?
        .into_iter()
        .find(|(_, j)| j.plan.key == key.as_str());
    let rev = match previous {
        Some((_, j)) if j.plan.status.is_active() || j.pending.is_some() => {
            return Err(ServiceError::Conflict(format!(
                "flag {:?} has a {} release plan ({}): pause, resume or abort it first",
                key.as_str(),
                status_name(j.plan.status),
                j.plan.id
            )))
        }
        Some((rev, _)) => rev,
        None => 0,
    };
    super::write_job(service, env, &id, rev, &job)
        .await
        .map_err(|e| match e {
            ServiceError::Store(crate::store::StoreError::JobConflict { .. }) => {
                ServiceError::Conflict(format!(
                    "another release plan of flag {:?} was started at the same time",
                    key.as_str()
                ))
            }
            e => e,
        })?;
    service.jobs_changed();
    tracing::info!(environment = %env, key = %key, id = %plan.id, actor, "release plan started");
    Ok(plan)
}

fn status_name(s: ReleaseStatus) -> &'static str {
    match s {
        ReleaseStatus::Running => "running",
        ReleaseStatus::Paused => "paused",
        ReleaseStatus::Completed => "completed",
        ReleaseStatus::RolledBack => "rolled back",
        ReleaseStatus::Aborted => "aborted",
    }
}

/// The latest plan of a flag.
pub async fn get(service: &Service, env: &EnvName, key: &FlagKey) -> Result<ReleasePlan> {
    super::jobs::<ReleaseJob>(service, env, &job_id(key))
        .await?
        .into_iter()
        .map(|(_, j)| j.plan)
        .find(|p| p.key == key.as_str())
        .ok_or_else(|| {
            ServiceError::NotFound(format!(
                "flag {:?} has no release plan in environment \"{env}\"",
                key.as_str()
            ))
        })
}

/// The latest plan of every flag that had one, by key.
pub async fn list(service: &Service, env: &EnvName) -> Result<Vec<ReleasePlan>> {
    let mut plans: Vec<ReleasePlan> = super::jobs::<ReleaseJob>(service, env, JOB_PREFIX)
        .await?
        .into_iter()
        .map(|(_, j)| j.plan)
        .collect();
    plans.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(plans)
}

/// What a person does to a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Stop raising (and checking) until resumed.
    Pause,
    /// Go on: the current step is watched a whole interval before the next.
    Resume,
    /// Stop for good; the flag stays where it is.
    Abort,
}

/// Pauses, resumes or aborts a flag's plan.
pub async fn control(
    service: &Service,
    env: &EnvName,
    key: &FlagKey,
    control: Control,
    actor: &str,
    reason: Option<&str>,
) -> Result<ReleasePlan> {
    let id = job_id(key);
    let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
    for _ in 0..10 {
        let Some((rev, mut job)) = super::jobs::<ReleaseJob>(service, env, &id)
            .await?
            .into_iter()
            .find(|(_, j)| j.plan.key == key.as_str())
        else {
            return Err(ServiceError::NotFound(format!(
                "flag {:?} has no release plan in environment \"{env}\"",
                key.as_str()
            )));
        };
        let now = Utc::now();
        let plan = &mut job.plan;
        let allowed = match control {
            Control::Pause => plan.status == ReleaseStatus::Running,
            Control::Resume => plan.status == ReleaseStatus::Paused,
            Control::Abort => plan.status.is_active(),
        };
        if !allowed {
            return Err(ServiceError::Conflict(format!(
                "the release plan {} of flag {:?} is {}: it cannot be {}",
                plan.id,
                key.as_str(),
                status_name(plan.status),
                match control {
                    Control::Pause => "paused",
                    Control::Resume => "resumed",
                    Control::Abort => "aborted",
                }
            )));
        }
        match control {
            Control::Pause => {
                plan.status = ReleaseStatus::Paused;
                plan.next_at = None;
                plan.message = Some(format!("paused by {actor}{why}"));
            }
            Control::Resume => {
                plan.status = ReleaseStatus::Running;
                plan.next_at = Some(if plan.step == 0 {
                    now
                } else {
                    after(now, interval(plan))
                });
                plan.message = Some(format!("resumed by {actor}{why}"));
                job.guard_errors = 0;
            }
            Control::Abort => {
                plan.status = ReleaseStatus::Aborted;
                plan.next_at = None;
                plan.message = Some(format!("aborted by {actor}; the flag was left as it was"));
            }
        }
        plan.updated_at = now;
        plan.updated_by = Some(actor.to_owned());
        let plan = plan.clone();
        if super::try_write_job(service, env, &id, rev, &job)
            .await?
            .is_some()
        {
            service.jobs_changed();
            tracing::info!(environment = %env, key = %key, id = %plan.id, actor, control = ?control, "release plan changed");
            return Ok(plan);
        }
    }
    Err(ServiceError::KeptChanging(
        "the release plan kept changing; try again".into(),
    ))
}

/// The audit reason of a plan's write: the plan's reason, then what the write is.
fn audit_reason(plan: &ReleasePlan, what: &str) -> String {
    match &plan.reason {
        Some(r) => format!("{r} ({what})"),
        None => what.to_owned(),
    }
}

/// A pending write that sets the flag's percentage.
fn set_percentage(
    plan: &ReleasePlan,
    marker: String,
    p: Percentage,
    expected: u64,
    detail: &str,
) -> Pending {
    let what = if detail.is_empty() {
        marker.clone()
    } else {
        format!("{marker} {detail}")
    };
    Pending {
        reason: audit_reason(plan, &what),
        marker,
        key: plan.key.clone(),
        patch: json!({ "percentage": p }),
        expected,
        actor: plan.created_by.clone(),
    }
}

/// Moves one plan on: checks its guard when due, rolls back, raises, completes. The time it
/// is next due, if any.
pub(super) async fn drive(
    service: &Service,
    env: &EnvName,
    record: &JobRecord,
    mut job: ReleaseJob,
    http: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    if job.pending.is_some() {
        super::see_through(service, env, &record.id, record.rev, job).await?;
        return Ok(Some(now));
    }
    if job.plan.status != ReleaseStatus::Running {
        return Ok(None);
    }
    let key = FlagKey::parse(&job.plan.key)
        .map_err(|e| ServiceError::Internal(format!("stored plan key: {e}")))?;
    let flag_version = || async {
        let view = service.environment(env).await?;
        Ok::<_, ServiceError>(view.snapshot.flag(key.as_str()).map(|f| f.version))
    };
    let mut changed = false;
    let check_every = job.plan.guard.as_ref().map(guard::check_interval);
    if let (Some(g), Some(every)) = (job.plan.guard.clone(), check_every) {
        let due = job
            .plan
            .last_check
            .as_ref()
            .map_or(true, |c| after(c.at, every) <= now);
        if due {
            let outcome = guard::check(&g, http).await;
            let at = Utc::now();
            job.plan.last_check = Some(GuardCheck {
                at,
                outcome: outcome.name().to_owned(),
                detail: outcome.detail().to_owned(),
            });
            job.plan.updated_at = at;
            changed = true;
            match &outcome {
                Outcome::Pass(_) => job.guard_errors = 0,
                Outcome::Fail(detail) => {
                    let back = job.plan.rollback_to;
                    job.plan.next_at = None;
                    job.plan.message =
                        Some(format!("the guard failed: {detail}; set back to {back}%"));
                    match flag_version().await? {
                        Some(v) => {
                            let marker = format!("release {} rollback", job.plan.id);
                            let detail = format!("to {back}%: the guard failed: {detail}");
                            job.pending = Some(set_percentage(&job.plan, marker, back, v, &detail));
                            // Still running until the flag is set back.
                            job.then = Some(ReleaseStatus::RolledBack);
                        }
                        None => {
                            job.plan.status = ReleaseStatus::RolledBack;
                            job.plan.message = Some("the flag was deleted".into());
                        }
                    }
                    tracing::warn!(environment = %env, key = %key, id = %job.plan.id, detail = %detail, "release guard failed: rolling back");
                }
                Outcome::Error(detail) => {
                    job.guard_errors += 1;
                    if job.guard_errors >= guard::MAX_ERRORS {
                        job.plan.status = ReleaseStatus::Paused;
                        job.plan.next_at = None;
                        job.plan.message = Some(format!(
                            "paused: the guard could not be checked {} times in a row: {detail}",
                            job.guard_errors
                        ));
                        tracing::warn!(environment = %env, key = %key, id = %job.plan.id, detail = %detail, "release guard unreachable: paused");
                    }
                }
            }
        }
    }
    let guard_ok = job.plan.guard.is_none()
        || job
            .plan
            .last_check
            .as_ref()
            .is_some_and(|c| c.outcome == "pass");
    let step_due = job.plan.next_at.is_some_and(|t| t <= now);
    if job.plan.status == ReleaseStatus::Running && guard_ok && step_due {
        let n = job.plan.steps.len();
        if job.plan.step < n {
            match flag_version().await? {
                Some(v) => {
                    let step = job.plan.step + 1;
                    let p = job.plan.steps[step - 1];
                    let marker = format!("release {} step {step}/{n}:", job.plan.id);
                    job.pending = Some(set_percentage(&job.plan, marker, p, v, &format!("{p}%")));
                    job.plan.step = step;
                    job.plan.next_at = Some(after(now, interval(&job.plan)));
                    job.plan.message = None;
                }
                None => {
                    job.plan.status = ReleaseStatus::Aborted;
                    job.plan.next_at = None;
                    job.plan.message = Some("stopped: the flag was deleted".into());
                }
            }
        } else {
            job.plan.status = ReleaseStatus::Completed;
            job.plan.next_at = None;
            job.plan.message = Some(format!(
                "completed at {}%",
                job.plan.steps.last().copied().unwrap_or_default()
            ));
        }
        job.plan.updated_at = now;
        changed = true;
    }
    if !changed {
        return Ok(next_due(&job.plan, check_every));
    }
    let Some(rev) = super::try_write_job(service, env, &record.id, record.rev, &job).await? else {
        // Paused, aborted or moved on by another instance meanwhile: look again next pass.
        return Ok(Some(now));
    };
    let next = next_due(&job.plan, check_every);
    if job.pending.is_some() {
        super::see_through(service, env, &record.id, rev, job).await?;
    }
    Ok(next)
}

/// When a running plan next needs the driver: its next step or its next guard check.
fn next_due(plan: &ReleasePlan, check_every: Option<Duration>) -> Option<DateTime<Utc>> {
    if plan.status != ReleaseStatus::Running {
        return None;
    }
    let check = match (check_every, &plan.last_check) {
        (Some(every), Some(c)) => Some(after(c.at, every)),
        (Some(_), None) => Some(Utc::now()),
        (None, _) => None,
    };
    match (plan.next_at, check) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(steps: &[f64]) -> ReleaseRequest {
        ReleaseRequest {
            steps: steps
                .iter()
                .map(|p| Percentage::from_f64(*p).unwrap())
                .collect(),
            interval: "10m".into(),
            guard: None,
            rollback_to: None,
            reason: None,
        }
    }

    fn fields(r: &ReleaseRequest) -> Vec<String> {
        validate(r).iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn requests_are_validated() {
        assert!(fields(&request(&[1.0, 5.0, 25.0, 100.0])).is_empty());
        assert_eq!(fields(&request(&[])), ["steps"]);
        assert_eq!(fields(&request(&[5.0, 5.0])), ["steps[1]"]);
        assert_eq!(fields(&request(&[0.0, 5.0])), ["steps[0]"]);
        let mut r = request(&[5.0]);
        r.interval = "0s".into();
        r.rollback_to = Some(Percentage::from_f64(5.0).unwrap());
        r.reason = Some("\u{7}".into());
        assert_eq!(fields(&r), ["interval", "rollback_to", "reason"]);
    }
}
