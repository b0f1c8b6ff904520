//! Flag CRUD of one environment: list, create, get, replace, merge-patch, delete.
//!
//! Reads come from the hub's memory; writes go through one atomic `Store::write` and the
//! changes it returns are applied to the hub before answering (read-your-writes).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use flag_sdk::{EnvName, Flag, FlagInput, FlagKey, ValidationErrors};
use serde::Serialize;

use super::input::{change_meta, env_name, flag_key, if_match, JsonBytes};
use super::AppState;
use crate::auth::Admin;
use crate::error::{Error, Result};
use crate::store::{Change, ChangeEvent, ChangeMeta, FlagUsage, WriteOp};

/// How often a PATCH without `If-Match` retries when a concurrent write got in first.
const PATCH_ATTEMPTS: usize = 20;

/// A flag as admins see it: the flag's fields plus `usage` (evaluation counts reported by SDKs).
#[derive(Serialize)]
pub(crate) struct AdminFlag<'a> {
    #[serde(flatten)]
    flag: &'a Flag,
    usage: FlagUsage,
}

#[derive(Serialize)]
struct FlagList<'a> {
    environment: &'a str,
    version: u64,
    flags: Vec<AdminFlag<'a>>,
}

fn flag_response(status: StatusCode, flag: &Flag, usage: Option<FlagUsage>) -> HttpResponse {
    let body = match usage {
        Some(usage) => serde_json::to_vec(&AdminFlag { flag, usage }),
        None => serde_json::to_vec(flag),
    };
    match body {
        Ok(body) => HttpResponse::build(status)
            .content_type("application/json")
            .insert_header((header::ETAG, format!("\"{}\"", flag.version)))
            .body(body),
        Err(e) => actix_web::ResponseError::error_response(&Error::Internal(e.to_string())),
    }
}

fn flag_not_found(env: &EnvName, key: &str) -> Error {
    Error::NotFound(format!(
        "flag {key:?} does not exist in environment \"{env}\""
    ))
}

/// Writes ops and applies the resulting changes to the hub.
pub(crate) async fn write(
    state: &AppState,
    env: &EnvName,
    ops: Vec<WriteOp>,
    meta: &ChangeMeta,
) -> Result<Vec<Change>> {
    let changes = state.store.write(env, ops, meta).await?;
    if let Err(e) = state.hub.apply(changes.clone()).await {
        // Written, but not yet visible here: the follower will catch up.
        tracing::warn!(environment = %env, error = %e, "applying a write to memory failed");
    }
    Ok(changes)
}

fn written_flag(changes: &[Change]) -> Result<&Flag> {
    match changes.last().map(|c| &c.event) {
        Some(ChangeEvent::Put { flag }) => Ok(flag),
        _ => Err(Error::Internal(
            "the store returned no flag for a write".into(),
        )),
    }
}

/// Parses a flag body; its key must equal `path_key` when one is given.
fn parse_flag(bytes: &[u8], path_key: Option<&FlagKey>) -> Result<Flag> {
    // Malformed JSON is reported as such; type errors and unknown fields with their path.
    super::input::expect_object(bytes)?;
    let value: serde_json::Value = super::input::parse_json(bytes)?;
    let input = FlagInput::from_value(value)?;
    check_key(&input, path_key)?;
    Ok(input.validate()?)
}

fn check_key(input: &FlagInput, path_key: Option<&FlagKey>) -> Result<()> {
    match path_key {
        Some(k) if input.key != k.as_str() => Err(Error::Invalid(ValidationErrors::single(
            "key",
            format!(
                "the body's key {:?} differs from the key {:?} in the path",
                input.key,
                k.as_str()
            ),
        ))),
        _ => Ok(()),
    }
}

/// Lists the flags of an environment with its version.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/flags", tag = "flags",
    security(("bearer" = [])),
    params(("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The flags, sorted by key, each with its usage", body = crate::openapi::FlagListDoc),
        (status = 404, description = "No such environment", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _admin: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = env_name(&path)?;
    let view = state.hub.fresh_view(&env).await?;
    let usage = state.store.usage(&env).await?;
    let flags = view
        .flags()
        .into_iter()
        .map(|flag| AdminFlag {
            usage: usage.get(flag.key.as_str()).copied().unwrap_or_default(),
            flag,
        })
        .collect();
    Ok(super::json_response(
        StatusCode::OK,
        &FlagList {
            environment: env.as_str(),
            version: view.version,
            flags,
        },
    ))
}

/// Creates a flag; 409 when the key exists.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/flags", tag = "flags",
    security(("bearer" = [])),
    params(("env" = String, Path, description = "Environment name"),
           ("X-Change-Reason" = Option<String>, Header, description = "Why, for the audit log")),
    request_body(content = crate::openapi::FlagInputDoc, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `ETag` is its version", body = crate::openapi::FlagDoc),
        (status = 400, description = "Invalid flag", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key exists", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; nothing written", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = env_name(&path)?;
    let flag = parse_flag(&body.0, None)?;
    let meta = change_meta(&req, &admin)?;
    // Caught up with the store first (one round trip): a store that went back to an older
    // state is brought forward before anything is written on top of it.
    state.hub.fresh_view(&env).await?;
    let key = flag.key.clone();
    let changes = write(&state, &env, vec![WriteOp::Create(flag)], &meta)
        .await
        .map_err(|e| match e {
            Error::Conflict(_) => Error::Conflict(format!(
                "flag {:?} exists already in environment \"{env}\"",
                key.as_str()
            )),
            e => e,
        })?;
    let flag = written_flag(&changes)?;
    let mut res = flag_response(StatusCode::CREATED, flag, None);
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
    security(("bearer" = [])),
    params(("env" = String, Path, description = "Environment name"), ("key" = String, Path, description = "Flag key")),
    responses(
        (status = 200, description = "The flag; `ETag` is its version", body = crate::openapi::AdminFlagDoc),
        (status = 404, description = "No such environment or flag", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    _admin: Admin,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = env_name(&path.0)?;
    let key = flag_key(&path.1)?;
    let view = state.hub.fresh_view(&env).await?;
    let flag = view
        .snapshot
        .flag(key.as_str())
        .ok_or_else(|| flag_not_found(&env, key.as_str()))?;
    let usage = state.store.usage(&env).await?;
    Ok(flag_response(
        StatusCode::OK,
        flag,
        Some(usage.get(key.as_str()).copied().unwrap_or_default()),
    ))
}

/// Replaces (or creates) a flag; with `If-Match`, only when its version is still that one.
#[utoipa::path(
    put, path = "/api/v1/environments/{env}/flags/{key}", tag = "flags",
    security(("bearer" = [])),
    params(("env" = String, Path, description = "Environment name"), ("key" = String, Path, description = "Flag key"),
           ("If-Match" = Option<String>, Header, description = "The version read (its ETag), e.g. \"7\""),
           ("X-Change-Reason" = Option<String>, Header, description = "Why, for the audit log")),
    request_body(content = crate::openapi::FlagInputDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = crate::openapi::FlagDoc),
        (status = 201, description = "Created (no such flag and no If-Match)", body = crate::openapi::FlagDoc),
        (status = 400, description = "Invalid flag, or the body's key differs from the path's", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "The flag changed since the If-Match version", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; nothing written", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replace(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = env_name(&path.0)?;
    let key = flag_key(&path.1)?;
    let flag = parse_flag(&body.0, Some(&key))?;
    let expected = if_match(&req)?;
    let meta = change_meta(&req, &admin)?;
    let view = state.hub.fresh_view(&env).await?;
    let existed = view.snapshot.flag(key.as_str()).is_some();
    let changes = write(&state, &env, vec![WriteOp::Put { flag, expected }], &meta)
        .await
        .map_err(|e| stale(e, &env, &key, expected))?;
    let status = if existed || expected.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(flag_response(status, written_flag(&changes)?, None))
}

fn stale(e: Error, env: &EnvName, key: &FlagKey, expected: Option<u64>) -> Error {
    match (e, expected) {
        (Error::PreconditionFailed(_), Some(v)) => Error::PreconditionFailed(format!(
            "flag {:?} is no longer at version {v}: read it again and retry",
            key.as_str()
        )),
        (Error::NotFound(_), _) => flag_not_found(env, key.as_str()),
        (e, _) => e,
    }
}

/// Applies a JSON merge patch (RFC 7386), e.g. `{"enabled": false}`; `If-Match` as PUT.
#[utoipa::path(
    patch, path = "/api/v1/environments/{env}/flags/{key}", tag = "flags",
    security(("bearer" = [])),
    params(("env" = String, Path, description = "Environment name"), ("key" = String, Path, description = "Flag key"),
           ("If-Match" = Option<String>, Header, description = "The version read (its ETag)"),
           ("X-Change-Reason" = Option<String>, Header, description = "Why, for the audit log")),
    request_body(content = crate::openapi::FlagPatchDoc, description = "A JSON merge patch of the flag's fields", content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Patched", body = crate::openapi::FlagDoc),
        (status = 400, description = "Invalid patch or resulting flag", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such flag", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "The flag changed since the If-Match version", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = env_name(&path.0)?;
    let key = flag_key(&path.1)?;
    let patch: serde_json::Value = super::input::parse_json(&body.0)?;
    if !patch.is_object() {
        return Err(Error::BadRequest(
            "a merge patch is a JSON object of the fields to change, e.g. {\"enabled\": false}"
                .into(),
        ));
    }
    let wanted = if_match(&req)?;
    let meta = change_meta(&req, &admin)?;
    state.hub.view_or_load(&env).await?;
    for attempt in 0..PATCH_ATTEMPTS {
        let view = state.hub.view_or_load(&env).await?;
        let mut current = view.snapshot.flag(key.as_str()).cloned();
        let looks_stale = match (&current, wanted) {
            (None, _) => true,
            (Some(c), Some(v)) => c.version != v,
            (Some(_), None) => false,
        };
        if looks_stale && attempt == 0 {
            // Memory may lag behind another instance: look again before saying 404 or 412.
            state.hub.sync(&env).await?;
            let view = state.hub.view_or_load(&env).await?;
            current = view.snapshot.flag(key.as_str()).cloned();
        }
        let current = current.ok_or_else(|| flag_not_found(&env, key.as_str()))?;
        let expected = wanted.unwrap_or(current.version);
        if current.version != expected {
            return Err(stale(
                Error::PreconditionFailed(String::new()),
                &env,
                &key,
                Some(expected),
            ));
        }
        let flag = merged(&current, &patch, &key)?;
        let op = WriteOp::Put {
            flag,
            expected: Some(expected),
        };
        match write(&state, &env, vec![op], &meta).await {
            Ok(changes) => return Ok(flag_response(StatusCode::OK, written_flag(&changes)?, None)),
            Err(Error::PreconditionFailed(_)) if wanted.is_none() => {
                // Someone else wrote first: patch their version instead.
                state.hub.sync(&env).await?;
            }
            Err(e) => return Err(stale(e, &env, &key, Some(expected))),
        }
    }
    Err(Error::PreconditionFailed(format!(
        "flag {:?} kept changing under concurrent writes; try again",
        key.as_str()
    )))
}

/// The flag with a merge patch applied, validated.
fn merged(current: &Flag, patch: &serde_json::Value, key: &FlagKey) -> Result<Flag> {
    let mut doc = current.to_value();
    json_patch::merge(&mut doc, patch);
    if let Some(obj) = doc.as_object_mut() {
        for server_field in ["version", "updated_at", "updated_by"] {
            obj.remove(server_field);
        }
    }
    let input = FlagInput::from_value(doc)?;
    check_key(&input, Some(key))?;
    Ok(input.validate()?)
}

/// Deletes a flag; `If-Match` as PUT.
#[utoipa::path(
    delete, path = "/api/v1/environments/{env}/flags/{key}", tag = "flags",
    security(("bearer" = [])),
    params(("env" = String, Path, description = "Environment name"), ("key" = String, Path, description = "Flag key"),
           ("If-Match" = Option<String>, Header, description = "The version read (its ETag)"),
           ("X-Change-Reason" = Option<String>, Header, description = "Why, for the audit log")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such flag", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "The flag changed since the If-Match version", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = env_name(&path.0)?;
    let key = flag_key(&path.1)?;
    let expected = if_match(&req)?;
    let meta = change_meta(&req, &admin)?;
    state.hub.fresh_view(&env).await?;
    write(
        &state,
        &env,
        vec![WriteOp::Delete {
            key: key.clone(),
            expected,
        }],
        &meta,
    )
    .await
    .map_err(|e| stale(e, &env, &key, expected))?;
    Ok(HttpResponse::NoContent().finish())
}
