//! The OpenAPI description of the OFREP routes: the request and answer schemas (written as
//! JSON Schema, as the protocol states them, narrowed to what this server answers) and the
//! `X-API-Key` security scheme.

use std::borrow::Cow;

use serde_json::json;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, PartialSchema, ToSchema};

fn schema(value: serde_json::Value) -> RefOr<Schema> {
    // The literals below are valid schemas; a test checks each one converts.
    serde_json::from_value(value).unwrap_or_else(|_| RefOr::T(Schema::default()))
}

fn reason() -> serde_json::Value {
    json!({"type": "string", "enum": ["STATIC", "DEFAULT", "TARGETING_MATCH", "SPLIT", "DISABLED"],
           "description": "DISABLED: the flag is off; SPLIT: the bucket decided; TARGETING_MATCH: a rule (or a failed prerequisite) decided; STATIC: the flag cannot depend on the context; DEFAULT: no rule matched"})
}

fn success() -> serde_json::Value {
    json!({
        "type": "object",
        "required": ["key", "reason", "metadata"],
        "properties": {
            "key": {"type": "string"},
            "value": {"type": ["boolean", "string", "number", "object", "array"], "description": "The value served (boolean, string, number or JSON); absent when the flag serves nothing (a disabled flag with no off variant): the code default applies"},
            "variant": {"type": "string"},
            "reason": reason(),
            "metadata": {
                "type": "object",
                "description": "Our own reason: `kind` (off, rule, default, split, prerequisite_failed), the matched `rule`, the `bucket` when the stickiness value was hashed",
                "required": ["kind"],
                "properties": {
                    "kind": {"type": "string"},
                    "rule": {"type": "string"},
                    "bucket": {"type": "integer", "minimum": 0, "maximum": 9999}
                }
            }
        }
    })
}

fn failure(codes: &[&str], with_key: bool) -> serde_json::Value {
    let mut s = json!({
        "type": "object",
        "required": ["errorCode", "errorDetails"],
        "properties": {
            "key": {"type": "string"},
            "errorCode": {"type": "string", "enum": codes},
            "errorDetails": {"type": "string"}
        }
    });
    if with_key {
        s["required"] = json!(["key", "errorCode", "errorDetails"]);
    }
    s
}

macro_rules! described {
    ($name:ident, $body:expr) => {
        #[doc = concat!("OpenAPI schema `", stringify!($name), "`.")]
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                schema($body)
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(concat!("Ofrep", stringify!($name)))
            }
        }
    };
}

described!(
    EvaluationRequest,
    json!({
        "type": "object",
        "description": "`{\"context\": {...}}`; an empty body or one without `context` is an empty context (as flagd reads it)",
        "properties": {
            "context": {
                "type": ["object", "null"],
                "description": "`targetingKey` goes under each flag's stickiness attribute (user_id by default); every other field is an attribute. `null` is the empty context",
                "properties": {"targetingKey": {
                    "type": ["string", "null"], "minLength": 1,
                    "description": "`null` is the same as no targetingKey; an empty string is TARGETING_KEY_MISSING"
                }},
                "additionalProperties": {
                    "anyOf": [
                        {"type": "string"}, {"type": "number"}, {"type": "boolean"},
                        {"type": "array", "items": {"type": "string"}}
                    ]
                }
            }
        }
    })
);
described!(EvaluationSuccess, success());
described!(
    EvaluationFailure,
    failure(
        &[
            "PARSE_ERROR",
            "INVALID_CONTEXT",
            "TARGETING_KEY_MISSING",
            "FLAG_NOT_FOUND"
        ],
        true
    )
);
described!(
    BulkEvaluationFailure,
    failure(
        &["PARSE_ERROR", "INVALID_CONTEXT", "TARGETING_KEY_MISSING"],
        false
    )
);
described!(
    BulkEvaluationSuccess,
    json!({
        "type": "object",
        "required": ["flags", "metadata", "eventStreams"],
        "properties": {
            "flags": {"type": "array", "items": success()},
            "metadata": {
                "type": "object",
                "required": ["environment", "version"],
                "properties": {"environment": {"type": "string"}, "version": {"type": "integer", "minimum": 0}}
            },
            "eventStreams": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "endpoint"],
                    "properties": {
                        "type": {"type": "string", "enum": ["sse"]},
                        "endpoint": {
                            "type": "object",
                            "required": ["requestUri"],
                            "properties": {"requestUri": {"type": "string", "pattern": "^/ofrep/v1/events\\?token="}}
                        },
                        "inactivityDelaySec": {"type": "integer", "minimum": 1}
                    }
                }
            }
        }
    })
);

/// Adds the `X-API-Key` scheme the OFREP routes accept.
pub struct OfrepDoc;

impl Modify for OfrepDoc {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An SDK key (OFREP routes only)",
            ))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_converts() {
        for s in [
            json!(EvaluationRequest::schema()),
            json!(EvaluationSuccess::schema()),
            json!(EvaluationFailure::schema()),
            json!(BulkEvaluationFailure::schema()),
            json!(BulkEvaluationSuccess::schema()),
        ] {
            assert_ne!(s, json!(RefOr::T(Schema::default())), "{s}");
        }
    }
}
