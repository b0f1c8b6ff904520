//! `POST /environments/{env}/apply?dry_run=&prune=`: declarative sync of a whole flag set
//! (flags-as-code). Answers the plan; when not a dry run, carries it out in one atomic write.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use flag_sdk::wire::{ApplyRequest, Plan};
use flag_sdk::{EnvName, FlagInput, FlagSpec, Segment, SegmentInput, ValidationErrors};
use serde::Deserialize;
use utoipa::IntoParams;

use super::input::{change_meta, parse_json, JsonBytes};
use super::query::{self, Query};
use crate::auth::Admin;
use crate::error::Result;
use crate::openapi::params::{ChangeHeaders, EnvPath};
use crate::state::AppState;

/// Query parameters of apply.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApplyQuery {
    /// Only answer the plan; change nothing. Default false.
    #[serde(default, deserialize_with = "query::flag")]
    pub dry_run: bool,
    /// Delete flags that are not in the document. Default false.
    #[serde(default, deserialize_with = "query::flag")]
    pub prune: bool,
}

/// Applies a flag document to an environment.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/apply", tag = "flags",
    params(EnvPath, ApplyQuery, ChangeHeaders),
    request_body(content = crate::openapi::ApplyDocumentDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "The plan (carried out unless dry_run)", body = Plan),
        (status = 400, description = "Invalid document; nothing written. Field paths like flags[2].rules[0].percentage"),
    )
)]
pub async fn apply(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<EnvName>,
    query: Query<ApplyQuery>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let Query(query) = query;
    super::input::expect_object(&body.0)?;
    let doc: ApplyRequest = parse_json(&body.0)?;
    let wanted = parse_flags(doc.flags)?;
    let segments = doc.segments.map(parse_segments).transpose()?;
    let meta = change_meta(&req, &admin)?;
    let plan = state
        .service
        .apply(
            &env,
            &wanted,
            segments.as_deref(),
            query.prune,
            query.dry_run,
            &meta,
        )
        .await?;
    Ok(super::json_response(StatusCode::OK, &plan))
}

/// Validates every flag of the document, reporting every problem with its path.
fn parse_flags(values: Vec<serde_json::Value>) -> Result<Vec<FlagSpec>> {
    let mut errors = ValidationErrors::default();
    let mut flags = Vec::with_capacity(values.len());
    let mut seen = HashSet::new();
    for (i, value) in values.into_iter().enumerate() {
        let prefix = format!("flags[{i}]");
        if !value.is_object() {
            errors.push(prefix, "a flag is a JSON object");
            continue;
        }
        match FlagInput::from_value(value).and_then(|input| input.validate()) {
            Ok(flag) => {
                if !seen.insert(flag.key.clone()) {
                    errors.push(
                        format!("{prefix}.key"),
                        format!(
                            "duplicate key {:?}: each flag may appear once",
                            flag.key.as_str()
                        ),
                    );
                }
                flags.push(flag);
            }
            Err(e) => errors.0.extend(e.prefixed(&prefix).0),
        }
    }
    errors.into_result()?;
    Ok(flags)
}

/// Validates every segment of the document, reporting every problem with its path.
fn parse_segments(values: Vec<serde_json::Value>) -> Result<Vec<Segment>> {
    let mut errors = ValidationErrors::default();
    let mut segments = Vec::with_capacity(values.len());
    let mut seen = HashSet::new();
    for (i, value) in values.into_iter().enumerate() {
        let prefix = format!("segments[{i}]");
        if !value.is_object() {
            errors.push(prefix, "a segment is a JSON object");
            continue;
        }
        match SegmentInput::from_value(value).and_then(|input| input.validate()) {
            Ok(segment) => {
                if !seen.insert(segment.key.clone()) {
                    errors.push(
                        format!("{prefix}.key"),
                        format!(
                            "duplicate key {:?}: each segment may appear once",
                            segment.key.as_str()
                        ),
                    );
                }
                segments.push(segment);
            }
            Err(e) => errors.0.extend(e.prefixed(&prefix).0),
        }
    }
    errors.into_result()?;
    Ok(segments)
}
