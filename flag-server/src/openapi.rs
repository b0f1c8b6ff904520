//! The OpenAPI document, generated from the handlers' annotations with `utoipa`, served at
//! `GET /openapi.json` and committed as `openapi/openapi.json`.
//!
//! Regenerate the committed file after an API change:
//!
//! ```text
//! cargo run -p flag-server -- --print-openapi > openapi/openapi.json
//! ```
//!
//! (or `UPDATE_OPENAPI=1 cargo test -p flag-tests --test api openapi`). A test fails when the
//! committed file differs from what the server generates.
//!
//! The flag model lives in `flag-sdk`, which does not depend on `utoipa`; the `*Doc` types
//! below describe its JSON for the document and are not used at run time.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api;

/// A condition operator.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum OperatorDoc {
    In,
    NotIn,
    StartsWith,
    EndsWith,
    Contains,
    Matches,
    Lt,
    Lte,
    Gt,
    Gte,
    SemverEq,
    SemverLt,
    SemverLte,
    SemverGt,
    SemverGte,
    Before,
    After,
}

/// A test of one context attribute.
#[derive(Serialize, ToSchema)]
#[schema(as = Condition)]
pub struct ConditionDoc {
    /// The context attribute.
    #[schema(example = "country")]
    pub attribute: String,
    /// The operator.
    pub operator: OperatorDoc,
    /// Matches when the attribute matches any value (`not_in`: none). Numbers may be given as JSON numbers.
    #[schema(example = json!(["DE", "FR"]))]
    pub values: Vec<String>,
}

/// A targeting rule; the first rule whose conditions all match decides.
#[derive(Serialize, ToSchema)]
#[schema(as = Rule)]
pub struct ConditionsRuleDoc {
    /// Unique within the flag; shown in evaluation reasons.
    #[schema(example = "eu-canary")]
    pub id: String,
    /// All must match.
    pub conditions: Vec<ConditionDoc>,
    /// Rollout among matching contexts: 0 to 100, at most two decimals. Default 100.
    #[schema(example = 25)]
    pub percentage: f64,
}

/// A feature flag as stored and served.
#[derive(Serialize, ToSchema)]
#[schema(as = Flag)]
pub struct FlagDoc {
    /// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`
    #[schema(
        example = "new_checkout",
        pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
    )]
    pub key: String,
    /// Free text.
    pub description: String,
    /// The kill switch: false turns the flag off for everyone.
    pub enabled: bool,
    /// Tried in order.
    pub rules: Vec<ConditionsRuleDoc>,
    /// Rollout when no rule matches: 0 to 100, at most two decimals.
    #[schema(example = 5)]
    pub percentage: f64,
    /// The context attribute hashed into a bucket.
    #[schema(example = "user_id")]
    pub stickiness: String,
    /// Mixed into the hash; defaults to the key.
    pub salt: String,
    /// Labels.
    pub tags: Vec<String>,
    /// Owner.
    pub owner: Option<String>,
    /// When the flag is meant to be removed.
    pub expires_at: Option<DateTime<Utc>>,
    /// Set by the server: the environment version of the flag's last change.
    pub version: u64,
    /// Set by the server.
    pub updated_at: Option<DateTime<Utc>>,
    /// Set by the server: the token name of the last writer.
    pub updated_by: Option<String>,
}

/// A flag as sent by a client. Unknown fields are rejected; `version`, `updated_at` and
/// `updated_by` are accepted and ignored (so an exported document can be applied).
#[derive(Serialize, ToSchema)]
#[schema(as = FlagInput)]
pub struct FlagInputDoc {
    /// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`
    #[schema(example = "new_checkout")]
    pub key: String,
    /// Default empty.
    pub description: Option<String>,
    /// Default false (new flags ship dark).
    pub enabled: Option<bool>,
    /// Default none.
    pub rules: Option<Vec<ConditionsRuleDoc>>,
    /// Default 100.
    pub percentage: Option<f64>,
    /// Default `user_id`.
    pub stickiness: Option<String>,
    /// Default the key.
    pub salt: Option<String>,
    /// Default none.
    pub tags: Option<Vec<String>>,
    /// Default none.
    pub owner: Option<String>,
    /// RFC 3339 instant.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Evaluation counts reported by SDKs, summed.
#[derive(Serialize, ToSchema)]
#[schema(as = FlagUsage)]
pub struct UsageDoc {
    /// Evaluations that answered true.
    pub yes: u64,
    /// Evaluations that answered false.
    pub no: u64,
    /// End of the latest reporting period that included the flag.
    pub last_evaluated: Option<DateTime<Utc>>,
}

/// A flag as admins read it: the flag's fields plus `usage`.
#[derive(Serialize, ToSchema)]
#[schema(as = AdminFlag)]
pub struct AdminFlagDoc {
    #[serde(flatten)]
    flag: FlagDoc,
    /// Evaluation counts from SDKs (`POST /sdk/metrics`).
    usage: UsageDoc,
}

/// The flags of an environment.
#[derive(Serialize, ToSchema)]
#[schema(as = FlagList)]
pub struct FlagListDoc {
    environment: String,
    /// The environment's current version.
    version: u64,
    flags: Vec<AdminFlagDoc>,
}

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

/// `POST /sdk/evaluate` body.
#[derive(Serialize, ToSchema)]
#[schema(as = EvaluateRequest)]
pub struct EvaluateRequestDoc {
    /// Attributes: strings, numbers, booleans or lists of strings.
    #[schema(example = json!({"user_id": "42", "country": "DE"}))]
    context: HashMap<String, serde_json::Value>,
    /// Keys to evaluate; all when absent.
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
#[schema(as = ApplyDocument)]
pub struct ApplyDocumentDoc {
    flags: Vec<FlagInputDoc>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An admin token (admin routes) or an SDK key (/api/v1/sdk/*)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "flag-server",
        description = "Feature flags: admin REST API, SDK API and SSE stream. Errors are application/problem+json.",
        license(name = "Apache-2.0")
    ),
    paths(
        api::environments::list, api::environments::create, api::environments::delete,
        api::flags::list, api::flags::create, api::flags::get, api::flags::replace, api::flags::patch, api::flags::delete,
        api::apply::apply, api::audit::list,
        api::sdk_keys::create, api::sdk_keys::list, api::sdk_keys::revoke,
        api::stream::environment_stream, api::stream::sdk_stream,
        api::sdk::flags, api::sdk::evaluate, api::sdk::metrics,
        api::ops::healthz, api::ops::readyz, api::ops::metrics, api::ops::openapi,
    ),
    components(schemas(api::problem::Problem, api::problem::ProblemField)),
    modifiers(&BearerAuth),
    tags(
        (name = "environments", description = "Environments"),
        (name = "flags", description = "Flags of an environment"),
        (name = "audit", description = "Change history"),
        (name = "sdk-keys", description = "SDK keys"),
        (name = "stream", description = "Server-Sent Events"),
        (name = "sdk", description = "For SDKs: the key names the environment"),
        (name = "ops", description = "No token needed"),
    )
)]
pub struct ApiDoc;

/// The document as pretty-printed JSON with a final newline (generated once).
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        let mut text = doc.to_pretty_json().unwrap_or_else(|_| "{}".into());
        text.push('\n');
        text
    })
}
