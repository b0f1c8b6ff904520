//! Flag CRUD of one environment: list (with the stale filters), create, get, replace,
//! merge-patch, delete.
//!
//! Thin adapters over [`crate::service::Service`]: reads come from the hub's memory (caught up
//! with the store), writes go through the service, which applies them to the hub before
//! answering (read-your-writes).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use flag_sdk::wire::{self, FlagList, StoredFlag};
use flag_sdk::{EnvName, Flag, FlagInput, FlagKey, FlagSpec, StaleDays, StaleFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use super::input::{change_meta, if_match, JsonBytes};
use super::query::{self, Query};
use crate::auth::Admin;
use crate::error::{ApiError, Result};
use crate::openapi::params::{ChangeHeaders, EnvPath, FlagPath, WriteHeaders};
use crate::service::{check_key, ServiceError};
use crate::state::AppState;
use crate::store::FlagUsage;

/// A flag as answered: its fields, plus `usage` (evaluation counts reported by SDKs) in
/// admin reads.
fn stored(flag: &Flag, usage: Option<FlagUsage>) -> StoredFlag {
    StoredFlag {
        flag: flag.clone(),
        usage: usage.map(|u| wire::FlagUsage {
            yes: u.yes,
            no: u.no,
            last_evaluated: u.last_evaluated,
        }),
        stale: None,
    }
}

/// The stale filters of the flag list; several are ANDed. With any of them, each listed flag
/// has `stale`: the reasons that hold.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StaleQuery {
    /// Only flags no SDK evaluated in the last N days (1 to 3650): last evaluated at least N
    /// days ago, or never evaluated and unchanged for N days (a new flag is not stale).
    #[param(value_type = Option<u16>, minimum = 1, maximum = 3650)]
    #[serde(default, deserialize_with = "query::days")]
    pub not_evaluated_days: Option<StaleDays>,
    /// `true`: only flags past their `expires_at` (`false` is the same as leaving it out).
    #[param(value_type = Option<bool>)]
    #[serde(default, deserialize_with = "query::flag")]
    pub expired: bool,
    /// Only flags that serve the same to every context and are unchanged for N days (1 to
    /// 3650): disabled; a boolean flag at 0% (or at 100%) in every rule and the default; a
    /// flag of another type that serves one variant, with no split, in every rule and the
    /// default. With prerequisites, the off variant must be that one too.
    #[param(value_type = Option<u16>, minimum = 1, maximum = 3650)]
    #[serde(default, deserialize_with = "query::days")]
    pub settled_days: Option<StaleDays>,
    /// Only flags that are stale in any of the three ways, each with N days (1 to 3650).
    #[param(value_type = Option<u16>, minimum = 1, maximum = 3650)]
    #[serde(default, deserialize_with = "query::days")]
    pub stale_days: Option<StaleDays>,
}

impl StaleQuery {
    fn filter(&self) -> StaleFilter {
        StaleFilter {
            not_evaluated_days: self.not_evaluated_days,
            expired: self.expired,
            settled_days: self.settled_days,
            stale_days: self.stale_days,
        }
    }
}

fn flag_response(status: StatusCode, flag: &Flag, usage: Option<FlagUsage>) -> HttpResponse {
    match serde_json::to_vec(&stored(flag, usage)) {
        Ok(body) => HttpResponse::build(status)
            .content_type("application/json")
            .insert_header((header::ETAG, format!("\"{}\"", flag.version)))
            .body(body),
        Err(e) => actix_web::ResponseError::error_response(&ApiError::Internal(e.to_string())),
    }
}

/// Parses a flag body; its key must equal `path_key` when one is given.
fn parse_flag(bytes: &[u8], path_key: Option<&FlagKey>) -> Result<FlagSpec> {
    // Malformed JSON is reported as such; type errors and unknown fields with their path.
    super::input::expect_object(bytes)?;
    let value: serde_json::Value = super::input::parse_json(bytes)?;
    let input = FlagInput::from_value(value)?;
    check_key(&input, path_key)?;
    Ok(input.validate()?)
}

/// Lists the flags of an environment with its version; the stale filters keep the flags
/// whose code can probably be deleted.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/flags", tag = "flags",
    params(EnvPath, StaleQuery),
    responses(
        (status = 200, description = "The flags, sorted by key, each with its usage (and, with a stale filter, only the stale ones, each with `stale`)", body = FlagList),
        (status = 400, description = "Bad input: a parameter that is not valid (a stale filter's day count outside 1 to 3650, an `expired` other than true or false, an unknown query parameter)"),
    )
)]
pub async fn list(
    _admin: Admin,
    path: web::Path<EnvName>,
    query: Query<StaleQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let filter = query.0.filter();
    let view = state.service.environment(&env).await?;
    let usage = state.service.usage(&env).await?;
    let now = Utc::now();
    let flags = view
        .flags()
        .into_iter()
        .filter_map(|flag| {
            let counts = usage.get(flag.key.as_str()).copied().unwrap_or_default();
            let stale = if filter.is_active() {
                Some(filter.check(flag, counts.last_evaluated, now)?)
            } else {
                None
            };
            Some(StoredFlag {
                stale,
                ..stored(flag, Some(counts))
            })
        })
        .collect();
    Ok(super::json_response(
        StatusCode::OK,
        &FlagList {
            environment: env.to_string(),
            version: view.version,
            flags,
        },
    ))
}

/// Creates a flag; 409 when the key exists.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/flags", tag = "flags",
    params(EnvPath, ChangeHeaders),
    request_body(content = crate::openapi::FlagInputDoc, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `ETag` is its version", body = Flag),
        (status = 400, description = "Invalid flag"),
        (status = 409, description = "The key exists"),
    )
)]
pub async fn create(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<EnvName>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let flag = parse_flag(&body.0, None)?;
    let meta = change_meta(&req, &admin)?;
    let flag = state.service.create_flag(&env, flag, &meta).await?;
    let mut res = flag_response(StatusCode::CREATED, &flag, None);
    if let Ok(location) =
        header::HeaderValue::from_str(&format!("/api/v1/environments/{env}/flags/{}", flag.key))
    {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// One flag with its usage; `ETag` is its version.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/flags/{key}", tag = "flags",
    params(FlagPath),
    responses(
        (status = 200, description = "The flag; `ETag` is its version", body = StoredFlag),
    )
)]
pub async fn get(
    _admin: Admin,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    let view = state.service.environment(&env).await?;
    let flag = view.snapshot.flag(key.as_str()).ok_or_else(|| {
        ApiError::from(ServiceError::FlagNotFound {
            env: env.clone(),
            key: key.to_string(),
        })
    })?;
    let usage = state.service.usage(&env).await?;
    Ok(flag_response(
        StatusCode::OK,
        flag,
        Some(usage.get(key.as_str()).copied().unwrap_or_default()),
    ))
}

/// Replaces (or creates) a flag; with `If-Match`, only when its version is still that one.
#[utoipa::path(
    put, path = "/api/v1/environments/{env}/flags/{key}", tag = "flags",
    params(FlagPath, WriteHeaders),
    request_body(content = crate::openapi::FlagInputDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = Flag),
        (status = 201, description = "Created (no such flag and no If-Match)", body = Flag),
        (status = 400, description = "Invalid flag, or the body's key differs from the path's"),
        (status = 412, description = "The flag changed since the If-Match version"),
    )
)]
pub async fn replace(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    let flag = parse_flag(&body.0, Some(&key))?;
    let expected = if_match(&req)?;
    let meta = change_meta(&req, &admin)?;
    let (flag, created) = state.service.put_flag(&env, flag, expected, &meta).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(flag_response(status, &flag, None))
}

/// Applies a JSON merge patch (RFC 7386), e.g. `{"enabled": false}`; `If-Match` as PUT.
#[utoipa::path(
    patch, path = "/api/v1/environments/{env}/flags/{key}", tag = "flags",
    params(FlagPath, WriteHeaders),
    request_body(content = crate::openapi::FlagPatchDoc, description = "A JSON merge patch of the flag's fields", content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Patched", body = Flag),
        (status = 400, description = "Invalid patch or resulting flag"),
        (status = 412, description = "The flag changed since the If-Match version"),
    )
)]
pub async fn patch(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    let patch: serde_json::Value = super::input::parse_json(&body.0)?;
    if !patch.is_object() {
        return Err(ApiError::BadRequest(
            "a merge patch is a JSON object of the fields to change, e.g. {\"enabled\": false}"
                .into(),
        ));
    }
    let wanted = if_match(&req)?;
    let meta = change_meta(&req, &admin)?;
    let flag = state
        .service
        .patch_flag(&env, &key, &patch, wanted, &meta)
        .await?;
    Ok(flag_response(StatusCode::OK, &flag, None))
}

/// Deletes a flag; `If-Match` as PUT.
#[utoipa::path(
    delete, path = "/api/v1/environments/{env}/flags/{key}", tag = "flags",
    params(FlagPath, WriteHeaders),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The flag is a prerequisite of other flags; the detail names them"),
        (status = 412, description = "The flag changed since the If-Match version"),
    )
)]
pub async fn delete(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    let expected = if_match(&req)?;
    let meta = change_meta(&req, &admin)?;
    state
        .service
        .delete_flag(&env, &key, expected, &meta)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
