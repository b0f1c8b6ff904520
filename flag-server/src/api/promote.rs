//! `POST /environments/{env}/flags/{key}/promote?dry_run=`: copies a flag's definition from
//! another environment (`from`) to `{env}`. Answers the plan; when not a dry run, carries it out
//! in one write. A thin adapter over [`crate::service::Service::promote`].

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use flag_sdk::wire::{PromoteRequest, Promotion};
use flag_sdk::{EnvName, FlagKey, ValidationErrors};
use serde::Deserialize;
use utoipa::IntoParams;

use super::input::{change_meta, expect_object, if_match, parse_json, JsonBytes};
use super::query::{self, Query};
use crate::auth::Admin;
use crate::error::{ApiError, Result};
use crate::openapi::params::{FlagPath, WriteHeaders};
use crate::service::{Promote, PromoteError};
use crate::state::AppState;

/// Query parameters of a promotion.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PromoteQuery {
    /// Only answer the plan; change nothing. Default false.
    #[serde(default, deserialize_with = "query::flag")]
    pub dry_run: bool,
}

impl From<PromoteError> for ApiError {
    fn from(e: PromoteError) -> Self {
        match e {
            PromoteError::Service(e) => e.into(),
            PromoteError::SameEnvironment(_) => {
                ApiError::Invalid(ValidationErrors::single("from", e.to_string()))
            }
            PromoteError::MissingReferences { .. } | PromoteError::Inconsistent { .. } => {
                ApiError::Conflict(e.to_string())
            }
            PromoteError::TargetMissing { .. } => ApiError::PreconditionFailed(e.to_string()),
        }
    }
}

/// Copies a flag's definition from the environment `from` to this one.
///
/// Every field of the flag is copied (rules, percentage, variants, serves, prerequisites, tags,
/// owner, description, expires_at, stickiness, salt) except `enabled`: the target's own is kept
/// unless the body sets it (a flag new to the target arrives disabled). The audit entry's
/// reason is `promoted from <from>`, followed by `: <X-Change-Reason>` when one is given.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/flags/{key}/promote", tag = "flags",
    params(FlagPath, PromoteQuery, WriteHeaders),
    request_body(content = PromoteRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The plan (carried out unless dry_run, or unchanged): the fields that change and the target's flag after", body = Promotion),
        (status = 400, description = "Invalid body, or `from` names the target environment"),
        (status = 404, description = "No such environment (the target or `from`), or no such flag in `from`; the detail names which"),
        (status = 409, description = "The flag uses segments or prerequisite flags the target does not have, or would break a flag of the target; the detail names them. Nothing written"),
        (status = 412, description = "The target's flag is not at the If-Match version (or does not exist)"),
    )
)]
pub async fn promote(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    query: Query<PromoteQuery>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    let Query(query) = query;
    expect_object(&body.0)?;
    let request: PromoteRequest = parse_json(&body.0)?;
    let expected = if_match(&req)?;
    let meta = change_meta(&req, &admin)?;
    let promotion: Promotion = state
        .service
        .promote(
            &Promote {
                key: &key,
                from: &request.from,
                to: &env,
                enabled: request.enabled,
                expected,
                dry_run: query.dry_run,
            },
            &meta,
        )
        .await?;
    Ok(super::json_response(StatusCode::OK, &promotion))
}
