//! The SDK API (the key names the environment): snapshot, server-side evaluation and usage
//! intake. Snapshot and evaluation are served from the hub's memory with no store round trip.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use flag_sdk::wire::{EvaluateRequest, MetricsReport};
use flag_sdk::{Context, Evaluation, FlagKey, ReasonKind, ValidationErrors};

use super::input::{if_none_match, Json};
use crate::auth::SdkClient;
use crate::error::{ApiError, Result};
use crate::hub::EnvView;
use crate::state::AppState;

/// Most flags one metrics report may name.
pub const MAX_REPORTED_FLAGS: usize = 10_000;
/// Most flags one evaluation request may name.
pub const MAX_EVALUATED_FLAGS: usize = 10_000;

async fn view(state: &AppState, client: &SdkClient) -> Result<std::sync::Arc<EnvView>> {
    match state.hub().view(client.environment.as_str()) {
        Some(v) => Ok(v),
        None => Ok(state.hub().view_or_load(&client.environment).await?),
    }
}

/// The snapshot of the key's environment; `If-None-Match` with its ETag gives 304.
#[utoipa::path(
    get, path = "/api/v1/sdk/flags", tag = "sdk",
    params(("If-None-Match" = Option<String>, Header, description = "The ETag of the snapshot held")),
    responses(
        (status = 200, description = "`{environment, version, flags}`; the `ETag` (`\"<version>-<digest>\"`) changes with every version", body = flag_sdk::wire::SnapshotBody),
        (status = 304, description = "Not modified"),
    )
)]
pub async fn flags(
    client: SdkClient,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let view = view(&state, &client).await?;
    state.clients.seen(&client.environment, req.headers());
    if if_none_match(&req, &view.etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, view.etag.as_str()))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, view.etag.as_str()))
        .body(view.body.clone()))
}

/// Writes `{"environment","version","results":{key: evaluation}}` directly: this is the hot
/// path of server-side evaluation, and keys, rule ids and reason kinds rarely need escaping.
/// The output is the JSON serde writes for [`flag_sdk::wire::EvaluateResponse`].
fn write_results(out: &mut Vec<u8>, view: &EnvView, context: &Context, keys: Option<&[String]>) {
    let snap = &view.snapshot;
    write_response(
        out,
        view.environment.as_str(),
        view.version,
        |out, entry| match keys {
            Some(keys) => keys
                .iter()
                .for_each(|k| entry(out, k, &snap.evaluate(k, context))),
            None => view
                .keys
                .iter()
                .for_each(|k| entry(out, k, &snap.evaluate(k, context))),
        },
    );
}

/// The frame of an [`flag_sdk::wire::EvaluateResponse`]; `results` calls its `entry` with each key and
/// evaluation in order.
fn write_response(
    out: &mut Vec<u8>,
    environment: &str,
    version: u64,
    results: impl FnOnce(&mut Vec<u8>, &mut dyn FnMut(&mut Vec<u8>, &str, &Evaluation)),
) {
    out.extend_from_slice(b"{\"environment\":");
    write_str(out, environment);
    out.extend_from_slice(b",\"version\":");
    out.extend_from_slice(itoa::Buffer::new().format(version).as_bytes());
    out.extend_from_slice(b",\"results\":{");
    let mut first = true;
    let mut entry = |out: &mut Vec<u8>, key: &str, evaluation: &Evaluation| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        write_str(out, key);
        out.push(b':');
        write_evaluation(out, evaluation);
    };
    results(out, &mut entry);
    out.extend_from_slice(b"}}");
}

fn write_evaluation(out: &mut Vec<u8>, e: &Evaluation) {
    out.extend_from_slice(if e.enabled {
        b"{\"enabled\":true,"
    } else {
        b"{\"enabled\":false,"
    });
    if let Some(variant) = &e.variant {
        out.extend_from_slice(b"\"variant\":");
        write_str(out, variant);
        out.push(b',');
    }
    if let Some(value) = &e.value {
        out.extend_from_slice(b"\"value\":");
        // Writing a JSON value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &**value);
        out.push(b',');
    }
    out.extend_from_slice(b"\"reason\":{\"kind\":\"");
    out.extend_from_slice(match e.reason.kind {
        ReasonKind::Off => b"off\"".as_slice(),
        ReasonKind::Rule => b"rule\"",
        ReasonKind::Default => b"default\"",
        ReasonKind::NotFound => b"not_found\"",
        ReasonKind::Split => b"split\"",
        ReasonKind::PrerequisiteFailed => b"prerequisite_failed\"",
        ReasonKind::Error => b"error\"",
    });
    if let Some(rule) = &e.reason.rule {
        out.extend_from_slice(b",\"rule\":");
        write_str(out, rule);
    }
    if let Some(bucket) = e.reason.bucket {
        out.extend_from_slice(b",\"bucket\":");
        out.extend_from_slice(itoa::Buffer::new().format(bucket).as_bytes());
    }
    out.extend_from_slice(b"}}");
}

/// A JSON string; copied as is when nothing in it needs escaping.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Evaluates flags of the key's environment for a context, with reasons.
#[utoipa::path(
    post, path = "/api/v1/sdk/evaluate", tag = "sdk",
    request_body(content = EvaluateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "`{results: {key: evaluation}}`; unknown keys are `not_found`", body = flag_sdk::wire::EvaluateResponse),
        (status = 400, description = "Bad context"),
    )
)]
pub async fn evaluate(
    client: SdkClient,
    req: HttpRequest,
    body: Json<EvaluateRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let request = body.0;
    if request
        .flags
        .as_ref()
        .is_some_and(|f| f.len() > MAX_EVALUATED_FLAGS)
    {
        return Err(ApiError::Invalid(ValidationErrors::single(
            "flags",
            format!("at most {MAX_EVALUATED_FLAGS} flags per request"),
        )));
    }
    let view = view(&state, &client).await?;
    state.clients.seen(&client.environment, req.headers());
    let mut out = Vec::with_capacity(64 + 64 * view.keys.len());
    write_results(&mut out, &view, &request.context, request.flags.as_deref());
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(out))
}

/// Takes evaluation counts from an SDK; they show in the admin view of each flag. Counts
/// of keys that cannot name a flag are left out.
#[utoipa::path(
    post, path = "/api/v1/sdk/metrics", tag = "sdk",
    request_body(content = MetricsReport, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted"),
        (status = 400, description = "Bad report"),
    )
)]
pub async fn metrics(
    client: SdkClient,
    req: HttpRequest,
    body: Json<MetricsReport>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let report = body.0;
    let mut errors = ValidationErrors::default();
    if report.period_end < report.period_start {
        errors.push("period_end", "must not be before period_start");
    }
    if report.flags.len() > MAX_REPORTED_FLAGS {
        errors.push(
            "flags",
            format!("at most {MAX_REPORTED_FLAGS} flags per report"),
        );
    }
    let mut counts = HashMap::with_capacity(report.flags.len());
    // A key that cannot name a flag (an application asked for a typo) is left out rather
    // than failing the whole report.
    let mut skipped = 0usize;
    for (key, c) in &report.flags {
        if FlagKey::parse(key.as_str()).is_ok() {
            counts.insert(key.clone(), (c.yes, c.no));
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        tracing::debug!(environment = %client.environment, skipped, "metrics for invalid flag keys left out");
    }
    errors.into_result()?;
    // The flags an instance evaluated, for the list of clients.
    state
        .clients
        .evaluated(&client.environment, req.headers(), counts.keys());
    if !counts.is_empty() {
        state
            .service
            .record_usage(&client.environment, report.period_end, &counts)
            .await?;
    }
    Ok(HttpResponse::Accepted().finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flag_sdk::wire::EvaluateResponse;
    use flag_sdk::Reason;

    fn same_as_serde(e: Evaluation) {
        let mut out = Vec::new();
        write_evaluation(&mut out, &e);
        let ours: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(ours, serde_json::to_value(&e).unwrap());
    }

    #[test]
    fn evaluations_are_written_as_serde_writes_them() {
        for kind in [
            ReasonKind::Off,
            ReasonKind::Rule,
            ReasonKind::Default,
            ReasonKind::NotFound,
            ReasonKind::Split,
            ReasonKind::PrerequisiteFailed,
            ReasonKind::Error,
        ] {
            for (rule, bucket) in [
                (None, None),
                (Some("eu-canary".into()), Some(1234)),
                (Some("we\"ird\\".into()), Some(0)),
            ] {
                let served = [
                    (None, None),
                    (Some("blue"), Some(serde_json::json!("#0050ff"))),
                    (
                        Some("q\"uote"),
                        Some(serde_json::json!({"a": [1, 2.5, null]})),
                    ),
                ];
                for (variant, value) in served {
                    for enabled in [true, false] {
                        same_as_serde(Evaluation {
                            enabled,
                            variant: variant.map(Into::into),
                            value: value.clone().map(std::sync::Arc::new),
                            reason: Reason {
                                kind,
                                rule: rule.clone(),
                                bucket,
                            },
                        });
                    }
                }
            }
        }
    }

    #[test]
    fn responses_are_written_as_serde_writes_the_wire_type() {
        let evaluation = |enabled, kind, rule: Option<&str>, bucket| Evaluation {
            enabled,
            variant: None,
            value: None,
            reason: Reason {
                kind,
                rule: rule.map(Into::into),
                bucket,
            },
        };
        for results in [
            vec![],
            vec![("a", evaluation(true, ReasonKind::Default, None, Some(12)))],
            vec![
                ("a", evaluation(true, ReasonKind::Rule, Some("eu"), Some(0))),
                ("b\"q", evaluation(false, ReasonKind::NotFound, None, None)),
                ("c", evaluation(false, ReasonKind::Off, None, None)),
            ],
        ] {
            let mut out = Vec::new();
            write_response(&mut out, "prod\\uction", 42, |out, entry| {
                for (key, e) in &results {
                    entry(out, key, e);
                }
            });
            let ours: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let wire = EvaluateResponse {
                environment: "prod\\uction".into(),
                version: 42,
                results: results
                    .iter()
                    .map(|(k, e)| (k.to_string(), e.clone()))
                    .collect(),
            };
            assert_eq!(ours, serde_json::to_value(&wire).unwrap());
        }
    }

    #[test]
    fn strings_are_escaped_when_needed() {
        for s in ["plain", "quo\"te", "back\\slash", "new\nline", "ünïcode"] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), s);
        }
    }
}
