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
/// Every how many rounds an instance that does not drive reads the jobs to remember them.
const REMEMBER_EVERY: u64 = 10;

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
    let mut memory = Memory::default();
    for round in 0u64.. {
        let started = tokio::time::Instant::now();
        let mut wait = IDLE;
        // Every instance remembers the jobs (the holder at each pass, the others now and then)
        // and writes them back after the store lost its data: the lease is lost with the data,
        // and whichever instance takes it next must find the jobs there.
        if memory.store_intact(&service).await {
            match service.store().try_lease(LEASE, &holder, LEASE_TTL).await {
                Ok(true) => {
                    if !held {
                        tracing::info!(instance = %holder, "this instance drives scheduled changes and release plans");
                    }
                    held = true;
                    let (next, seen) = pass(&service, &http).await;
                    // What the pass wrote, rather than what it read; nothing when the store
                    // failed meanwhile (it may have just lost its data).
                    let seen = match seen {
                        Some(seen) if seen.iter().any(|(_, jobs)| !jobs.is_empty()) => {
                            read_all(&service).await
                        }
                        other => other,
                    };
                    if let Some(seen) = seen {
                        memory.jobs = seen;
                    }
                    if let Some(next) = next {
                        let until = (next - Utc::now()).to_std().unwrap_or_default();
                        wait = wait.min(until).max(MIN_WAIT);
                    }
                }
                Ok(false) => {
                    held = false;
                    if round % REMEMBER_EVERY == 0 {
                        if let Some(seen) = read_all(&service).await {
                            memory.jobs = seen;
                        }
                    }
                }
                Err(e) => {
                    held = false;
                    tracing::debug!(error = %e, "release driver: the lease could not be taken");
                }
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

/// What the driving instance saw at its last pass: the store's identity and the jobs, so
/// that it can write the jobs back when the store loses its data (a Redis restarted empty),
/// as the hub writes back the flags.
#[derive(Default)]
struct Memory {
    identity: Option<String>,
    jobs: Vec<(EnvName, Vec<JobRecord>)>,
}

impl Memory {
    /// Whether the store holds its data; writes the remembered jobs back first when its
    /// identity changed (the hub wrote the environments back after a loss).
    async fn store_intact(&mut self, service: &Service) -> bool {
        let identity = match service.store().identity().await {
            Ok(Some(id)) => id,
            // Lost, and not yet written back by the hub (or unreachable): wait.
            Ok(None) | Err(_) => return false,
        };
        if self
            .identity
            .as_ref()
            .is_some_and(|known| *known != identity)
        {
            self.write_back(service).await;
        }
        self.identity = Some(identity);
        true
    }

    /// Writes back the remembered jobs the store does not have.
    async fn write_back(&self, service: &Service) {
        let mut written = 0;
        for (env, records) in &self.jobs {
            for r in records {
                match service.store().put_job(env, &r.id, 0, &r.body).await {
                    Ok(_) => written += 1,
                    // There already (another instance wrote it back), or the environment is gone.
                    Err(StoreError::JobConflict { .. } | StoreError::EnvNotFound(_)) => {}
                    Err(e) => {
                        tracing::warn!(environment = %env, job = %r.id, error = %e, "writing a job back failed");
                    }
                }
            }
        }
        if written > 0 {
            tracing::warn!(
                jobs = written,
                "the store had lost its data: scheduled changes and release plans written back"
            );
        }
    }
}

/// Every job of every environment, without moving any on; `None` when a read failed.
async fn read_all(service: &Service) -> Option<Vec<(EnvName, Vec<JobRecord>)>> {
    let mut out = Vec::new();
    for env in service.store().job_environments().await.ok()? {
        match service.store().jobs(&env).await {
            Ok(records) => out.push((env, records)),
            Err(StoreError::EnvNotFound(_)) => {}
            Err(_) => return None,
        }
    }
    Some(out)
}

/// One pass over every job of every environment: the earliest time one is next due, and the
/// jobs it found (`None` when a read failed).
pub async fn pass(
    service: &Service,
    http: &reqwest::Client,
) -> (
    Option<DateTime<Utc>>,
    Option<Vec<(EnvName, Vec<JobRecord>)>>,
) {
    let mut seen = Vec::new();
    let mut complete = true;
    let envs = match service.store().job_environments().await {
        Ok(envs) => envs,
        Err(e) => {
            tracing::debug!(error = %e, "release driver: cannot list environments");
            return (None, None);
        }
    };
    let mut next: Option<DateTime<Utc>> = None;
    for env in envs {
        let records = match service.store().jobs(&env).await {
            Ok(r) => r,
            Err(StoreError::EnvNotFound(_)) => continue,
            Err(e) => {
                tracing::debug!(environment = %env, error = %e, "release driver: cannot read jobs");
                complete = false;
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
        seen.push((env, records));
    }
    (next, complete.then_some(seen))
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
