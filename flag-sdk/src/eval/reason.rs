//! What an evaluation answers: whether the flag is on, the variant and value served, and why.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Flag, Serve};

/// Why an evaluation came out as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReasonKind {
    /// The flag is disabled: the kill switch.
    Off,
    /// A rule matched and decided (its percentage, or the one variant it serves).
    Rule,
    /// No rule matched; the flag's percentage or `default_serve` decided.
    Default,
    /// There is no flag of that key.
    NotFound,
    /// A split decided by the bucket: in a matched rule (`rule` is set) or by default.
    Split,
    /// A prerequisite did not evaluate to one of its listed variants: the off variant.
    PrerequisiteFailed,
    /// The flag's type is not the one asked for.
    Error,
}

/// The reason of an [`Evaluation`]: `{"kind": "rule", "rule": "eu-canary", "bucket": 1234}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    /// What decided.
    pub kind: ReasonKind,
    /// The id of the matching rule, for [`ReasonKind::Rule`] and a rule's split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rule: Option<Arc<str>>,
    /// The bucket (`0..=9999`), present whenever the stickiness value was hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 9999))]
    pub bucket: Option<u16>,
}

/// The result of evaluating a flag for a context:
/// `{"enabled": true, "variant": "green", "value": "#00a050", "reason": {"kind": "split",
/// "rule": "beta", "bucket": 7021}}`.
///
/// For a boolean flag, `enabled` is the answer and `variant` / `value` are left out (they are
/// `on`/`true` or `off`/`false`; see [`Snapshot::variant`](crate::Snapshot::variant)). For a flag of another type
/// `enabled` is false only when the flag is disabled or not found, and `variant` / `value` are
/// what it serves (absent when it serves nothing: disabled without an `off_variant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evaluation {
    /// Whether the flag is on for the context.
    pub enabled: bool,
    /// The key of the variant served, for a flag that is not boolean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, required = false))]
    pub variant: Option<Arc<str>>,
    /// The value served, for a flag that is not boolean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>, required = false))]
    pub value: Option<Arc<serde_json::Value>>,
    /// Why.
    pub reason: Reason,
}

impl Evaluation {
    #[inline]
    pub(crate) fn new(
        enabled: bool,
        kind: ReasonKind,
        rule: Option<Arc<str>>,
        bucket: Option<u16>,
    ) -> Self {
        Evaluation {
            enabled,
            variant: None,
            value: None,
            reason: Reason { kind, rule, bucket },
        }
    }

    /// The answer for a key that is not in the snapshot: off.
    pub fn not_found() -> Evaluation {
        Evaluation::new(false, ReasonKind::NotFound, None, None)
    }
}

/// A string served by a flag, or the caller's default; reads as a `&str` without allocating.
///
/// ```
/// use flag_sdk::{Context, Flag, Snapshot};
/// let flag = Flag::from_json(br##"{"key": "button", "type": "string", "enabled": true,
///     "variants": [{"key": "blue", "value": "#0050ff"}], "default_serve": {"variant": "blue"}}"##).unwrap();
/// let snap = Snapshot::compile("production", 1, [flag]);
/// assert_eq!(&*snap.string_value("button", &Context::new(), "#000"), "#0050ff");
/// assert_eq!(&*snap.string_value("missing", &Context::new(), "#000"), "#000");
/// ```
#[derive(Debug, Clone)]
pub enum StringValue<'a> {
    /// The flag's value.
    Served(Arc<str>),
    /// The default the caller gave.
    Default(&'a str),
}

impl std::ops::Deref for StringValue<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            StringValue::Served(s) => s,
            StringValue::Default(s) => s,
        }
    }
}

impl AsRef<str> for StringValue<'_> {
    fn as_ref(&self) -> &str {
        self
    }
}

impl std::fmt::Display for StringValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl PartialEq<str> for StringValue<'_> {
    fn eq(&self, other: &str) -> bool {
        **self == *other
    }
}

impl PartialEq<&str> for StringValue<'_> {
    fn eq(&self, other: &&str) -> bool {
        **self == **other
    }
}

impl ReasonKind {
    /// The kind's name in JSON (`prerequisite_failed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKind::Off => "off",
            ReasonKind::Rule => "rule",
            ReasonKind::Default => "default",
            ReasonKind::NotFound => "not_found",
            ReasonKind::Split => "split",
            ReasonKind::PrerequisiteFailed => "prerequisite_failed",
            ReasonKind::Error => "error",
        }
    }
}

/// A reason in OpenFeature's words, as the server's OFREP endpoints and the OpenFeature
/// provider answer it (flagd's choices where the protocol leaves one):
///
/// | our reason | OpenFeature |
/// |---|---|
/// | `off` | `DISABLED` |
/// | `split`, or `rule` / `default` with a bucket (a percentage strictly between 0 and 100) | `SPLIT` |
/// | `rule` without a bucket; `prerequisite_failed` (another flag's targeting decided) | `TARGETING_MATCH` |
/// | `default` without a bucket, for a flag with no rules and no prerequisites whose default cannot depend on the context (0 %, 100 %, one variant) | `STATIC` |
/// | `default` without a bucket otherwise | `DEFAULT` |
/// | `not_found`, `error` | `ERROR` |
///
/// ```
/// use flag_sdk::{Context, Flag, OpenFeatureReason, Snapshot};
/// let flag = Flag::rollout("new_checkout", 25.0).unwrap();
/// let snap = Snapshot::compile("production", 1, [flag.clone()]);
/// let eval = snap.evaluate("new_checkout", &Context::new().user_id("42"));
/// assert_eq!(OpenFeatureReason::of(&flag, &eval), OpenFeatureReason::Split);
/// assert_eq!(OpenFeatureReason::Split.as_str(), "SPLIT");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenFeatureReason {
    /// The flag is disabled.
    Disabled,
    /// The bucket decided.
    Split,
    /// A rule (or a prerequisite's targeting) decided without hashing.
    TargetingMatch,
    /// The answer cannot depend on the context.
    Static,
    /// No rule matched and the default did not hash.
    Default,
    /// Not found, or the type asked for is not the flag's.
    Error,
}

impl OpenFeatureReason {
    /// The reason of an evaluation of `flag`.
    pub fn of(flag: &Flag, eval: &Evaluation) -> OpenFeatureReason {
        match (eval.reason.kind, eval.reason.bucket) {
            (ReasonKind::Off, _) => OpenFeatureReason::Disabled,
            (ReasonKind::Split, _) | (ReasonKind::Rule | ReasonKind::Default, Some(_)) => {
                OpenFeatureReason::Split
            }
            (ReasonKind::Rule | ReasonKind::PrerequisiteFailed, _) => {
                OpenFeatureReason::TargetingMatch
            }
            (ReasonKind::Default, None) if is_static(flag) => OpenFeatureReason::Static,
            (ReasonKind::Default, None) => OpenFeatureReason::Default,
            (ReasonKind::NotFound | ReasonKind::Error, _) => OpenFeatureReason::Error,
        }
    }

    /// The reason as OpenFeature spells it (`TARGETING_MATCH`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            OpenFeatureReason::Disabled => "DISABLED",
            OpenFeatureReason::Split => "SPLIT",
            OpenFeatureReason::TargetingMatch => "TARGETING_MATCH",
            OpenFeatureReason::Static => "STATIC",
            OpenFeatureReason::Default => "DEFAULT",
            OpenFeatureReason::Error => "ERROR",
        }
    }
}

/// Whether an enabled flag's answer cannot depend on the context: no rules, no prerequisites,
/// and a default that does not hash.
fn is_static(flag: &Flag) -> bool {
    if !flag.rules.is_empty() || !flag.prerequisites.is_empty() {
        return false;
    }
    match &flag.default_serve {
        Some(Serve::Variant(_)) => true,
        Some(Serve::Split(parts)) => parts.iter().filter(|p| p.weight > 0).count() <= 1,
        None => matches!(flag.percentage.basis_points(), 0 | 10_000..),
    }
}
