//! The edge's one guard in front of every route: admin routes are refused with a 404 that
//! names the upstream, and the SDK key of an SDK or OFREP request is checked against the
//! upstream ([`super::keys`]) before the route runs. A request without a key, or with a
//! malformed `Authorization` header, goes on to the route, whose own authentication answers
//! it. On a server that is not an edge the guard passes everything through.

use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::Edge;
use crate::error::ApiError;
use crate::state::AppState;

/// The middleware (`from_fn`): see the module documentation.
pub async fn guard(
    edge: Option<Arc<Edge>>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(edge) = edge else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let path = req.path();
    let sdk = path.starts_with("/api/v1/sdk/");
    let ofrep = path.starts_with("/ofrep/v1/");
    if !sdk && (path == "/api/v1" || path.starts_with("/api/v1/")) {
        let refusal = ApiError::NotFound(format!(
            "this server is an edge following {}: admin routes are on the upstream",
            edge.shown
        ));
        return Ok(req
            .into_response(refusal.error_response())
            .map_into_right_body());
    }
    if sdk || ofrep {
        if let Some(secret) = presented_key(&req, ofrep) {
            let state = req.app_data::<web::Data<AppState>>().cloned();
            if let Some(state) = state {
                if let Err(e) = super::keys::admit(&edge, state.hub(), &secret).await {
                    return Ok(req.into_response(e.error_response()).map_into_right_body());
                }
            }
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The SDK key of a request: `Authorization: Bearer <key>`, or for OFREP `X-API-Key`.
fn presented_key(req: &ServiceRequest, ofrep: bool) -> Option<String> {
    let headers = req.headers();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        let token = token.trim();
        return (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
            .then(|| token.to_owned());
    }
    if ofrep {
        let key = headers.get("X-API-Key")?.to_str().ok()?.trim();
        return (!key.is_empty()).then(|| key.to_owned());
    }
    None
}
