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

/// A test of one context attribute. The values must parse for the operator: numbers for
/// `lt`..`gte`, semantic versions for `semver_*`, RFC 3339 instants for `before`/`after`, a
/// regular expression (Rust `regex` syntax) for `matches`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Condition)]
pub struct ConditionDoc {
    /// The context attribute.
    #[schema(example = "country", min_length = 1, max_length = 1024)]
    pub attribute: String,
    /// The operator.
    pub operator: OperatorDoc,
    /// Matches when the attribute matches any value (`not_in`: none). 1 to 1000 values,
    /// strings of at most 1024 bytes or numbers.
    #[schema(schema_with = condition_values)]
    pub values: Vec<serde_json::Value>,
}

fn bounded_string(min: usize, max: usize) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length((min > 0).then_some(min))
        .max_length(Some(max))
        .build()
}

/// 1 to 1000 values, each a string of at most 1024 bytes or a number.
fn condition_values() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let value = OneOfBuilder::new()
        .item(bounded_string(0, 1024))
        .item(ObjectBuilder::new().schema_type(Type::Number));
    ArrayBuilder::new()
        .items(value)
        .min_items(Some(1))
        .max_items(Some(1000))
        .examples([serde_json::json!(["DE", "FR"])])
        .build()
}

/// At most 50 tags of 1 to 1024 bytes; `nullable` for a merge patch.
fn tags(nullable: bool) -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, SchemaType, Type};
    let ty = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::new(Type::Array)
    };
    ArrayBuilder::new()
        .schema_type(ty)
        .items(bounded_string(1, 1024))
        .max_items(Some(50))
        .build()
}

fn input_tags() -> utoipa::openapi::schema::Array {
    tags(false)
}

fn patch_tags() -> utoipa::openapi::schema::Array {
    tags(true)
}

/// A targeting rule; the first rule whose conditions all match decides.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Rule)]
pub struct ConditionsRuleDoc {
    /// Unique within the flag; shown in evaluation reasons. Same grammar as a flag key.
    #[schema(
        example = "eu-canary",
        pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
        max_length = 128
    )]
    pub id: String,
    /// All must match (at most 20). Default none: the rule matches every context.
    #[schema(required = false, max_items = 20)]
    pub conditions: Vec<ConditionDoc>,
    /// Rollout among matching contexts: 0 to 100, at most two decimals. Default 100.
    #[schema(example = 25, required = false, minimum = 0, maximum = 100)]
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
/// `updated_by` are accepted and ignored (so an exported document can be applied). Lengths
/// are limits in bytes of UTF-8 (JSON Schema counts characters: they agree for ASCII).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FlagInput)]
pub struct FlagInputDoc {
    /// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`
    #[schema(
        example = "new_checkout",
        pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
        max_length = 128
    )]
    pub key: String,
    /// Default empty.
    #[schema(required = false, max_length = 4096)]
    pub description: String,
    /// Default false (new flags ship dark).
    #[schema(required = false)]
    pub enabled: bool,
    /// Default none. At most 100; ids unique.
    #[schema(required = false, max_items = 100)]
    pub rules: Vec<ConditionsRuleDoc>,
    /// 0 to 100, at most two decimals. Default 100.
    #[schema(required = false, minimum = 0, maximum = 100)]
    pub percentage: f64,
    /// Default `user_id`.
    #[schema(min_length = 1, max_length = 1024)]
    pub stickiness: Option<String>,
    /// Default the key.
    #[schema(max_length = 1024)]
    pub salt: Option<String>,
    /// Default none. At most 50, none empty.
    #[schema(required = false, schema_with = input_tags)]
    pub tags: Vec<String>,
    /// Default none.
    #[schema(max_length = 1024)]
    pub owner: Option<String>,
    /// RFC 3339 instant.
    pub expires_at: Option<DateTime<Utc>>,
    /// Ignored: set by the server.
    #[schema(required = false, value_type = Object)]
    pub version: Option<serde_json::Value>,
    /// Ignored: set by the server.
    #[schema(required = false, value_type = Object)]
    pub updated_at: Option<serde_json::Value>,
    /// Ignored: set by the server.
    #[schema(required = false, value_type = Object)]
    pub updated_by: Option<serde_json::Value>,
}

/// A JSON merge patch (RFC 7386) of a flag: the fields to change, `null` to reset one to its
/// default. The result must be a valid flag with the same key.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FlagPatch)]
pub struct FlagPatchDoc {
    /// Must stay the path's key.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", max_length = 128)]
    pub key: Option<String>,
    /// Free text, at most 4096 bytes.
    #[schema(max_length = 4096)]
    pub description: Option<String>,
    /// The kill switch.
    pub enabled: Option<bool>,
    /// Replaces the rules.
    #[schema(max_items = 100)]
    pub rules: Option<Vec<ConditionsRuleDoc>>,
    /// 0 to 100, at most two decimals.
    #[schema(minimum = 0, maximum = 100)]
    pub percentage: Option<f64>,
    /// The attribute hashed.
    #[schema(min_length = 1, max_length = 1024)]
    pub stickiness: Option<String>,
    /// Mixed into the hash.
    #[schema(max_length = 1024)]
    pub salt: Option<String>,
    /// Labels.
    #[schema(schema_with = patch_tags)]
    pub tags: Option<Vec<String>>,
    /// Owner.
    #[schema(max_length = 1024)]
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

/// What every operation may answer besides its own successes, and the grammar of the path
/// names, applied to the whole document so that no operation can forget them:
///
/// - path parameters `env` and `key` carry the exact grammar of [`flag_sdk::EnvName`] and
///   [`flag_sdk::FlagKey`] (a name outside it is a 400);
/// - 400 wherever the request has parameters or a body, 401 and 403 wherever a token is
///   needed, 404 wherever an environment is named, 413 and 415 wherever a body is read, 503
///   on every `/api/v1` route (the store may be unreachable).
struct Contract;

/// `^[a-z0-9][a-z0-9_-]{0,63}$`, as [`flag_sdk::EnvName::parse`] checks it.
pub const ENV_NAME_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,63}$";
/// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`, as [`flag_sdk::FlagKey::parse`] checks it.
pub const FLAG_KEY_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$";

/// `If-Match`: `*`, or one version, quoted (its ETag) or not, optionally weak.
pub const IF_MATCH_PATTERN: &str = "^(\\*|(W/)?\"[0-9]{1,19}\"|[0-9]{1,19})$";
/// `X-Change-Reason`: visible ASCII and spaces, at most 1024 bytes.
pub const CHANGE_REASON_PATTERN: &str = "^[\\t\\x20-\\x7E]{0,1024}$";

fn pattern_schema(
    pattern: &str,
    example: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .examples([serde_json::Value::from(example)])
        .into()
}

fn name_schema(
    pattern: &str,
    max: usize,
    example: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(Some(1))
        .max_length(Some(max))
        .examples([serde_json::Value::from(example)])
        .into()
}

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            api::problem::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .into()
}

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let creates_env = path == "/api/v1/environments/{env}";
            let ops = [
                (&mut item.get, false),
                (&mut item.put, creates_env),
                (&mut item.post, false),
                (&mut item.patch, false),
                (&mut item.delete, false),
            ];
            for (op, creates) in ops {
                let Some(op) = op else { continue };
                for param in op.parameters.iter_mut().flatten() {
                    if matches!(param.parameter_in, ParameterIn::Header) && param.name == "If-Match"
                    {
                        param.schema = Some(pattern_schema(IF_MATCH_PATTERN, "\"7\""));
                    }
                    if matches!(param.parameter_in, ParameterIn::Header)
                        && param.name == "X-Change-Reason"
                    {
                        param.schema =
                            Some(pattern_schema(CHANGE_REASON_PATTERN, "raise the canary"));
                    }
                    if !matches!(param.parameter_in, ParameterIn::Path) {
                        continue;
                    }
                    match param.name.as_str() {
                        "env" => {
                            param.schema = Some(name_schema(
                                ENV_NAME_PATTERN,
                                flag_sdk::MAX_ENV_LEN,
                                "production",
                            ))
                        }
                        "key" => {
                            param.schema = Some(name_schema(
                                FLAG_KEY_PATTERN,
                                flag_sdk::MAX_KEY_LEN,
                                "new_checkout",
                            ))
                        }
                        _ => {}
                    }
                }
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = op.request_body.is_some();
                let needs_token = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem_response(description));
                };
                if has_params || has_body {
                    add(
                        "400",
                        "Bad input: a parameter, header or body that is not valid",
                    );
                }
                if needs_token {
                    add("401", "No token, or an unknown or revoked one");
                    add(
                        "403",
                        "The wrong kind of token (an SDK key on an admin route, or the reverse)",
                    );
                }
                if path.contains("{env}") && !creates {
                    add("404", "No such environment");
                }
                if has_body {
                    add("413", "The body is larger than the server's limit");
                    add("415", "The body is not JSON");
                }
                if path.starts_with("/api/v1/") {
                    add("503", "Store unavailable; nothing was changed");
                }
            }
        }
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
    modifiers(&BearerAuth, &Contract),
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
