//! The admin API's messages: environments, SDK keys, apply and its plan, the audit log, and
//! the problem details of every error.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoredFlag;
use crate::FieldError;

/// An environment with its current version and number of flags (`PUT /environments/{env}`,
/// an item of [`EnvironmentList`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentInfo {
    /// The environment's name.
    #[cfg_attr(feature = "openapi", schema(example = "production"))]
    pub name: String,
    /// Its change version (0 when nothing was ever written).
    pub version: u64,
    /// How many flags it has.
    pub flags: usize,
}

/// `GET /environments`: `{"environments": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentList {
    /// Every environment, sorted by name.
    pub environments: Vec<EnvironmentInfo>,
}

/// The (optional) body of `POST /environments/{env}/sdk-keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSdkKey {
    /// A label for people, e.g. `checkout-service`, 1 to 128 characters, not only spaces;
    /// default `sdk-key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 128, pattern = "\\S")
    )]
    pub name: Option<String>,
}

/// An SDK key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SdkKeyInfo {
    /// Public identifier, used to revoke.
    pub id: String,
    /// The environment the key reads.
    pub environment: String,
    /// The label.
    pub name: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// Who issued it.
    pub created_by: String,
}

/// The answer of `POST .../sdk-keys`: the new key with its secret, shown this once only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedSdkKey {
    /// The key's details.
    #[serde(flatten)]
    pub info: SdkKeyInfo,
    /// The secret to give the SDK (`Authorization: Bearer <key>`). Not retrievable later.
    pub key: String,
}

/// `GET .../sdk-keys`: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SdkKeyList {
    /// The environment's keys, oldest first.
    pub keys: Vec<SdkKeyInfo>,
}

/// The body of `POST /environments/{env}/apply`: `{"flags": [...]}`, the document
/// `flag-cli export` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplyRequest {
    /// The flags the environment should hold (the contract's flag model).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub flags: Vec<serde_json::Value>,
    /// The segments the environment should hold (the contract's segment model); absent:
    /// segments are left as they are. Applied before the flags, so flags can reference them;
    /// with `prune`, segments not listed are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub segments: Option<Vec<serde_json::Value>>,
}

/// What an apply does to segments (only when the request listed segments).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentPlan {
    /// Keys of segments created.
    pub created: Vec<String>,
    /// Keys of segments changed.
    pub updated: Vec<String>,
    /// Keys of segments deleted (only with `prune`).
    pub deleted: Vec<String>,
    /// Keys of segments already as in the document.
    pub unchanged: Vec<String>,
    /// Keys of segments in the environment but not in the document, kept because `prune` is off.
    pub kept: Vec<String>,
}

/// One changed field of a flag in a [`Plan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    /// The field's name (`percentage`, `rules`).
    pub field: String,
    /// Its value now.
    pub before: serde_json::Value,
    /// Its value after the apply.
    pub after: serde_json::Value,
}

/// A flag the apply changes, with its field diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagUpdate {
    /// The flag's key.
    pub key: String,
    /// The fields that change.
    pub changes: Vec<FieldChange>,
}

/// The answer of `apply`: what it does (or did, or would do with `dry_run`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    /// The environment.
    pub environment: String,
    /// True when nothing was changed because `dry_run` was asked for.
    pub dry_run: bool,
    /// The environment's version after the apply.
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
    /// What happens to segments; omitted when the request listed none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<SegmentPlan>,
}

impl Plan {
    /// True when applying changes something.
    pub fn has_drift(&self) -> bool {
        !(self.created.is_empty() && self.updated.is_empty() && self.deleted.is_empty())
            || self.segments.as_ref().is_some_and(|s| {
                !(s.created.is_empty() && s.updated.is_empty() && s.deleted.is_empty())
            })
    }
}

/// The kind of an audited change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditAction {
    /// A flag was created.
    Create,
    /// A flag was replaced or patched.
    Update,
    /// A flag was deleted.
    Delete,
    /// The environment was written back after the store lost its data.
    Restore,
    /// A segment was created (`key` is the segment's).
    SegmentCreate,
    /// A segment was replaced.
    SegmentUpdate,
    /// A segment was deleted.
    SegmentDelete,
}

impl AuditAction {
    /// Whether the entry is a change of a flag (`create`, `update`, `delete`), whose `key` is
    /// a flag's.
    ///
    /// ```
    /// use flag_sdk::wire::AuditAction;
    /// assert!(AuditAction::Update.is_flag_change());
    /// assert!(!AuditAction::SegmentUpdate.is_flag_change());
    /// ```
    pub fn is_flag_change(self) -> bool {
        matches!(self, Self::Create | Self::Update | Self::Delete)
    }
}

/// What a `restore` audit entry wrote back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestoreCounts {
    /// Flags written back.
    pub flags: u64,
    /// SDK keys of the environment written back.
    pub sdk_keys: u64,
    /// Segments written back; omitted when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub segments: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One audit entry: who changed what, when, why, with the flag before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// The environment version of the change.
    pub version: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// The token's name.
    pub actor: String,
    /// `X-Change-Reason`.
    pub reason: Option<String>,
    /// What kind of change.
    pub action: AuditAction,
    /// The flag's key (the segment's, on a `segment_*` entry); absent on a `restore` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The flag before (none for a create).
    #[serde(default)]
    pub before: Option<StoredFlag>,
    /// The flag after (none for a delete).
    #[serde(default)]
    pub after: Option<StoredFlag>,
    /// What a restore wrote back; only on a `restore` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<RestoreCounts>,
    /// The segment before; only on `segment_update` and `segment_delete` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_before: Option<crate::Segment>,
    /// The segment after; only on `segment_create` and `segment_update` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_after: Option<crate::Segment>,
}

/// `GET /environments/{env}/audit`: a page of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    /// The environment.
    pub environment: String,
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// The `before` that asks for the next (older) page; absent when the log has nothing
    /// older to look at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

/// Every error answer: `application/problem+json` (RFC 9457).
///
/// Reading is lenient (a missing member is empty), so that the partial problem of a proxy
/// in between is still understood.
///
/// ```
/// let p: flag_sdk::wire::Problem = serde_json::from_str(r#"{"type": "urn:flag-service:problem:invalid",
///     "title": "Invalid flag", "status": 400, "detail": "1 problem",
///     "errors": [{"field": "rules[1].percentage", "message": "must be between 0 and 100"}]}"#).unwrap();
/// assert_eq!(p.errors[0].field, "rules[1].percentage");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "Every error answer: `application/problem+json` (RFC 9457).")
)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub kind: String,
    /// A short summary of the kind of problem.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub title: String,
    /// The HTTP status.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub status: u16,
    /// What went wrong this time, for a person.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub detail: String,
    /// The problems with individual fields (may be empty).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub errors: Vec<FieldError>,
}

/// The body of `POST /environments/{env}/flags/{key}/promote`: where the flag's definition
/// comes from, and the target's kill switch.
///
/// ```
/// let r: flag_sdk::wire::PromoteRequest = serde_json::from_str(r#"{"from": "staging"}"#).unwrap();
/// assert_eq!(r.from.as_str(), "staging");
/// assert_eq!(r.enabled, None); // the target's own enabled state is kept
/// assert!(serde_json::from_str::<flag_sdk::wire::PromoteRequest>(r#"{"from": "Staging"}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "The body of a promotion: where the flag's definition comes from, and the target's kill switch."
    )
)]
pub struct PromoteRequest {
    /// The environment the definition is copied from; not the target.
    pub from: crate::EnvName,
    /// The flag's `enabled` in the target after the promotion. Absent (or null): the target's
    /// own state is kept, and a flag new to the target arrives disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// What a promotion does to the target environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PromoteAction {
    /// The flag is new to the target.
    Create,
    /// The target's flag changes (the fields in `changes`).
    Update,
    /// The target's flag is already as promoted: nothing is written.
    Unchanged,
}

/// The answer of a promotion: what it does (or did, or would do with `dry_run`) to the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Promotion {
    /// The target environment.
    pub environment: String,
    /// The environment the definition was copied from.
    pub from: String,
    /// The flag's key.
    pub key: String,
    /// Create, update or unchanged.
    pub action: PromoteAction,
    /// The fields of the target's flag that change, as in an apply plan's `updated`; empty
    /// for a create (the whole flag is in `flag`) and when unchanged.
    pub changes: Vec<FieldChange>,
    /// True when nothing was written because `dry_run` was asked for.
    pub dry_run: bool,
    /// The target's flag after the promotion: as stored, or, in a dry run, as it would be
    /// stored (its `version` the environment's next one).
    pub flag: StoredFlag,
}

impl Promotion {
    /// True when the promotion writes (or would write) the target.
    pub fn has_changes(&self) -> bool {
        self.action != PromoteAction::Unchanged
    }
}

/// The request headers by which an SDK says who it is (contract section 4, *SDK*). The
/// server lists what they carry at `GET /environments/{env}/clients`.
pub mod client_headers {
    /// The application's name, e.g. `checkout`.
    pub const APP_NAME: &str = "X-Flag-App-Name";
    /// The application's version, e.g. `2.3.1`.
    pub const APP_VERSION: &str = "X-Flag-App-Version";
    /// The running instance (one process), stable for the client's life.
    pub const INSTANCE_ID: &str = "X-Flag-Instance-Id";
    /// The SDK and its version, e.g. `flag-sdk-rust/0.1.0`.
    pub const SDK: &str = "X-Flag-Sdk";
    /// Longest value, in bytes.
    pub const MAX_LEN: usize = 128;

    /// Whether `value` is a valid value of these headers: 1 to [`MAX_LEN`] bytes of visible
    /// ASCII (`!` to `~`, no spaces).
    ///
    /// ```
    /// use flag_sdk::wire::client_headers::is_valid;
    /// assert!(is_valid("checkout"));
    /// assert!(is_valid("2.3.1+build.7"));
    /// assert!(!is_valid(""));
    /// assert!(!is_valid("my app"));
    /// assert!(!is_valid("café"));
    /// assert!(!is_valid(&"x".repeat(129)));
    /// ```
    pub fn is_valid(value: &str) -> bool {
        (1..=MAX_LEN).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
    }
}

/// One running instance of an application, as `GET /environments/{env}/clients` lists it.
///
/// ```
/// let c: flag_sdk::wire::ClientInfo = serde_json::from_str(r#"{"instance_id": "web-1-4242-a1b2",
///     "app_name": "checkout", "app_version": "2.3.1", "sdk": "flag-sdk-rust/0.1.0",
///     "first_seen": "2026-11-30T05:00:00Z", "last_seen": "2026-11-30T05:10:00Z",
///     "streaming": true, "flags": ["new_checkout"]}"#).unwrap();
/// assert_eq!(c.app_version.as_deref(), Some("2.3.1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "One running instance of an application, as `GET /environments/{env}/clients` lists it."
    )
)]
pub struct ClientInfo {
    /// The instance's id (`X-Flag-Instance-Id`).
    #[cfg_attr(feature = "openapi", schema(example = "web-7f9c-4242-a1b2c3"))]
    pub instance_id: String,
    /// The application's name (`X-Flag-App-Name`); null when it did not say.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "checkout"))]
    pub app_name: Option<String>,
    /// The application's version (`X-Flag-App-Version`); null when it did not say.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "2.3.1"))]
    pub app_version: Option<String>,
    /// The SDK and its version (`X-Flag-Sdk`); null when it did not say.
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, example = "flag-sdk-rust/0.1.0")
    )]
    pub sdk: Option<String>,
    /// Its first request seen (within the last day).
    pub first_seen: DateTime<Utc>,
    /// Its last request seen.
    pub last_seen: DateTime<Utc>,
    /// Whether its stream is connected to a server instance now.
    pub streaming: bool,
    /// The keys of the flags it evaluated (from its metrics reports), sorted.
    pub flags: Vec<String>,
}

/// `GET /environments/{env}/clients`: the instances seen in the last hour, sorted by
/// `app_name` (those without one first), then `instance_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientList {
    /// The environment.
    pub environment: String,
    /// The instances.
    pub clients: Vec<ClientInfo>,
}
