//! The one mapping from [`ApiError`] to HTTP: `application/problem+json` (RFC 9457), plus the
//! fallbacks that turn actix's own errors (unknown routes, wrong methods, extractor failures)
//! into the same shape.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::error::ApiError;

/// The content type of every error.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every error answer (`application/problem+json`): the wire type.
pub use flag_sdk::wire::Problem;

/// A problem of a given status, slug and title.
pub fn new_problem(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: impl Into<String>,
) -> Problem {
    Problem {
        kind: format!("urn:flag-service:problem:{slug}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: detail.into(),
        errors: Vec::new(),
    }
}

/// A problem as a response.
pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    res.body(serde_json::to_vec(problem).unwrap_or_default())
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid-input", "Invalid input"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::PreconditionFailed(_) => (
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition failed",
            ),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Store unavailable",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    /// The error as a problem document.
    pub fn to_problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let detail = match self {
            ApiError::Invalid(errors) => {
                let mut p = new_problem(
                    status,
                    slug,
                    title,
                    format!("the input is not valid: {errors}"),
                );
                p.errors = errors.0.clone();
                return p;
            }
            ApiError::Unavailable(_) => {
                "the store cannot be reached; nothing was changed, try again later".to_owned()
            }
            ApiError::Internal(_) => "an internal error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        };
        new_problem(status, slug, title, detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(m) => tracing::error!(error = %m, "internal error"),
            ApiError::Unavailable(m) => tracing::warn!(error = %m, "store unavailable"),
            _ => {}
        }
        problem_response(&self.to_problem())
    }
}

/// Answers routes that do not exist.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    problem_response(
        &ApiError::NotFound(format!("no route for {} {}", req.method(), req.path())).to_problem(),
    )
}

/// Answers a known path with a method it does not have: 405 with `Allow` naming the methods
/// the path has (RFC 9110, section 15.5.6).
pub fn method_not_allowed(req: &HttpRequest, allow: &'static str) -> HttpResponse {
    let mut res = problem_response(
        &ApiError::MethodNotAllowed(format!(
            "{} is not allowed on {}; allowed: {allow}",
            req.method(),
            req.path()
        ))
        .to_problem(),
    );
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    res
}

/// Rewrites any error response that is not problem+json yet (raised inside actix itself)
/// into one, keeping its status and using the error's message as the detail.
pub fn ensure_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    // OFREP errors have the protocol's own JSON (`{errorCode, errorDetails}`): kept as they are.
    let is_ofrep = res.request().path().starts_with("/ofrep/")
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == b"application/json");
    if is_problem || is_ofrep {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = res
        .response()
        .error()
        .map(|e| e.to_string())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let slug = status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace(' ', "-");
    let title = status.canonical_reason().unwrap_or("Error");
    let problem = new_problem(status, &slug, title, detail);
    let (req, _) = res.into_parts();
    let res = ServiceResponse::new(req, problem_response(&problem).map_into_boxed_body());
    Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
}
