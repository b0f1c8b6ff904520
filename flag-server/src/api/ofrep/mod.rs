//! OFREP, the OpenFeature Remote Evaluation Protocol (v0.3, `service/openapi.yaml` of
//! open-feature/protocol): every OpenFeature SDK with an OFREP provider evaluates our flags
//! with no SDK of ours (contract section 4, "OFREP").
//!
//! - `POST /ofrep/v1/evaluate/flags/{key}`: one flag; `POST /ofrep/v1/evaluate/flags`: every
//!   flag of the key's environment, with an `ETag` (the environment's version and a digest of
//!   the request's context) honoured by `If-None-Match` (304), and `eventStreams` naming
//!   [`events::events`].
//! - Authentication: an SDK key as `Authorization: Bearer` or `X-API-Key`.
//! - CORS for browser providers, from `FLAG_CORS_ORIGINS` ([`scope`]).
//!
//! Where the protocol leaves a choice we do as flagd does: an empty body or one without
//! `context` is an empty context; a disabled flag with nothing to serve answers no value
//! (the code default); preflight allows any request header.

mod answer;
mod doc;
pub mod events;
mod request;

use actix_cors::Cors;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

pub use doc::OfrepDoc;
use request::{body_error, parse, Contexts, ErrorCode, OfrepError};

use super::input::{if_none_match, OptionalJsonBytes};
use super::sdk::write_str;
use crate::auth::SdkClient;
use crate::error::{ApiError, Result};
use crate::hub::EnvView;
use crate::state::AppState;

/// How long a browser may keep a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: usize = 3600;
/// The inactivity delay advertised with the event stream (ADR-0008's default).
const INACTIVITY_DELAY_SEC: u32 = 120;

/// The `/ofrep/v1` routes, with CORS for `origins` (`*` allows any origin; none: no
/// cross-origin browser access).
pub fn scope(
    origins: &[String],
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let not_allowed = |allow: &'static str| {
        web::to(
            move |req: HttpRequest| async move { super::problem::method_not_allowed(&req, allow) },
        )
    };
    web::scope("/ofrep/v1")
        .wrap(cors(origins))
        .service(
            web::resource("/evaluate/flags")
                .route(web::post().to(evaluate_all))
                .default_service(not_allowed("POST")),
        )
        .service(
            web::resource("/evaluate/flags/{key}")
                .route(web::post().to(evaluate_one))
                .default_service(not_allowed("POST")),
        )
        .service(
            web::resource("/events")
                .route(web::get().to(events::events))
                .default_service(not_allowed("GET")),
        )
}

/// CORS as flagd sets it: the listed origins, any request header; and `ETag` exposed, so
/// that a browser provider can send it back in `If-None-Match`. A request from another
/// origin is served without CORS headers (the browser then withholds the answer).
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST"])
        .allow_any_header()
        .expose_headers([header::ETAG])
        .max_age(PREFLIGHT_MAX_AGE)
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

async fn view(state: &AppState, client: &SdkClient) -> Result<std::sync::Arc<EnvView>> {
    match state.hub().view(client.environment.as_str()) {
        Some(v) => Ok(v),
        None => Ok(state.hub().view_or_load(&client.environment).await?),
    }
}

/// Evaluates one flag.
#[utoipa::path(
    post, path = "/ofrep/v1/evaluate/flags/{key}", tag = "ofrep",
    params(("key" = String, Path, description = "The flag's key")),
    request_body(content = Option<doc::EvaluationRequest>, content_type = "application/json", description = "Optional: no body is an empty context (as flagd answers)"),
    responses(
        (status = 200, description = "The flag's value, variant, reason and our reason as metadata", body = doc::EvaluationSuccess),
        (status = 400, description = "`PARSE_ERROR`, `INVALID_CONTEXT` or `TARGETING_KEY_MISSING`, with `errorDetails`", body = doc::EvaluationFailure),
        (status = 401, description = "No SDK key, or an unknown or revoked one"),
        (status = 403, description = "An admin token: OFREP needs an SDK key"),
        (status = 404, description = "`FLAG_NOT_FOUND`", body = doc::EvaluationFailure),
        (status = 503, description = "The environment could not be loaded from the store"),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn evaluate_one(
    client: SdkClient,
    req: HttpRequest,
    key: web::Path<String>,
    body: std::result::Result<OptionalJsonBytes, ApiError>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let key = key.into_inner();
    let context = match body.map(|b| b.0) {
        Ok(body) => parse(body.as_ref()),
        Err(e) => Err(body_error(e)?),
    };
    let context = match context {
        Ok(c) => c,
        Err(e) => return Ok(e.response(Some(&key))),
    };
    let view = view(&state, &client).await?;
    state.clients.seen(&client.environment, req.headers());
    let Some(flag) = view.snapshot.get(&key) else {
        let e = OfrepError {
            status: StatusCode::NOT_FOUND,
            code: ErrorCode::FlagNotFound,
            details: format!("flag `{key}` does not exist in this environment"),
        };
        return Ok(e.response(Some(&key)));
    };
    let mut contexts = Contexts::new(context);
    let ctx = contexts.for_stickiness(&flag.flag().stickiness);
    let evaluation = view.snapshot.evaluate(&key, ctx);
    let mut out = Vec::with_capacity(256);
    answer::write_answer(&mut out, &key, flag, &evaluation);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(out))
}

/// The bulk answer's `ETag`: the environment's version and a digest of its snapshot's ETag
/// and of the request body (the context), so it changes with either.
fn bulk_etag(view: &EnvView, body: Option<&[u8]>) -> String {
    let digest = Sha256::new()
        .chain_update(view.etag.as_bytes())
        .chain_update(body.unwrap_or_default())
        .finalize();
    format!("\"{}-{}\"", view.version, &hex::encode(digest)[..16])
}

/// Evaluates every flag of the key's environment.
#[utoipa::path(
    post, path = "/ofrep/v1/evaluate/flags", tag = "ofrep",
    params(
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the answer held"),
        ("flagConfigEtag" = Option<String>, Query, description = "From a `refetchEvaluation` event (ADR-0008): accepted, not needed (every answer is current)"),
        ("flagConfigLastModified" = Option<String>, Query, description = "From a `refetchEvaluation` event (ADR-0008): accepted, not needed"),
    ),
    request_body(content = Option<doc::EvaluationRequest>, content_type = "application/json", description = "Optional: no body is an empty context (as flagd answers)"),
    responses(
        (status = 200, description = "Every flag, sorted by key; `ETag` changes with the environment's version and the context", body = doc::BulkEvaluationSuccess,
         headers(("ETag" = String, description = "Send it back in `If-None-Match`"))),
        (status = 304, description = "Not modified: same environment version, same context"),
        (status = 400, description = "`PARSE_ERROR`, `INVALID_CONTEXT` or `TARGETING_KEY_MISSING`, with `errorDetails`", body = doc::BulkEvaluationFailure),
        (status = 401, description = "No SDK key, or an unknown or revoked one"),
        (status = 403, description = "An admin token: OFREP needs an SDK key"),
        (status = 503, description = "The environment could not be loaded from the store"),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn evaluate_all(
    client: SdkClient,
    req: HttpRequest,
    body: std::result::Result<OptionalJsonBytes, ApiError>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let body = match body {
        Ok(b) => b.0,
        Err(e) => return Ok(body_error(e)?.response(None)),
    };
    let context = match parse(body.as_ref()) {
        Ok(c) => c,
        Err(e) => return Ok(e.response(None)),
    };
    let view = view(&state, &client).await?;
    state.clients.seen(&client.environment, req.headers());
    let etag = bulk_etag(&view, body.as_deref());
    if if_none_match(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let mut contexts = Contexts::new(context);
    let snap = &view.snapshot;
    let mut out = Vec::with_capacity(256 + 128 * view.keys.len());
    out.extend_from_slice(b"{\"flags\":[");
    let mut first = true;
    for key in view.keys.iter() {
        let Some(flag) = snap.get(key) else { continue };
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        let evaluation = snap.evaluate(key, contexts.for_stickiness(&flag.flag().stickiness));
        answer::write_answer(&mut out, key, flag, &evaluation);
    }
    out.extend_from_slice(b"],\"metadata\":{\"environment\":");
    write_str(&mut out, view.environment.as_str());
    out.extend_from_slice(b",\"version\":");
    out.extend_from_slice(itoa::Buffer::new().format(view.version).as_bytes());
    out.extend_from_slice(b"},\"eventStreams\":[{\"type\":\"sse\",\"endpoint\":{\"requestUri\":\"/ofrep/v1/events?token=");
    if let Some(key) = state.hub().sdk_key_by_id(&client.key_id) {
        out.extend_from_slice(events::token(&key).as_bytes());
    }
    out.extend_from_slice(b"\"},\"inactivityDelaySec\":");
    out.extend_from_slice(itoa::Buffer::new().format(INACTIVITY_DELAY_SEC).as_bytes());
    out.extend_from_slice(b"}]}");
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, etag))
        .body(out))
}
