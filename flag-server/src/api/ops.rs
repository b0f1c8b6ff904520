//! Ops endpoints, without a token: liveness, readiness, metrics and the OpenAPI document.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Result;
use crate::state::AppState;

/// The answer of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
    /// The store's kind (`redis`, `embedded`, or `edge` for a server following an upstream),
    /// on `/readyz`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<&'static str>,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> HttpResponse {
    super::json_response(
        StatusCode::OK,
        &Health {
            status: "ok",
            store: None,
        },
    )
}

/// The store is reachable and has its data; 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "Ready", body = Health),
              (status = 503, description = "Store unreachable, or lost its data and not restored yet")))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    state.service.store().ping().await?;
    if state.hub().store_lost() {
        return Err(crate::error::ApiError::Unavailable(
            "the store lost its data; this instance is writing it back from memory".into(),
        ));
    }
    Ok(super::json_response(
        StatusCode::OK,
        &Health {
            status: "ready",
            store: Some(state.service.store().kind()),
        },
    ))
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Metrics", body = String, content_type = "application/openmetrics-text")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(state.hub(), &state.clients))
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::document_json())
}
