//! The SSE stream (contract section 4, "Stream"): `GET /environments/{env}/stream` for admins
//! and `GET /sdk/stream` for SDK keys. Built on [`crate::hub::Hub::subscribe`].
//!
//! Placeholder: the stream's body is written separately; until then both routes answer 404.

use actix_web::{web, HttpRequest, HttpResponse};

use super::input::env_name;
use super::AppState;
use crate::auth::{Admin, SdkClient};
use crate::error::{Error, Result};

/// The stream of one environment, for admins (CLI `watch`, UI).
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/stream", tag = "stream",
    security(("bearer" = [])),
    params(("env" = String, Path, description = "Environment name"),
           ("Last-Event-ID" = Option<String>, Header, description = "Resume after this version")),
    responses((status = 200, description = "Server-Sent Events: snapshot, put, delete, heartbeat comments", content_type = "text/event-stream", body = String))
)]
pub async fn environment_stream(
    _admin: Admin,
    path: web::Path<String>,
    _req: HttpRequest,
    _state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let _env = env_name(&path)?;
    Err(Error::NotFound("the stream is not available yet".into()))
}

/// The stream of the SDK key's environment.
#[utoipa::path(
    get, path = "/api/v1/sdk/stream", tag = "sdk",
    security(("bearer" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this version")),
    responses((status = 200, description = "Server-Sent Events: snapshot, put, delete, heartbeat comments", content_type = "text/event-stream", body = String))
)]
pub async fn sdk_stream(
    _client: SdkClient,
    _req: HttpRequest,
    _state: web::Data<AppState>,
) -> Result<HttpResponse> {
    Err(Error::NotFound("the stream is not available yet".into()))
}
