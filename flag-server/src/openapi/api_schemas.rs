//! Schemas of the SDK and audit messages and of the apply document.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::flag_schemas::*;

/// The snapshot an SDK starts from.
#[derive(Serialize, ToSchema)]
#[schema(as = Snapshot)]
pub struct SnapshotDoc {
    environment: String,
    version: u64,
    flags: Vec<FlagDoc>,
}

/// What decided an evaluation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ReasonKindDoc {
    Off,
    Rule,
    Default,
    NotFound,
}

/// Why an evaluation came out as it did.
#[derive(Serialize, ToSchema)]
#[schema(as = Reason)]
pub struct ReasonDoc {
    kind: ReasonKindDoc,
    /// The matching rule's id, for `rule`.
    rule: Option<String>,
    /// 0..=9999, present whenever the stickiness value was hashed.
    bucket: Option<u16>,
}

/// One evaluation result.
#[derive(Serialize, ToSchema)]
#[schema(as = Evaluation)]
pub struct EvaluationDoc {
    enabled: bool,
    reason: ReasonDoc,
}

/// The value of a context attribute.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = Attribute)]
#[allow(missing_docs)]
pub enum AttributeDoc {
    Text(String),
    Number(f64),
    Boolean(bool),
    List(Vec<String>),
}

/// `POST /sdk/evaluate` body.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EvaluateRequest)]
pub struct EvaluateRequestDoc {
    /// Attributes: strings, numbers, booleans or lists of strings. Default empty.
    #[schema(example = json!({"user_id": "42", "country": "DE"}), required = false)]
    context: HashMap<String, AttributeDoc>,
    /// Keys to evaluate (at most 10000; unknown keys answer `not_found`); all when absent.
    #[schema(max_items = 10000)]
    flags: Option<Vec<String>>,
}

/// `POST /sdk/evaluate` answer.
#[derive(Serialize, ToSchema)]
#[schema(as = EvaluateResponse)]
pub struct EvaluateResponseDoc {
    environment: String,
    version: u64,
    results: HashMap<String, EvaluationDoc>,
}

/// The kind of an audited change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum AuditActionDoc {
    Create,
    Update,
    Delete,
    /// The environment was written back after the store lost its data (no `key`; `restored`
    /// gives the counts).
    Restore,
}

/// What a `restore` entry wrote back.
#[derive(Serialize, ToSchema)]
#[schema(as = RestoreCounts)]
pub struct RestoreCountsDoc {
    /// Flags written back.
    flags: u64,
    /// SDK keys of the environment written back.
    sdk_keys: u64,
}

/// One audit entry.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub struct AuditEntryDoc {
    /// The environment version of the change.
    version: u64,
    /// When.
    at: DateTime<Utc>,
    /// The token's name.
    actor: String,
    /// `X-Change-Reason`.
    reason: Option<String>,
    action: AuditActionDoc,
    /// The flag's key; absent on a `restore` entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    before: Option<FlagDoc>,
    after: Option<FlagDoc>,
    /// Only on a `restore` entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    restored: Option<RestoreCountsDoc>,
}

/// A page of the audit log.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditPage)]
pub struct AuditPageDoc {
    environment: String,
    /// Newest first.
    entries: Vec<AuditEntryDoc>,
}

/// The document of `apply`, as `flag-cli export` writes it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApplyDocument)]
pub struct ApplyDocumentDoc {
    flags: Vec<FlagInputDoc>,
}
