//! Reading an OFREP request body, `{"context": {"targetingKey": "...", ...}}`, and the OFREP
//! error answer `{key?, errorCode, errorDetails}`.
//!
//! As flagd does, an empty body or a body without `context` is an empty context, and other
//! top-level fields are ignored. `targetingKey` maps to each flag's stickiness attribute;
//! every other field is an attribute (a string, a number, a boolean or a list of strings).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::Bytes;
use flag_sdk::{Context, Value};

use crate::error::ApiError;

/// An OFREP error code (OpenFeature's `ErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The body is not a JSON object.
    ParseError,
    /// A context attribute of a type the evaluator does not take.
    InvalidContext,
    /// `targetingKey` is present but empty.
    TargetingKeyMissing,
    /// No flag of that key.
    FlagNotFound,
}

impl ErrorCode {
    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::InvalidContext => "INVALID_CONTEXT",
            ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
        }
    }
}

/// An OFREP error answer.
#[derive(Debug, Clone)]
pub struct OfrepError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error code.
    pub code: ErrorCode,
    /// A sentence naming the problem.
    pub details: String,
}

impl OfrepError {
    /// A 400 with this code.
    pub fn bad_request(code: ErrorCode, details: impl Into<String>) -> OfrepError {
        OfrepError {
            status: StatusCode::BAD_REQUEST,
            code,
            details: details.into(),
        }
    }

    /// The answer: `{"key"?, "errorCode", "errorDetails"}` (`key` for a single flag).
    pub fn response(&self, key: Option<&str>) -> HttpResponse {
        let mut body = serde_json::Map::new();
        if let Some(key) = key {
            body.insert("key".into(), key.into());
        }
        body.insert("errorCode".into(), self.code.as_str().into());
        body.insert("errorDetails".into(), self.details.clone().into());
        HttpResponse::build(self.status)
            .content_type("application/json")
            .body(serde_json::Value::Object(body).to_string())
    }
}

/// A body that could not be read: a 413 or a 415 stays a problem+json (as everywhere else);
/// a body that could not be read at all is a `PARSE_ERROR`.
pub fn body_error(e: ApiError) -> std::result::Result<OfrepError, ApiError> {
    match e {
        ApiError::BadRequest(details) => {
            Ok(OfrepError::bad_request(ErrorCode::ParseError, details))
        }
        other => Err(other),
    }
}

/// The evaluation context of a request.
#[derive(Debug, Default)]
pub struct OfrepContext {
    /// The attributes, `targetingKey` aside.
    pub attrs: Context,
    /// `targetingKey`, when given.
    pub targeting_key: Option<Arc<str>>,
}

/// Parses a request body (`None`: empty).
pub fn parse(body: Option<&Bytes>) -> Result<OfrepContext, OfrepError> {
    let Some(body) = body else {
        return Ok(OfrepContext::default());
    };
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        OfrepError::bad_request(
            ErrorCode::ParseError,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let mut doc = match doc {
        serde_json::Value::Object(doc) => doc,
        // A JSON `null` is no body, as the document allows: the empty context.
        serde_json::Value::Null => return Ok(OfrepContext::default()),
        _ => {
            return Err(OfrepError::bad_request(
                ErrorCode::ParseError,
                "the body must be a JSON object: {\"context\": {...}}",
            ))
        }
    };
    let fields = match doc.remove("context") {
        None | Some(serde_json::Value::Null) => return Ok(OfrepContext::default()),
        Some(serde_json::Value::Object(fields)) => fields,
        Some(_) => {
            return Err(OfrepError::bad_request(
                ErrorCode::InvalidContext,
                "`context` must be a JSON object of attributes",
            ))
        }
    };
    let mut out = OfrepContext::default();
    for (name, value) in fields {
        if name == "targetingKey" {
            out.targeting_key = match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) if s.is_empty() => {
                    return Err(OfrepError::bad_request(
                        ErrorCode::TargetingKeyMissing,
                        "`context.targetingKey` is empty: give a value or leave it out",
                    ))
                }
                serde_json::Value::String(s) => Some(s.into()),
                _ => {
                    return Err(OfrepError::bad_request(
                        ErrorCode::InvalidContext,
                        "`context.targetingKey` must be a string",
                    ))
                }
            };
            continue;
        }
        let value = attribute(&name, value)?;
        out.attrs.insert(name, value);
    }
    Ok(out)
}

fn attribute(name: &str, value: serde_json::Value) -> Result<Value, OfrepError> {
    let invalid = || {
        OfrepError::bad_request(
            ErrorCode::InvalidContext,
            format!(
                "`context.{name}`: an attribute is a string, a number, a boolean or a list of strings"
            ),
        )
    };
    Ok(match value {
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().ok_or_else(invalid)?),
        serde_json::Value::Array(items) => Value::List(
            items
                .into_iter()
                .map(|i| match i {
                    serde_json::Value::String(s) => Ok(s),
                    _ => Err(invalid()),
                })
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Null | serde_json::Value::Object(_) => return Err(invalid()),
    })
}

/// The context of each flag: the attributes with `targetingKey` under the flag's stickiness
/// attribute (`targetingKey` wins over an attribute of that name). Built once per distinct
/// stickiness attribute in a request.
#[derive(Debug)]
pub struct Contexts {
    base: OfrepContext,
    built: Vec<(Box<str>, Context)>,
}

impl Contexts {
    /// The contexts of a request.
    pub fn new(base: OfrepContext) -> Contexts {
        Contexts {
            base,
            built: Vec::new(),
        }
    }

    /// The context for a flag whose stickiness attribute is `stickiness`.
    pub fn for_stickiness(&mut self, stickiness: &str) -> &Context {
        let Some(key) = &self.base.targeting_key else {
            return &self.base.attrs;
        };
        let i = match self.built.iter().position(|(s, _)| &**s == stickiness) {
            Some(i) => i,
            None => {
                let mut ctx = self.base.attrs.clone();
                ctx.insert(stickiness, Value::String(key.to_string()));
                self.built.push((stickiness.into(), ctx));
                self.built.len() - 1
            }
        };
        &self.built[i].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<OfrepContext, OfrepError> {
        parse(Some(&Bytes::from(s.to_owned())))
    }

    #[test]
    fn no_body_and_a_null_body_are_the_empty_context() {
        assert!(parse(None).unwrap().targeting_key.is_none());
        let c = parse_str("null").unwrap();
        assert!(c.targeting_key.is_none() && c.attrs.is_empty());
        assert!(parse_str("[]").is_err());
    }

    #[test]
    fn contexts_are_read() {
        let c = parse_str(
            r#"{"context":{"targetingKey":"u1","country":"DE","n":2,"b":true,"l":["a"]}}"#,
        )
        .unwrap();
        assert_eq!(c.targeting_key.as_deref(), Some("u1"));
        assert_eq!(c.attrs.len(), 4);
        assert!(c.attrs.get("targetingKey").is_none());
        assert_eq!(parse(None).unwrap().attrs.len(), 0);
        assert_eq!(parse_str("{}").unwrap().attrs.len(), 0);
        assert!(parse_str(r#"{"context":{"targetingKey":null}}"#)
            .unwrap()
            .targeting_key
            .is_none());
    }

    #[test]
    fn bad_contexts_are_named() {
        for (body, code) in [
            ("nope", ErrorCode::ParseError),
            ("[1]", ErrorCode::ParseError),
            (r#"{"context":3}"#, ErrorCode::InvalidContext),
            (r#"{"context":{"a":{"b":1}}}"#, ErrorCode::InvalidContext),
            (r#"{"context":{"a":[1]}}"#, ErrorCode::InvalidContext),
            (r#"{"context":{"a":null}}"#, ErrorCode::InvalidContext),
            (
                r#"{"context":{"targetingKey":5}}"#,
                ErrorCode::InvalidContext,
            ),
            (
                r#"{"context":{"targetingKey":""}}"#,
                ErrorCode::TargetingKeyMissing,
            ),
        ] {
            let e = parse_str(body).unwrap_err();
            assert_eq!(e.code, code, "{body}");
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn the_targeting_key_goes_under_each_stickiness() {
        let mut c =
            Contexts::new(parse_str(r#"{"context":{"targetingKey":"u1","user_id":"x"}}"#).unwrap());
        assert_eq!(
            c.for_stickiness("user_id")
                .get("user_id")
                .and_then(|v| v.as_str()),
            Some("u1")
        );
        assert_eq!(
            c.for_stickiness("device")
                .get("device")
                .and_then(|v| v.as_str()),
            Some("u1")
        );
        assert_eq!(
            c.for_stickiness("device")
                .get("user_id")
                .and_then(|v| v.as_str()),
            Some("x")
        );
    }
}
