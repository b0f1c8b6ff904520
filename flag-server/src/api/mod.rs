//! The HTTP API (contract section 4): admin routes, SDK routes and ops routes, all sharing
//! one [`crate::state::AppState`].

pub mod apply;
pub mod audit;
pub mod clients;
pub mod environments;
pub mod flags;
pub mod input;
pub mod ofrep;
pub mod ops;
pub mod problem;
pub mod promote;
pub mod query;
pub mod releases;
pub mod sdk;
pub mod sdk_keys;
pub mod segments;
pub mod stream;

use actix_web::{web, HttpResponse};

use crate::error::ApiError;

/// A path that does not deserialize: the same 400 as a name that does not parse, naming the
/// segment (`env` or `key`) and its rule.
fn path_error(e: actix_web::error::PathError, req: &actix_web::HttpRequest) -> actix_web::Error {
    let info = req.match_info();
    if let Some(Err(e)) = info.get("env").map(input::env_name) {
        return e.into();
    }
    if let Some(Err(e)) = info.get("key").map(input::flag_key) {
        return e.into();
    }
    ApiError::BadRequest(format!("invalid path: {e}")).into()
}

/// Registers every route, and the extractor configurations that turn their failures into
/// problem+json.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // A known path with another method: 405 with `Allow` listing the path's methods.
    let not_allowed = |allow: &'static str| {
        web::to(move |req: actix_web::HttpRequest| async move {
            problem::method_not_allowed(&req, allow)
        })
    };
    // Bodies and query strings have extractors of their own (`input`, `query`); paths use
    // actix's, whose failures this turns into problem+json.
    cfg.app_data(web::PathConfig::default().error_handler(path_error))
        .service(
            web::resource("/healthz")
                .route(web::get().to(ops::healthz))
                .default_service(not_allowed("GET")),
        )
        .service(
            web::resource("/readyz")
                .route(web::get().to(ops::readyz))
                .default_service(not_allowed("GET")),
        )
        .service(
            web::resource("/metrics")
                .route(web::get().to(ops::metrics))
                .default_service(not_allowed("GET")),
        )
        .service(
            web::resource("/openapi.json")
                .route(web::get().to(ops::openapi))
                .default_service(not_allowed("GET")),
        )
        .service(
            web::scope("/api/v1")
                .service(
                    web::resource("/environments")
                        .route(web::get().to(environments::list))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/environments/{env}")
                        .route(web::put().to(environments::create))
                        .route(web::delete().to(environments::delete))
                        .default_service(not_allowed("PUT, DELETE")),
                )
                .service(
                    web::resource("/environments/{env}/flags")
                        .route(web::get().to(flags::list))
                        .route(web::post().to(flags::create))
                        .default_service(not_allowed("GET, POST")),
                )
                .service(
                    web::resource("/environments/{env}/flags/{key}")
                        .route(web::get().to(flags::get))
                        .route(web::put().to(flags::replace))
                        .route(web::patch().to(flags::patch))
                        .route(web::delete().to(flags::delete))
                        .default_service(not_allowed("GET, PUT, PATCH, DELETE")),
                )
                .service(
                    web::resource("/environments/{env}/flags/{key}/promote")
                        .route(web::post().to(promote::promote))
                        .default_service(not_allowed("POST")),
                )
                .service(
                    web::resource("/environments/{env}/segments")
                        .route(web::get().to(segments::list))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/environments/{env}/segments/{key}")
                        .route(web::get().to(segments::get))
                        .route(web::put().to(segments::replace))
                        .route(web::delete().to(segments::delete))
                        .default_service(not_allowed("GET, PUT, DELETE")),
                )
                .service(
                    web::resource("/environments/{env}/apply")
                        .route(web::post().to(apply::apply))
                        .default_service(not_allowed("POST")),
                )
                .service(
                    web::resource("/environments/{env}/flags/{key}/schedule")
                        .route(web::post().to(releases::schedule))
                        .route(web::get().to(releases::flag_schedules))
                        .default_service(not_allowed("POST, GET")),
                )
                .service(
                    web::resource("/environments/{env}/flags/{key}/schedule/{id}")
                        .route(web::delete().to(releases::cancel))
                        .default_service(not_allowed("DELETE")),
                )
                .service(
                    web::resource("/environments/{env}/schedules")
                        .route(web::get().to(releases::schedules))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/environments/{env}/flags/{key}/release")
                        .route(web::post().to(releases::start))
                        .route(web::get().to(releases::get))
                        .default_service(not_allowed("POST, GET")),
                )
                .service(
                    web::resource("/environments/{env}/flags/{key}/release/pause")
                        .route(web::post().to(releases::pause))
                        .default_service(not_allowed("POST")),
                )
                .service(
                    web::resource("/environments/{env}/flags/{key}/release/resume")
                        .route(web::post().to(releases::resume))
                        .default_service(not_allowed("POST")),
                )
                .service(
                    web::resource("/environments/{env}/flags/{key}/release/abort")
                        .route(web::post().to(releases::abort))
                        .default_service(not_allowed("POST")),
                )
                .service(
                    web::resource("/environments/{env}/releases")
                        .route(web::get().to(releases::list))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/environments/{env}/audit")
                        .route(web::get().to(audit::list))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/environments/{env}/stream")
                        .route(web::get().to(stream::environment_stream))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/environments/{env}/sdk-keys")
                        .route(web::post().to(sdk_keys::create))
                        .route(web::get().to(sdk_keys::list))
                        .default_service(not_allowed("POST, GET")),
                )
                .service(
                    web::resource("/environments/{env}/sdk-keys/{id}")
                        .route(web::delete().to(sdk_keys::revoke))
                        .default_service(not_allowed("DELETE")),
                )
                .service(
                    web::resource("/environments/{env}/clients")
                        .route(web::get().to(clients::list))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/sdk/flags")
                        .route(web::get().to(sdk::flags))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/sdk/stream")
                        .route(web::get().to(stream::sdk_stream))
                        .default_service(not_allowed("GET")),
                )
                .service(
                    web::resource("/sdk/evaluate")
                        .route(web::post().to(sdk::evaluate))
                        .default_service(not_allowed("POST")),
                )
                .service(
                    web::resource("/sdk/metrics")
                        .route(web::post().to(sdk::metrics))
                        .default_service(not_allowed("POST")),
                ),
        )
        .default_service(web::to(problem::not_found));
}

/// A JSON response with a status.
pub(crate) fn json_response(
    status: actix_web::http::StatusCode,
    body: &impl serde::Serialize,
) -> HttpResponse {
    let mut bytes = Vec::with_capacity(4096);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => HttpResponse::build(status)
            .content_type("application/json")
            .body(bytes),
        Err(e) => actix_web::ResponseError::error_response(&ApiError::Internal(format!(
            "serializing a response: {e}"
        ))),
    }
}
