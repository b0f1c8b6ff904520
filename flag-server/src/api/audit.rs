//! `GET /environments/{env}/audit?limit=&before=&flag=`: the change history, newest first.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use flag_sdk::wire::{self, AuditPage, StoredFlag};
use flag_sdk::{EnvName, FlagKey};
use serde::Deserialize;
use utoipa::IntoParams;

use super::query::{self, Query};
use crate::auth::Admin;
use crate::error::{ApiError, Result};
use crate::openapi::params::EnvPath;
use crate::state::AppState;
use crate::store::AuditEntry;

/// Default number of entries.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest `limit`.
pub const MAX_LIMIT: usize = 1000;
/// Largest `before`: versions are 64-bit signed integers in the API (`int64`).
pub const MAX_VERSION: u64 = i64::MAX as u64;

/// Query parameters of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// How many entries, 1 to 1000; default 50.
    #[param(minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "query::count")]
    pub limit: Option<usize>,
    /// Only entries of versions below this one (for paging: the last version seen); at most
    /// 2^63 - 1, like every version.
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    #[serde(default, deserialize_with = "query::whole_number")]
    pub before: Option<u64>,
    /// Only the entries of this flag (`create`, `update`, `delete`). One call reads at most
    /// 10,000 entries of the log: it may answer fewer than `limit` entries and a
    /// `next_before` to go on from.
    #[param(pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    #[serde(default, deserialize_with = "query::text")]
    pub flag: Option<String>,
}

/// The wire form of a stored audit entry.
fn wire_entry(e: AuditEntry) -> wire::AuditEntry {
    let stored = |flag| StoredFlag {
        flag,
        usage: None,
        stale: None,
    };
    wire::AuditEntry {
        version: e.version,
        at: e.at,
        actor: e.actor,
        reason: e.reason,
        action: e.action,
        key: e.key.map(|k| k.to_string()),
        before: e.before.map(stored),
        after: e.after.map(stored),
        restored: e.restored,
        segment_before: e.segment_before,
        segment_after: e.segment_after,
    }
}

/// The audit log of an environment, newest first.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/audit", tag = "audit",
    params(EnvPath, AuditQuery),
    responses(
        (status = 200, description = "Entries newest first", body = AuditPage),
        (status = 400, description = "Bad limit, before or flag"),
    )
)]
pub async fn list(
    _admin: Admin,
    path: web::Path<EnvName>,
    query: Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let Query(query) = query;
    if let Some(before) = query.before.filter(|&b| b > MAX_VERSION) {
        return Err(ApiError::BadRequest(format!(
            "before must be between 0 and {MAX_VERSION}, got {before}"
        )));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let flag = query
        .flag
        .as_deref()
        .map(|s| {
            FlagKey::parse(s).map_err(|m| {
                ApiError::BadRequest(format!("query parameter flag: flag key {s:?} {m}"))
            })
        })
        .transpose()?;
    let (entries, next_before) = state
        .service
        .audit(&env, limit, query.before, flag.as_ref())
        .await?;
    Ok(super::json_response(
        StatusCode::OK,
        &AuditPage {
            environment: env.to_string(),
            entries: entries.into_iter().map(wire_entry).collect(),
            next_before,
        },
    ))
}
