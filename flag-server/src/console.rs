//! The web console: static files (`flag-server/console/`) served at `/` and under
//! `/console/`, embedded in the binary.
//!
//! The console is a client of the public API like any other: it holds no privilege of its
//! own, every action it takes is an `/api/v1` call with the admin token the person typed.
//! What this module adds is only the files and the headers a browser needs to keep them safe:
//! a `Content-Security-Policy` that allows scripts, styles and connections from this origin
//! only (no inline script, no inline style sheet, no frames), `X-Content-Type-Options`,
//! `Referrer-Policy: no-referrer` and `X-Frame-Options`.
//!
//! In a release build the files are embedded ([`rust_embed`]); in a debug build they are read
//! from the source tree at each request, so a change to the console needs only a reload.
//! Every answer carries an `ETag` (a digest of the file) and `Cache-Control: no-cache`, so a
//! browser revalidates and gets a `304` until the server is upgraded.

use actix_web::http::header::{self, HeaderValue};
use actix_web::ResponseError;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

use crate::error::ApiError;

/// The console's files.
#[derive(RustEmbed)]
#[folder = "console/"]
struct Assets;

/// The console's `Content-Security-Policy`: everything from this origin only, nothing inline,
/// never in a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
    manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Registers `/` and `/console/{file}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .route(web::get().to(index))
            .route(web::head().to(index))
            .default_service(web::to(|req: HttpRequest| async move {
                crate::api::problem::method_not_allowed(&req, "GET, HEAD")
            })),
    )
    .service(
        web::resource("/console/{file:.*}")
            .route(web::get().to(asset))
            .route(web::head().to(asset))
            .default_service(web::to(|req: HttpRequest| async move {
                crate::api::problem::method_not_allowed(&req, "GET, HEAD")
            })),
    );
}

async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, "index.html")
}

async fn asset(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    serve(&req, &file)
}

/// Answers one file with the console's headers, `304` when the browser holds it already.
fn serve(req: &HttpRequest, name: &str) -> HttpResponse {
    let Some(file) = Assets::get(name) else {
        return ApiError::NotFound(format!("the console has no file {name:?}")).error_response();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
    let not_modified = if_none_match(req, &etag);
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    if not_modified {
        return response.finish();
    }
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") || mime.ends_with("javascript") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    response
        .content_type(content_type)
        .body(file.data.into_owned())
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_console_file_is_embedded_with_a_known_type() {
        let names: Vec<_> = Assets::iter().collect();
        assert!(names.iter().any(|n| n == "index.html"), "{names:?}");
        for name in names {
            let file = Assets::get(&name).expect("listed file");
            assert_ne!(
                file.metadata.mimetype(),
                "application/octet-stream",
                "{name} has no known content type"
            );
        }
    }

    /// The page asks for every module at once (`modulepreload`) instead of discovering them
    /// one import level at a time: a module missing from the list costs a round trip.
    #[test]
    fn the_page_preloads_every_module() {
        let index = Assets::get("index.html").expect("index.html");
        let index = std::str::from_utf8(&index.data).expect("UTF-8");
        for name in Assets::iter().filter(|n| n.ends_with(".js")) {
            let url = format!("/console/{name}");
            assert!(
                index.contains(&format!(r#"<link rel="modulepreload" href="{url}">"#))
                    || index.contains(&format!(r#"<script type="module" src="{url}">"#)),
                "index.html does not preload {url}"
            );
        }
    }
}
