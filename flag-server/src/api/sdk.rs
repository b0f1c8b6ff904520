//! The SDK API (the key names the environment): snapshot, server-side evaluation and usage
//! intake. Snapshot and evaluation are served from the hub's memory with no store round trip.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use flag_sdk::{Context, FlagKey, ValidationErrors};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;

use super::input::{if_none_match, Json};
use super::AppState;
use crate::auth::SdkClient;
use crate::error::{Error, Result};
use crate::hub::EnvView;

/// Most flags one metrics report may name.
pub const MAX_REPORTED_FLAGS: usize = 10_000;
/// Most flags one evaluation request may name.
pub const MAX_EVALUATED_FLAGS: usize = 10_000;

async fn view(state: &AppState, client: &SdkClient) -> Result<std::sync::Arc<EnvView>> {
    match state.hub.view(client.environment.as_str()) {
        Some(v) => Ok(v),
        None => state.hub.view_or_load(&client.environment).await,
    }
}

/// The snapshot of the key's environment; `If-None-Match` with its ETag gives 304.
#[utoipa::path(
    get, path = "/api/v1/sdk/flags", tag = "sdk",
    security(("bearer" = [])),
    params(("If-None-Match" = Option<String>, Header, description = "The ETag of the snapshot held")),
    responses(
        (status = 200, description = "`{environment, version, flags}`; the `ETag` (`\"<version>-<digest>\"`) changes with every version", body = crate::openapi::SnapshotDoc),
        (status = 304, description = "Not modified"),
        (status = 401, description = "No or unknown key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an SDK key", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn flags(
    client: SdkClient,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let view = view(&state, &client).await?;
    if if_none_match(&req, &view.etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, view.etag.as_str()))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, view.etag.as_str()))
        .body(view.body.clone()))
}

/// `{"context": {...}, "flags": ["a", "b"]}`; `flags` absent means every flag.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// The attributes evaluated against.
    #[serde(default)]
    pub context: Context,
    /// The keys to evaluate; all when absent.
    #[serde(default)]
    pub flags: Option<Vec<String>>,
}

struct Results<'a> {
    view: &'a EnvView,
    context: &'a Context,
    keys: Option<&'a [String]>,
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let snap = &self.view.snapshot;
        match self.keys {
            Some(keys) => {
                let mut map = s.serialize_map(Some(keys.len()))?;
                for key in keys {
                    map.serialize_entry(key, &snap.evaluate(key, self.context))?;
                }
                map.end()
            }
            None => {
                let mut map = s.serialize_map(Some(self.view.keys.len()))?;
                for key in &self.view.keys {
                    map.serialize_entry(&**key, &snap.evaluate(key, self.context))?;
                }
                map.end()
            }
        }
    }
}

#[derive(Serialize)]
struct EvaluateResponse<'a> {
    environment: &'a str,
    version: u64,
    results: Results<'a>,
}

/// Evaluates flags of the key's environment for a context, with reasons.
#[utoipa::path(
    post, path = "/api/v1/sdk/evaluate", tag = "sdk",
    security(("bearer" = [])),
    request_body(content = crate::openapi::EvaluateRequestDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "`{results: {key: evaluation}}`; unknown keys are `not_found`", body = crate::openapi::EvaluateResponseDoc),
        (status = 400, description = "Bad context", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn evaluate(
    client: SdkClient,
    body: Json<EvaluateRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let request = body.0;
    if request
        .flags
        .as_ref()
        .is_some_and(|f| f.len() > MAX_EVALUATED_FLAGS)
    {
        return Err(Error::Invalid(ValidationErrors::single(
            "flags",
            format!("at most {MAX_EVALUATED_FLAGS} flags per request"),
        )));
    }
    let view = view(&state, &client).await?;
    let response = EvaluateResponse {
        environment: view.environment.as_str(),
        version: view.version,
        results: Results {
            view: &view,
            context: &request.context,
            keys: request.flags.as_deref(),
        },
    };
    Ok(super::json_response(StatusCode::OK, &response))
}

/// Counts of one flag in a report.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Evaluations that answered true.
    #[serde(default)]
    pub yes: u64,
    /// Evaluations that answered false.
    #[serde(default)]
    pub no: u64,
}

/// `{"period_start","period_end","flags":{"a":{"yes":n,"no":m}}}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsReport {
    /// Start of the counting period.
    pub period_start: DateTime<Utc>,
    /// End of the counting period.
    pub period_end: DateTime<Utc>,
    /// Counts by flag key.
    pub flags: HashMap<String, Counts>,
}

/// Takes evaluation counts from an SDK; they show in the admin view of each flag. Counts
/// of keys that cannot name a flag are left out.
#[utoipa::path(
    post, path = "/api/v1/sdk/metrics", tag = "sdk",
    security(("bearer" = [])),
    request_body(content = MetricsReport, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted"),
        (status = 400, description = "Bad report", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn metrics(
    client: SdkClient,
    body: Json<MetricsReport>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let report = body.0;
    let mut errors = ValidationErrors::default();
    if report.period_end < report.period_start {
        errors.push("period_end", "must not be before period_start");
    }
    if report.flags.len() > MAX_REPORTED_FLAGS {
        errors.push(
            "flags",
            format!("at most {MAX_REPORTED_FLAGS} flags per report"),
        );
    }
    let mut counts = HashMap::with_capacity(report.flags.len());
    // A key that cannot name a flag (an application asked for a typo) is left out rather
    // than failing the whole report.
    let mut skipped = 0usize;
    for (key, c) in &report.flags {
        if FlagKey::parse(key.as_str()).is_ok() {
            counts.insert(key.clone(), (c.yes, c.no));
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        tracing::debug!(environment = %client.environment, skipped, "metrics for invalid flag keys left out");
    }
    errors.into_result()?;
    if !counts.is_empty() {
        state
            .store
            .record_usage(&client.environment, report.period_end, &counts)
            .await?;
    }
    Ok(HttpResponse::Accepted().finish())
}
