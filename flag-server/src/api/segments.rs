//! Segments of one environment: list, get, create or replace, delete.
//!
//! Thin adapters over [`crate::service::Service`], like the flag routes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use flag_sdk::wire::SegmentList;
use flag_sdk::{EnvName, FlagKey, Segment, SegmentInput, ValidationErrors};

use super::input::{change_meta, JsonBytes};
use crate::auth::Admin;
use crate::error::{ApiError, Result};
use crate::openapi::params::{ChangeHeaders, EnvPath, SegmentPath};
use crate::service::ServiceError;
use crate::state::AppState;

/// Parses a segment body; its key must equal the path's.
fn parse_segment(bytes: &[u8], path_key: &FlagKey) -> Result<Segment> {
    super::input::expect_object(bytes)?;
    let value: serde_json::Value = super::input::parse_json(bytes)?;
    let input = SegmentInput::from_value(value)?;
    if input.key != path_key.as_str() {
        return Err(ValidationErrors::single(
            "key",
            format!(
                "the body's key {:?} differs from the key {:?} in the path",
                input.key,
                path_key.as_str()
            ),
        )
        .into());
    }
    Ok(input.validate()?)
}

/// Lists the segments of an environment with its version.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/segments", tag = "segments",
    params(EnvPath),
    responses(
        (status = 200, description = "The segments, sorted by key", body = SegmentList),
    )
)]
pub async fn list(
    _admin: Admin,
    path: web::Path<EnvName>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let view = state.service.environment(&env).await?;
    let list = SegmentList {
        environment: env.to_string(),
        version: view.version,
        segments: view.snapshot.segments().into_iter().cloned().collect(),
    };
    Ok(super::json_response(StatusCode::OK, &list))
}

/// One segment.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/segments/{key}", tag = "segments",
    params(SegmentPath),
    responses(
        (status = 200, description = "The segment", body = Segment),
    )
)]
pub async fn get(
    _admin: Admin,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    let view = state.service.environment(&env).await?;
    let segment = view.snapshot.segment(key.as_str()).ok_or_else(|| {
        ApiError::from(ServiceError::SegmentNotFound {
            env: env.clone(),
            key: key.to_string(),
        })
    })?;
    Ok(super::json_response(StatusCode::OK, segment))
}

/// Creates or replaces a segment.
#[utoipa::path(
    put, path = "/api/v1/environments/{env}/segments/{key}", tag = "segments",
    params(SegmentPath, ChangeHeaders),
    request_body(content = crate::openapi::SegmentInputDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced", body = Segment),
        (status = 201, description = "Created", body = Segment),
        (status = 400, description = "Invalid segment, or the body's key differs from the path's"),
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
    let segment = parse_segment(&body.0, &key)?;
    let meta = change_meta(&req, &admin)?;
    let created = state
        .service
        .put_segment(&env, segment.clone(), &meta)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(super::json_response(status, &segment))
}

/// Deletes a segment; 409 while a flag's conditions use it.
#[utoipa::path(
    delete, path = "/api/v1/environments/{env}/segments/{key}", tag = "segments",
    params(SegmentPath, ChangeHeaders),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Flags use the segment; the detail names them"),
    )
)]
pub async fn delete(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(EnvName, FlagKey)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, key) = path.into_inner();
    let meta = change_meta(&req, &admin)?;
    state.service.delete_segment(&env, &key, &meta).await?;
    Ok(HttpResponse::NoContent().finish())
}
