//! The task that moves scheduled changes and release plans on. It runs in every instance; the
//! one holding the `releases` lease does the work, renewing the lease on each pass.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use super::decode_job;
use super::plan::{self, ReleaseJob};
use super::schedule::{self, ScheduleJob};
use crate::service::{Service, ServiceError};
use crate::store::{JobRecord, StoreError};
use flag_sdk::EnvName;

/// The lease's name.
pub const LEASE: &str = "releases";
/// How long the lease outlives its holder: another instance takes over within this.
pub const LEASE_TTL: Duration = Duration::from_secs(3);
/// The longest pause between passes: how soon a job written through another instance, or
/// a lease left by a dead holder, is noticed.
pub const IDLE: Duration = Duration::from_millis(500);
/// The shortest pause between passes, so that a job that keeps asking to be looked at again
/// (a write that waits for the store) does not spin.
const MIN_WAIT: Duration = Duration::from_millis(20);

/// Runs until `shutdown`; gives the lease back then.
pub async fn run(service: Service, shutdown: CancellationToken) {
    let holder = service.hub().instance().to_owned();
    let http = reqwest::Client::builder()
        .user_agent(concat!(
            "flag-server/",
            env!("CARGO_PKG_VERSION"),
            " (release guard)"
        ))
        .build()
        .unwrap_or_default();
    let mut held = false;
    loop {
        let started = tokio::time::Instant::now();
        let mut wait = IDLE;
        match service.store().try_lease(LEASE, &holder, LEASE_TTL).await {
            Ok(true) => {
                if !held {
                    tracing::info!(instance = %holder, "this instance drives scheduled changes and release plans");
                }
                held = true;
                if let Some(next) = pass(&service, &http).await {
                    let until = (next - Utc::now()).to_std().unwrap_or_default();
                    wait = wait.min(until).max(MIN_WAIT);
                }
            }
            Ok(false) => held = false,
            Err(e) => {
                held = false;
                tracing::debug!(error = %e, "release driver: the lease could not be taken");
            }
        }
        let deadline = started + wait;
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep_until(deadline) => {}
            () = service.jobs_written() => {}
        }
    }
    if held {
        let _ = service.store().release_lease(LEASE, &holder).await;
    }
}

/// One pass over every job of every environment; the earliest time one is next due.
pub async fn pass(service: &Service, http: &reqwest::Client) -> Option<DateTime<Utc>> {
    let envs = match service.store().list_environments().await {
        Ok(envs) => envs,
        Err(e) => {
            tracing::debug!(error = %e, "release driver: cannot list environments");
            return None;
        }
    };
    let mut next: Option<DateTime<Utc>> = None;
    for env in envs {
        let records = match service.store().jobs(&env).await {
            Ok(r) => r,
            Err(StoreError::EnvNotFound(_)) => continue,
            Err(e) => {
                tracing::debug!(environment = %env, error = %e, "release driver: cannot read jobs");
                continue;
            }
        };
        let now = Utc::now();
        // Concurrently: a slow guard must not hold up another plan's rollback.
        let dues = join_all(
            records
                .iter()
                .map(|record| drive(service, &env, record, http, now)),
        )
        .await;
        for due in dues.into_iter().flatten() {
            next = Some(next.map_or(due, |n| n.min(due)));
        }
    }
    next
}

async fn drive(
    service: &Service,
    env: &EnvName,
    record: &JobRecord,
    http: &reqwest::Client,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let result = if record.id.starts_with(schedule::JOB_PREFIX) {
        match decode_job::<ScheduleJob>(record) {
            Ok(job) => schedule::drive(service, env, record, job, now).await,
            Err(e) => Err(e),
        }
    } else if record.id.starts_with(plan::JOB_PREFIX) {
        match decode_job::<ReleaseJob>(record) {
            Ok(job) => plan::drive(service, env, record, job, http, now).await,
            Err(e) => Err(e),
        }
    } else {
        Ok(None)
    };
    match result {
        Ok(due) => due,
        Err(ServiceError::Store(StoreError::Unavailable(e))) => {
            tracing::debug!(environment = %env, job = %record.id, error = %e, "release driver: store unavailable");
            None
        }
        Err(e) => {
            tracing::warn!(environment = %env, job = %record.id, error = %e, "release driver: a job failed");
            None
        }
    }
}
