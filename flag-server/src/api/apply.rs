//! `POST /environments/{env}/apply?dry_run=&prune=`: declarative sync of a whole flag set
//! (flags-as-code). Answers the plan; when not a dry run, carries it out in one atomic write.

use std::collections::{BTreeMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use flag_sdk::{Flag, FlagInput, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::flags::write;
use super::input::{change_meta, env_name, parse_json, query_bool, query_params, JsonBytes};
use super::AppState;
use crate::auth::Admin;
use crate::error::{Error, Result};
use crate::hub::EnvView;
use crate::store::WriteOp;

/// How often a real apply re-plans when a concurrent write got in between plan and write.
const ATTEMPTS: usize = 5;

/// Query parameters of apply.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplyQuery {
    /// Only answer the plan; change nothing. Default false.
    #[serde(default)]
    pub dry_run: bool,
    /// Delete flags that are not in the document. Default false.
    #[serde(default)]
    pub prune: bool,
}

/// The document: `{"flags": [...]}`, as `flag-cli export` writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyDocument {
    flags: Vec<serde_json::Value>,
}

/// One changed field of a flag.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// The field's name.
    pub field: String,
    /// Its value now.
    pub before: serde_json::Value,
    /// Its value after the apply.
    pub after: serde_json::Value,
}

/// A flag the apply changes, with its field diff.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FlagUpdate {
    /// The flag's key.
    pub key: String,
    /// The fields that change.
    pub changes: Vec<FieldChange>,
}

/// The plan: what the apply does (or did).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Plan {
    /// The environment.
    pub environment: String,
    /// True when nothing was changed because `dry_run` was asked for.
    pub dry_run: bool,
    /// The environment's version after the apply (before it, for a dry run).
    pub version: u64,
    /// Keys of flags created.
    pub created: Vec<String>,
    /// Flags changed, with their field diffs.
    pub updated: Vec<FlagUpdate>,
    /// Keys of flags deleted (only with `prune`).
    pub deleted: Vec<String>,
    /// Keys of flags already as in the document.
    pub unchanged: Vec<String>,
    /// Keys of flags in the environment but not in the document, kept because `prune` is off.
    pub kept: Vec<String>,
}

/// Applies a flag document to an environment.
#[utoipa::path(
    post, path = "/api/v1/environments/{env}/apply", tag = "flags",
    security(("bearer" = [])),
    params(("env" = String, Path, description = "Environment name"), ApplyQuery,
           ("X-Change-Reason" = Option<String>, Header, description = "Why, for the audit log")),
    request_body(content = crate::openapi::ApplyDocumentDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "The plan (carried out unless dry_run)", body = Plan),
        (status = 400, description = "Invalid document; nothing written. Field paths like flags[2].rules[0].percentage", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable; nothing written", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn apply(
    admin: Admin,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = env_name(&path)?;
    let params = query_params(&req, &["dry_run", "prune"])?;
    let query = ApplyQuery {
        dry_run: query_bool(&params, "dry_run", false)?,
        prune: query_bool(&params, "prune", false)?,
    };
    super::input::expect_object(&body.0)?;
    let doc: ApplyDocument = parse_json(&body.0)?;
    let wanted = parse_flags(doc.flags)?;
    let meta = change_meta(&req, &admin)?;
    for _ in 0..ATTEMPTS {
        let view = state.hub.fresh_view(&env).await?;
        let (mut plan, ops) = plan(&view, &wanted, query.prune, query.dry_run);
        if query.dry_run || ops.is_empty() {
            return Ok(super::json_response(StatusCode::OK, &plan));
        }
        match write(&state, &env, ops, &meta).await {
            Ok(changes) => {
                plan.version = changes.last().map_or(view.version, |c| c.version);
                tracing::info!(environment = %env, created = plan.created.len(), updated = plan.updated.len(),
                    deleted = plan.deleted.len(), "flag document applied");
                return Ok(super::json_response(StatusCode::OK, &plan));
            }
            // A concurrent write: plan again against the new state.
            Err(Error::PreconditionFailed(_))
            | Err(Error::Conflict(_))
            | Err(Error::NotFound(_)) => {
                state.hub.sync(&env).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::PreconditionFailed(
        "the environment kept changing under concurrent writes; try again".into(),
    ))
}

/// Validates every flag of the document, reporting every problem with its path.
fn parse_flags(values: Vec<serde_json::Value>) -> Result<Vec<Flag>> {
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

/// The flag's fields that people set, as JSON (server-set fields left out).
fn fields(flag: &Flag) -> BTreeMap<String, serde_json::Value> {
    let mut map: BTreeMap<String, serde_json::Value> = match flag.to_value() {
        serde_json::Value::Object(m) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    for server_field in ["version", "updated_at", "updated_by"] {
        map.remove(server_field);
    }
    map
}

fn diff(current: &Flag, wanted: &Flag) -> Vec<FieldChange> {
    let before = fields(current);
    let after = fields(wanted);
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let b = before.get(name).cloned().unwrap_or(serde_json::Value::Null);
            let a = after.get(name).cloned().unwrap_or(serde_json::Value::Null);
            (a != b).then(|| FieldChange {
                field: name.clone(),
                before: b,
                after: a,
            })
        })
        .collect()
}

fn plan(view: &EnvView, wanted: &[Flag], prune: bool, dry_run: bool) -> (Plan, Vec<WriteOp>) {
    let mut plan = Plan {
        environment: view.environment.to_string(),
        dry_run,
        version: view.version,
        created: Vec::new(),
        updated: Vec::new(),
        deleted: Vec::new(),
        unchanged: Vec::new(),
        kept: Vec::new(),
    };
    let mut ops = Vec::new();
    let mut sorted: Vec<&Flag> = wanted.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for flag in sorted {
        match view.snapshot.flag(flag.key.as_str()) {
            None => {
                plan.created.push(flag.key.to_string());
                ops.push(WriteOp::Create(flag.clone()));
            }
            Some(current) => {
                let changes = diff(current, flag);
                if changes.is_empty() {
                    plan.unchanged.push(flag.key.to_string());
                } else {
                    plan.updated.push(FlagUpdate {
                        key: flag.key.to_string(),
                        changes,
                    });
                    ops.push(WriteOp::Put {
                        flag: flag.clone(),
                        expected: Some(current.version),
                    });
                }
            }
        }
    }
    let in_document: HashSet<&str> = wanted.iter().map(|f| f.key.as_str()).collect();
    for current in view.flags() {
        if !in_document.contains(current.key.as_str()) {
            if !prune {
                plan.kept.push(current.key.to_string());
            } else {
                plan.deleted.push(current.key.to_string());
                ops.push(WriteOp::Delete {
                    key: current.key.clone(),
                    expected: Some(current.version),
                });
            }
        }
    }
    (plan, ops)
}
