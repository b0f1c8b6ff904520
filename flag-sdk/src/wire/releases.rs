//! Releases the server drives: scheduled changes and release plans (their requests and what
//! the server answers about them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Percentage;

/// The body of `POST /environments/{env}/flags/{key}/schedule`: a merge patch the server
/// applies to the flag once, at `at`.
///
/// ```
/// let r: flag_sdk::wire::ScheduleRequest = serde_json::from_str(
///     r#"{"at": "2026-12-01T09:00:00Z", "patch": {"enabled": true}, "reason": "launch"}"#).unwrap();
/// assert_eq!(r.patch["enabled"], true);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleRequest {
    /// When to apply it (RFC 3339); at most a minute in the past, at most a year ahead.
    pub at: DateTime<Utc>,
    /// A JSON merge patch (an object), as the body of `PATCH .../flags/{key}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub patch: serde_json::Value,
    /// Why; recorded in the audit entry of the change (visible ASCII, at most 1024 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 1024, pattern = "^[\\x20-\\x7e]*$")
    )]
    pub reason: Option<String>,
}

/// Where a scheduled change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ScheduleStatus {
    /// Waiting for its time.
    Pending,
    /// Applied (at `version`).
    Applied,
    /// Could not be applied (`error` says why: the flag was deleted, the patch no longer
    /// makes a valid flag).
    Failed,
}

/// A scheduled change as the server answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduledChange {
    /// Its id (`sch_` and 16 hex digits), to cancel it.
    pub id: String,
    /// The flag's key.
    pub key: String,
    /// When it applies.
    pub at: DateTime<Utc>,
    /// The merge patch.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub patch: serde_json::Value,
    /// Why (the audit entry's reason).
    pub reason: Option<String>,
    /// Who scheduled it (the audit entry's actor).
    pub created_by: String,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// Pending, applied or failed.
    pub status: ScheduleStatus,
    /// The environment version of the change it made (when applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// When it was applied or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /environments/{env}/schedules` and `GET .../flags/{key}/schedule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleList {
    /// The environment.
    pub environment: String,
    /// Sorted by time, then id; applied and failed ones are kept for 7 days.
    pub schedules: Vec<ScheduledChange>,
}

/// How a Prometheus guard compares the query's value with its threshold: the guard passes
/// while `value <op> threshold` holds for every sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GuardOp {
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
}

impl GuardOp {
    /// Whether `value <op> threshold`.
    ///
    /// ```
    /// use flag_sdk::wire::GuardOp;
    /// assert!(GuardOp::Lt.holds(0.001, 0.01));
    /// assert!(!GuardOp::Lt.holds(0.05, 0.01));
    /// ```
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            GuardOp::Lt => value < threshold,
            GuardOp::Lte => value <= threshold,
            GuardOp::Gt => value > threshold,
            GuardOp::Gte => value >= threshold,
        }
    }

    /// The operator's symbol, for messages.
    pub fn symbol(self) -> &'static str {
        match self {
            GuardOp::Lt => "<",
            GuardOp::Lte => "<=",
            GuardOp::Gt => ">",
            GuardOp::Gte => ">=",
        }
    }
}

/// What a release plan watches: it rolls back when the guard fails.
///
/// ```
/// let g: flag_sdk::wire::Guard = serde_json::from_str(r#"{"type": "prometheus",
///     "url": "http://prometheus:9090", "query": "sum(rate(errors_total[1m]))",
///     "op": "lt", "threshold": 0.5, "check_interval": "10s"}"#).unwrap();
/// assert!(matches!(g, flag_sdk::wire::Guard::Prometheus { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Guard {
    /// Passes while `GET url` answers 2xx; any other status fails it.
    Http {
        /// `http://` or `https://`.
        #[cfg_attr(feature = "openapi", schema(pattern = "^https?://"))]
        url: String,
        /// How often to check (`1s` to `1h`, default `10s`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check_interval: Option<String>,
    },
    /// Passes while every sample of the instant query `query` at Prometheus `url`
    /// (`/api/v1/query` is appended) holds `value <op> threshold`. No sample fails it unless
    /// `no_data_passes`.
    Prometheus {
        /// Prometheus's base URL, `http://` or `https://`.
        #[cfg_attr(feature = "openapi", schema(pattern = "^https?://"))]
        url: String,
        /// A PromQL instant query.
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
        query: String,
        /// The comparison.
        op: GuardOp,
        /// The threshold.
        threshold: f64,
        /// Whether a query with no sample passes (default: it fails).
        #[serde(default)]
        no_data_passes: bool,
        /// How often to check (`1s` to `1h`, default `10s`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check_interval: Option<String>,
    },
}

/// The body of `POST /environments/{env}/flags/{key}/release`.
///
/// ```
/// let r: flag_sdk::wire::ReleaseRequest = serde_json::from_str(
///     r#"{"steps": [1, 5, 25, 100], "interval": "10m"}"#).unwrap();
/// assert_eq!(r.steps.len(), 4);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseRequest {
    /// The percentages, increasing, each above 0.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub steps: Vec<Percentage>,
    /// The time between steps (`1s` to `30d`, e.g. `10m`); the plan is complete one interval
    /// after its last step.
    #[cfg_attr(feature = "openapi", schema(example = "10m"))]
    pub interval: String,
    /// What to watch; without one the plan only waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<Guard>,
    /// The percentage a failed guard sets (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<Percentage>,
    /// Why; part of every step's audit reason (visible ASCII, at most 512 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 512, pattern = "^[\\x20-\\x7e]*$")
    )]
    pub reason: Option<String>,
}

/// Where a release plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReleaseStatus {
    /// Raising the percentage step by step.
    Running,
    /// Stopped by a person or by a guard that could not be checked; `resume` goes on.
    Paused,
    /// Every step applied and the last interval passed.
    Completed,
    /// A guard failed; the flag was set to `rollback_to`.
    RolledBack,
    /// Stopped by a person; the flag was left as it was.
    Aborted,
}

impl ReleaseStatus {
    /// Running or paused: the plan may still change the flag.
    pub fn is_active(self) -> bool {
        matches!(self, ReleaseStatus::Running | ReleaseStatus::Paused)
    }
}

/// The result of one guard check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GuardCheck {
    /// When.
    pub at: DateTime<Utc>,
    /// `pass`, `fail` (the guard said no), or `error` (it could not be asked).
    pub outcome: String,
    /// What was seen: the status, the value, the error.
    pub detail: String,
}

/// A release plan as the server answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleasePlan {
    /// Its id (`rel_` and 16 hex digits); every audit reason of the plan names it.
    pub id: String,
    /// The flag's key.
    pub key: String,
    /// The percentages.
    pub steps: Vec<Percentage>,
    /// The time between steps, as given.
    pub interval: String,
    /// The guard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<Guard>,
    /// What a failed guard sets.
    pub rollback_to: Percentage,
    /// Why.
    pub reason: Option<String>,
    /// Who started it (the actor of its audit entries).
    pub created_by: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// Where it is.
    pub status: ReleaseStatus,
    /// How many steps are applied.
    pub step: usize,
    /// When the next step (or, after the last, completion) is due, while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<DateTime<Utc>>,
    /// The latest guard check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<GuardCheck>,
    /// Why it paused, rolled back or stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Who paused, resumed or aborted it last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// `GET /environments/{env}/releases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseList {
    /// The environment.
    pub environment: String,
    /// The latest plan of each flag that had one, by key.
    pub releases: Vec<ReleasePlan>,
}
