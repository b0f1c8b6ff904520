//! Scheduled changes and release plans of a flag (see [`crate::releases`]): thin adapters.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use flag_sdk::wire::{
    ReleaseList, ReleasePlan, ReleaseRequest, ScheduleList, ScheduleRequest, ScheduledChange,
};
use flag_sdk::{EnvName, FlagKey};
use utoipa::IntoParams;

use super::input::{change_meta, expect_object, parse_json, JsonBytes};
use crate::auth::Admin;
use crate::error::Result;
use crate::openapi::params::{ChangeHeaders, EnvPath, FlagPath};
use crate::releases::plan::{self, Control};
use crate::releases::schedule;
use crate::state::AppState;

/// One scheduled change of a flag.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SchedulePath {
    /// Environment name
    pub env: String,
    /// Flag key
    pub key: String,
    /// The scheduled change's id
    pub id: String,
}

/// The body's reason, or else `X-Change-Reason`.
fn reason(given: Option<String>, req: &HttpRequest, admin: &Admin) -> Result<Option<String>> {
    Ok(match given {
        Some(r) => Some(r),
        None => change_meta(req, admin)?.reason,
    })
}

/// Schedules a change of a flag: a merge patch applied once, at `at`.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/flags/{key}/schedule", tag = "releases",
    params(FlagPath, ChangeHeaders),
    request_body(content = ScheduleRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Scheduled", body = ScheduledChange),
        (status = 400, description = "`at` in the past, or the patch would not make a valid flag (field errors under `patch`)"),
        (status = 404, description = "No such environment or flag"),
    )
)]
pub async fn schedule(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    expect_object(&body.0)?;
    let mut request: ScheduleRequest = parse_json(&body.0)?;
    request.reason = reason(request.reason.take(), &req, &admin)?;
    let change = schedule::create(&state.service, &env, &key, request, &admin.name).await?;
    Ok(super::json_response(StatusCode::CREATED, &change))
}

/// The scheduled changes of a flag, by time (applied and failed ones for 7 days).
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/flags/{key}/schedule", tag = "releases",
    params(FlagPath),
    responses((status = 200, description = "The flag's scheduled changes", body = ScheduleList))
)]
pub async fn flag_schedules(
    _admin: Admin,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    let schedules = schedule::list(&state.service, &env, Some(&key)).await?;
    Ok(super::json_response(
        StatusCode::OK,
        &ScheduleList {
            environment: env.to_string(),
            schedules,
        },
    ))
}

/// Every scheduled change of an environment, by time.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/schedules", tag = "releases",
    params(EnvPath),
    responses((status = 200, description = "The environment's scheduled changes", body = ScheduleList))
)]
pub async fn schedules(
    _admin: Admin,
    path: web::Path<EnvName>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let schedules = schedule::list(&state.service, &env, None).await?;
    Ok(super::json_response(
        StatusCode::OK,
        &ScheduleList {
            environment: env.to_string(),
            schedules,
        },
    ))
}

/// Cancels a pending scheduled change.
#[utoipa::path(
    delete, path = "/api/v1/environments/{env}/flags/{key}/schedule/{id}", tag = "releases",
    params(SchedulePath),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 404, description = "No such scheduled change of this flag"),
        (status = 409, description = "It was applied (or tried) already"),
    )
)]
pub async fn cancel(
    admin: Admin,
    path: web::Path<(EnvName, FlagKey, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key, id) = path.into_inner();
    schedule::cancel(&state.service, &env, &key, &id, &admin.name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Starts a release plan: the server raises the flag's percentage step by step, checks the
/// guard, and sets the flag back when the guard fails.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/flags/{key}/release", tag = "releases",
    params(FlagPath, ChangeHeaders),
    request_body(content = ReleaseRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Started", body = ReleasePlan),
        (status = 400, description = "Invalid plan (field errors)"),
        (status = 404, description = "No such environment or flag"),
        (status = 409, description = "The flag has a running or paused plan"),
    )
)]
pub async fn start(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    expect_object(&body.0)?;
    let mut request: ReleaseRequest = parse_json(&body.0)?;
    request.reason = reason(request.reason.take(), &req, &admin)?;
    let plan = plan::start(&state.service, &env, &key, request, &admin.name).await?;
    Ok(super::json_response(StatusCode::CREATED, &plan))
}

/// The flag's latest release plan.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/flags/{key}/release", tag = "releases",
    params(FlagPath),
    responses(
        (status = 200, description = "The plan", body = ReleasePlan),
        (status = 404, description = "The flag never had a plan"),
    )
)]
pub async fn get(
    _admin: Admin,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    let plan = plan::get(&state.service, &env, &key).await?;
    Ok(super::json_response(StatusCode::OK, &plan))
}

/// The latest release plan of every flag that had one.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/releases", tag = "releases",
    params(EnvPath),
    responses((status = 200, description = "The plans, by key", body = ReleaseList))
)]
pub async fn list(
    _admin: Admin,
    path: web::Path<EnvName>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let releases = plan::list(&state.service, &env).await?;
    Ok(super::json_response(
        StatusCode::OK,
        &ReleaseList {
            environment: env.to_string(),
            releases,
        },
    ))
}

async fn control(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
    what: Control,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    // The reason goes into the plan's message (no flag changes, so no audit entry).
    let reason = change_meta(&req, &admin)?.reason;
    let plan = plan::control(
        &state.service,
        &env,
        &key,
        what,
        &admin.name,
        reason.as_deref(),
    )
    .await?;
    Ok(super::json_response(StatusCode::OK, &plan))
}

/// Pauses a running plan: no step and no guard check until it is resumed.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/flags/{key}/release/pause", tag = "releases",
    params(FlagPath, ChangeHeaders),
    responses(
        (status = 200, description = "Paused", body = ReleasePlan),
        (status = 404, description = "The flag has no plan"),
        (status = 409, description = "The plan is not running"),
    )
)]
pub async fn pause(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    control(admin, req, path, state, Control::Pause).await
}

/// Resumes a paused plan: the current step is watched for a whole interval before the next.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/flags/{key}/release/resume", tag = "releases",
    params(FlagPath, ChangeHeaders),
    responses(
        (status = 200, description = "Running again", body = ReleasePlan),
        (status = 404, description = "The flag has no plan"),
        (status = 409, description = "The plan is not paused"),
    )
)]
pub async fn resume(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    control(admin, req, path, state, Control::Resume).await
}

/// Aborts a running or paused plan; the flag stays where it is.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/flags/{key}/release/abort", tag = "releases",
    params(FlagPath, ChangeHeaders),
    responses(
        (status = 200, description = "Aborted", body = ReleasePlan),
        (status = 404, description = "The flag has no plan"),
        (status = 409, description = "The plan is over already"),
    )
)]
pub async fn abort(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    control(admin, req, path, state, Control::Abort).await
}
