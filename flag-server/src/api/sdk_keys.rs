//! SDK keys of an environment: issue (the secret is shown once), list (no secrets), revoke.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use flag_sdk::wire::{IssuedSdkKey, NewSdkKey, SdkKeyInfo, SdkKeyList};
use flag_sdk::EnvName;

use super::input::{expect_object, parse_json, OptionalJsonBytes};
use crate::auth::Admin;
use crate::error::{ApiError, Result};
use crate::openapi::params::{EnvPath, SdkKeyPath};
use crate::state::AppState;
use crate::store::SdkKeyRecord;

/// Longest key name, in characters.
const MAX_NAME_LEN: usize = 128;

/// The wire form of a stored key: never its secret, nor its hash.
fn key_info(k: &SdkKeyRecord) -> SdkKeyInfo {
    SdkKeyInfo {
        id: k.id.clone(),
        environment: k.environment.to_string(),
        name: k.name.clone(),
        created_at: k.created_at,
        created_by: k.created_by.clone(),
    }
}

/// Issues an SDK key for the environment.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/sdk-keys", tag = "sdk-keys",
    params(EnvPath),
    request_body(content = Option<NewSdkKey>, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; the secret is in `key`, shown once", body = IssuedSdkKey),
    )
)]
pub async fn create(
    admin: Admin,
    path: web::Path<EnvName>,
    body: OptionalJsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    // No body and a JSON `null` both mean the defaults.
    let request: NewSdkKey = match body.0 {
        Some(b) if b.trim_ascii() != b"null" => {
            expect_object(&b)?;
            parse_json(&b)?
        }
        _ => NewSdkKey::default(),
    };
    let name = request.name.unwrap_or_else(|| "sdk-key".into());
    if name.chars().count() > MAX_NAME_LEN || name.trim().is_empty() {
        return Err(ApiError::Invalid(flag_sdk::ValidationErrors::single(
            "name",
            format!("must be 1 to {MAX_NAME_LEN} characters, not only spaces"),
        )));
    }
    let name = name.trim().to_owned();
    let (record, secret) = state.service.issue_sdk_key(&env, name, &admin.name).await?;
    Ok(super::json_response(
        StatusCode::CREATED,
        &IssuedSdkKey {
            info: key_info(&record),
            key: secret,
        },
    ))
}

/// Lists the environment's SDK keys (no secrets, no hashes).
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/sdk-keys", tag = "sdk-keys",
    params(EnvPath),
    responses(
        (status = 200, description = "The keys", body = SdkKeyList),
    )
)]
pub async fn list(
    _admin: Admin,
    path: web::Path<EnvName>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let keys = state
        .service
        .sdk_keys(&env)
        .await?
        .iter()
        .map(key_info)
        .collect();
    Ok(super::json_response(StatusCode::OK, &SdkKeyList { keys }))
}

/// Revokes an SDK key: it stops working at once on this instance, within seconds elsewhere.
#[utoipa::path(
    delete, path = "/api/v1/environments/{env}/sdk-keys/{id}", tag = "sdk-keys",
    params(SdkKeyPath),
    responses(
        (status = 204, description = "Revoked"),
    )
)]
pub async fn revoke(
    admin: Admin,
    path: web::Path<(EnvName, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let (env, id) = path.into_inner();
    state.service.revoke_sdk_key(&env, &id, &admin.name).await?;
    Ok(HttpResponse::NoContent().finish())
}
