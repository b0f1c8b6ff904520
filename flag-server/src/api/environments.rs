//! `GET /environments`, `PUT /environments/{env}` (idempotent create), `DELETE /environments/{env}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use flag_sdk::wire::{EnvironmentInfo, EnvironmentList};
use flag_sdk::EnvName;

use super::json_response;
use crate::auth::Admin;
use crate::error::Result;
use crate::hub::EnvView;
use crate::openapi::params::EnvPath;
use crate::state::AppState;

/// The wire form of an environment's view.
fn info(v: &EnvView) -> EnvironmentInfo {
    EnvironmentInfo {
        name: v.environment.to_string(),
        version: v.version,
        flags: v.snapshot.len(),
    }
}

/// Lists the environments.
#[utoipa::path(
    get, path = "/api/v1/environments", tag = "environments",
    responses(
        (status = 200, description = "Every environment with its version and flag count", body = EnvironmentList),
    )
)]
pub async fn list(_admin: Admin, state: web::Data<AppState>) -> Result<HttpResponse> {
    let environments = state
        .service
        .environments()
        .await?
        .iter()
        .map(|view| info(view))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &EnvironmentList { environments },
    ))
}

/// Creates an environment; 201 when created, 200 when it existed already.
#[utoipa::path(
    put, path = "/api/v1/environments/{env}", tag = "environments",
    params(EnvPath),
    responses(
        (status = 201, description = "Created", body = EnvironmentInfo),
        (status = 200, description = "Existed already", body = EnvironmentInfo),
        (status = 400, description = "Invalid name"),
    )
)]
pub async fn create(
    _admin: Admin,
    path: web::Path<EnvName>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let (created, view) = state.service.create_environment(&env).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &info(&view)))
}

/// Deletes an environment with its flags, history and SDK keys.
#[utoipa::path(
    delete, path = "/api/v1/environments/{env}", tag = "environments",
    params(EnvPath),
    responses(
        (status = 204, description = "Deleted"),
    )
)]
pub async fn delete(
    _admin: Admin,
    path: web::Path<EnvName>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    state.service.delete_environment(&env).await?;
    Ok(HttpResponse::NoContent().finish())
}
