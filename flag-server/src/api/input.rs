//! Reading requests: JSON bodies within the size limit with field paths in errors, path
//! names, `If-Match`, `If-None-Match` and `X-Change-Reason`. Every failure is a 4xx [`ApiError`].

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{web, FromRequest, HttpRequest};
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use flag_sdk::{EnvName, FlagKey, ValidationErrors};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::auth::Admin;
use crate::error::{ApiError, Result};
use crate::state::AppState;
use crate::store::ChangeMeta;

/// Longest accepted `X-Change-Reason`, in bytes.
pub const MAX_REASON_LEN: usize = 1024;

/// A JSON request body, as bytes, checked for content type and size (the configured limit).
#[derive(Debug, Clone)]
pub struct JsonBytes(pub Bytes);

/// A JSON request body that may be absent (empty): `None` then.
#[derive(Debug, Clone)]
pub struct OptionalJsonBytes(pub Option<Bytes>);

/// Reads a body within the size limit, checking its content type when one is given.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Pin<Box<dyn Future<Output = Result<Option<Bytes>>>>> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(1024 * 1024, |s| s.body_limit);
    let checked = check_length(req.headers(), limit);
    let content_type = check_content_type(req.headers());
    let mut payload = payload.take();
    Box::pin(async move {
        checked?;
        let mut buf = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::BadRequest(format!("the request body could not be read: {e}"))
            })?;
            if buf.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            buf.extend_from_slice(&chunk);
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        content_type?;
        Ok(Some(buf.freeze()))
    })
}

impl FromRequest for JsonBytes {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<JsonBytes>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move {
            match body.await? {
                Some(bytes) => Ok(JsonBytes(bytes)),
                None => Err(ApiError::BadRequest(
                    "the request body is empty; a JSON document is expected".into(),
                )),
            }
        })
    }
}

impl FromRequest for OptionalJsonBytes {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<OptionalJsonBytes>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move { body.await.map(OptionalJsonBytes) })
    }
}

/// A JSON request body deserialized into `T` (unknown fields and type errors are reported
/// with their field path).
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Json<T>>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = JsonBytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await?.0;
            expect_object(&bytes)?;
            parse_json(&bytes).map(Json)
        })
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the request body is larger than the limit of {limit} bytes"
    ))
}

fn check_length(headers: &HeaderMap, limit: usize) -> Result<()> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<()> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "the body must be JSON: send `Content-Type: application/json` (got {mime:?})"
        )))
    }
}

/// Parses JSON into `T`: malformed JSON is a 400 naming the position, a wrong type or an
/// unknown field is a 400 naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    // Fast path; only a failure is parsed again, to find the path of the problem.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let path = if path == "." { String::new() } else { path };
                ApiError::Invalid(ValidationErrors::single(path, inner.to_string()))
            }
            _ => ApiError::BadRequest(format!("malformed JSON: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// A body must be a JSON object (serde would otherwise read a struct from an array too).
pub fn expect_object(bytes: &[u8]) -> Result<()> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        _ => Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        )),
    }
}

/// Longest version in `If-Match`: 19 digits (every version fits in 63 bits).
const MAX_VERSION_DIGITS: usize = 19;

/// Parses an environment name from the path; 400 naming the rule when it is not valid.
pub fn env_name(s: &str) -> Result<EnvName> {
    EnvName::parse(s).map_err(|m| {
        ApiError::Invalid(ValidationErrors::single(
            "env",
            format!("environment name {s:?} {m}"),
        ))
    })
}

/// Parses a flag key from the path; 400 naming the rule when it is not valid.
pub fn flag_key(s: &str) -> Result<FlagKey> {
    FlagKey::parse(s).map_err(|m| {
        ApiError::Invalid(ValidationErrors::single(
            "key",
            format!("flag key {s:?} {m}"),
        ))
    })
}

/// The version named by `If-Match`: `None` when absent or `*`. Accepts `"7"`, `W/"7"` and `7`.
pub fn if_match(req: &HttpRequest) -> Result<Option<u64>> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::BadRequest(
            "If-Match must be one version in quotes, like \"7\" (the flag's ETag)".into(),
        )
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(None);
    }
    parse_etag(text).map(Some).ok_or_else(bad)
}

fn parse_etag(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    // Digits only: no sign, no spaces, as the OpenAPI pattern of If-Match says.
    if text.is_empty()
        || text.len() > MAX_VERSION_DIGITS
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}

/// Whether `If-None-Match` names this ETag (or `*`).
pub fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    let Some(value) = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    value
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

/// Who, why and when of a write: the admin's token name and `X-Change-Reason`.
pub fn change_meta(req: &HttpRequest, admin: &Admin) -> Result<ChangeMeta> {
    let reason = match req.headers().get("x-change-reason") {
        None => None,
        Some(v) => {
            let text = v.to_str().map_err(|_| {
                ApiError::BadRequest("X-Change-Reason must be visible ASCII text".into())
            })?;
            if text.len() > MAX_REASON_LEN {
                return Err(ApiError::BadRequest(format!(
                    "X-Change-Reason must be at most {MAX_REASON_LEN} bytes"
                )));
            }
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_owned())
        }
    };
    Ok(ChangeMeta {
        actor: admin.name.clone(),
        reason,
        at: Utc::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_etag;

    #[test]
    fn etags() {
        assert_eq!(parse_etag("\"7\""), Some(7));
        assert_eq!(parse_etag("W/\"7\""), Some(7));
        assert_eq!(parse_etag("7"), Some(7));
        assert_eq!(parse_etag("\"x\""), None);
        assert_eq!(parse_etag("\"7\", \"8\""), None);
        assert_eq!(parse_etag("\"+7\""), None);
        assert_eq!(parse_etag("\"\""), None);
        assert_eq!(parse_etag(&"9".repeat(20)), None);
        assert_eq!(parse_etag(&"9".repeat(19)), Some(9_999_999_999_999_999_999));
    }
}
