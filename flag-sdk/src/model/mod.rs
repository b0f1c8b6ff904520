//! The flag model of the contract (section 3): what is stored, served and evaluated.
//!
//! What a user writes is a [`FlagSpec`]; what the server keeps is a [`Flag`]: the spec plus the
//! fields the server sets (`version`, `updated_at`, `updated_by`). A spec can only be obtained
//! through validation ([`FlagSpec::from_json`], [`FlagSpec::from_value`],
//! [`FlagInput::validate`] or deserialization), so a `FlagSpec` (and a `Flag`) in hand is always
//! well formed.

mod condition;
mod convert;
mod flag;
pub(crate) mod input;
mod names;
mod patch;
mod references;
#[cfg(feature = "openapi")]
mod schema;
mod segment;
mod serialize;
mod serving;
mod stale;
pub(crate) mod values;
pub(crate) mod variants;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use input::{ConditionInput, FlagInput, RuleInput};
pub use names::{
    EnvName, FlagKey, NameError, NameProblem, Percentage, PercentageError, MAX_ENV_LEN, MAX_KEY_LEN,
};
pub use references::check_references;
pub use segment::{Segment, SegmentInput};
pub use stale::{Settled, StaleDays, StaleDaysError, StaleFilter, StaleReason};
pub use variants::{
    FlagType, Prerequisite, PrerequisiteInput, Serve, ServeInput, Variant, Weighted, OFF, ON,
};

use crate::error::ValidationErrors;

/// Limits on the size of one flag, so one flag cannot exhaust memory or evaluation time.
pub mod limits {
    /// Rules per flag.
    pub const MAX_RULES: usize = 100;
    /// Conditions per rule.
    pub const MAX_CONDITIONS: usize = 20;
    /// Values per condition.
    pub const MAX_VALUES: usize = 1_000;
    /// Bytes in a condition value, an attribute name, a rule id, a tag, an owner or a salt.
    pub const MAX_STRING: usize = 1_024;
    /// Bytes in a description.
    pub const MAX_DESCRIPTION: usize = 4_096;
    /// Tags per flag.
    pub const MAX_TAGS: usize = 50;
    /// Bytes of a compiled regular expression (the `regex` crate's size limit).
    pub const MAX_REGEX_SIZE: usize = 256 * 1024;
    /// Variants per flag, and shares per split.
    pub const MAX_VARIANTS: usize = 100;
    /// Bytes of one variant's value, as JSON.
    pub const MAX_VARIANT_VALUE: usize = 32 * 1024;
    /// Prerequisites per flag.
    pub const MAX_PREREQUISITES: usize = 20;
    /// Longest chain of prerequisites (a flag, its prerequisite, that one's, ...).
    pub const MAX_PREREQUISITE_DEPTH: usize = 8;
    /// Values in a segment's `included` or `excluded`.
    pub const MAX_SEGMENT_VALUES: usize = 10_000;
}

/// What a user writes about a flag: every field but the ones the server sets.
///
/// A `FlagSpec` is what validation produces ([`FlagSpec::from_json`], [`FlagSpec::from_value`],
/// [`FlagInput::validate`] or deserialization), what a merge patch is applied to and what the
/// CLI exports and plans.
///
/// ```
/// use flag_sdk::FlagSpec;
/// let spec = FlagSpec::from_json(br#"{"key": "new_checkout", "enabled": true, "percentage": 25}"#).unwrap();
/// assert_eq!(spec.key.as_str(), "new_checkout");
/// assert_eq!(spec.salt, "new_checkout"); // defaults to the key
/// assert_eq!(spec.stickiness, "user_id");
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "FlagInput")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "What a user writes of a feature flag.")
)]
pub struct FlagSpec {
    /// Unique key within an environment.
    pub key: FlagKey,
    /// The type of the values served; `boolean` (the default) is left out of the JSON.
    #[cfg_attr(feature = "openapi", schema(rename = "type", required = false))]
    pub flag_type: FlagType,
    /// Free text for people.
    pub description: String,
    /// The kill switch: `false` turns the flag off for everyone, whatever the rules say (it
    /// serves `off_variant`).
    pub enabled: bool,
    /// The values a string, number or json flag serves (empty for a boolean flag, whose
    /// variants are `on` and `off`).
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub variants: Vec<Variant>,
    /// Flags that must evaluate to one of the listed variants first; otherwise the flag
    /// serves `off_variant`.
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub prerequisites: Vec<Prerequisite>,
    /// Targeting rules, tried in order; the first whose conditions all match decides.
    pub rules: Vec<Rule>,
    /// A boolean flag's rollout for contexts that match no rule (absent from the JSON when
    /// `default_serve` is given).
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub percentage: Percentage,
    /// What contexts that match no rule are served, instead of `percentage`.
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub default_serve: Option<Serve>,
    /// What the flag serves when disabled or when a prerequisite fails (a boolean flag:
    /// `off`; a flag of another type without one: nothing, so SDKs answer their default).
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub off_variant: Option<String>,
    /// The context attribute that is hashed into a bucket.
    pub stickiness: String,
    /// Mixed into the hash so that flags bucket users independently.
    pub salt: String,
    /// Labels for people and tools.
    pub tags: Vec<String>,
    /// Who owns the flag.
    pub owner: Option<String>,
    /// When the flag is meant to be removed (informational).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A feature flag as the server keeps it and the SDK evaluates it: its [`FlagSpec`] plus the
/// fields the server sets on every write. Its JSON is the spec's fields followed by `version`,
/// `updated_at` and `updated_by`.
///
/// The spec's fields read through the flag (`flag.key` is `flag.spec.key`). Deserializing a
/// `Flag` validates its spec and, like [`Flag::from_json`], leaves the server-set fields unset:
/// only a server stamps them.
///
/// ```
/// use flag_sdk::Flag;
/// let flag = Flag::from_json(br#"{"key": "new_checkout", "enabled": true, "percentage": 25}"#).unwrap();
/// assert_eq!(flag.key.as_str(), "new_checkout");
/// assert_eq!(flag.version, 0); // not written by a server yet
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FlagInput")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "A feature flag as stored and served.")
)]
pub struct Flag {
    /// What the user wrote.
    #[serde(flatten)]
    pub spec: FlagSpec,
    /// Set by the server: the environment version of the last change to this flag.
    pub version: u64,
    /// Set by the server: when the flag last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// Set by the server: who last changed the flag.
    pub updated_by: Option<String>,
}

/// A targeting rule.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    /// Identifier shown in evaluation reasons; unique within its flag.
    pub id: String,
    /// All must match for the rule to apply.
    pub conditions: Vec<Condition>,
    /// A boolean rule's rollout among the contexts it matches (absent from the JSON when
    /// `serve` is given).
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub percentage: Percentage,
    /// What the rule serves, instead of `percentage`.
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub serve: Option<Serve>,
}

/// One test of a context attribute. Built only through validation, which parses its values
/// for its operator once and keeps them parsed, ready for evaluation.
///
/// Equality and JSON are those of the values as written.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Condition {
    attribute: String,
    operator: Operator,
    values: Vec<String>,
    #[serde(skip_serializing_if = "input::is_false")]
    #[cfg_attr(feature = "openapi", schema(required = false))]
    negate: bool,
    #[serde(skip_serializing_if = "input::is_false")]
    #[cfg_attr(feature = "openapi", schema(required = false))]
    case_insensitive: bool,
    #[serde(skip)]
    parsed: values::Values,
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.attribute == other.attribute
            && self.operator == other.operator
            && self.values == other.values
            && self.negate == other.negate
            && self.case_insensitive == other.case_insensitive
    }
}

impl Condition {
    /// Builds a condition, checking that every value parses for the operator.
    ///
    /// ```
    /// use flag_sdk::{Condition, Operator};
    /// assert!(Condition::new("app_version", Operator::SemverGte, vec!["2.3.0".into()]).is_ok());
    /// assert!(Condition::new("app_version", Operator::SemverGte, vec!["two".into()]).is_err());
    /// ```
    pub fn new(
        attribute: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Self, ValidationErrors> {
        let input = ConditionInput {
            attribute: attribute.into(),
            operator: operator.as_str().to_owned(),
            values: values.into_iter().map(serde_json::Value::String).collect(),
            negate: false,
            case_insensitive: false,
        };
        let mut errors = ValidationErrors::default();
        let condition = condition::validate_condition(&input, "", &mut errors);
        errors.into_result()?;
        condition.ok_or_else(ValidationErrors::default)
    }

    /// The context attribute tested.
    pub fn attribute(&self) -> &str {
        &self.attribute
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values; the condition matches when the attribute matches any of them
    /// (`not_in`: none of them).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether the result is inverted: a negated condition matches exactly when the same
    /// condition without `negate` does not (so also when the attribute is missing).
    pub fn negate(&self) -> bool {
        self.negate
    }

    /// Whether text is compared without regard to case (Unicode lowercase).
    pub fn case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// The same condition, negated (or not).
    pub fn negated(mut self, negate: bool) -> Self {
        self.negate = negate;
        self
    }

    /// The values parsed for the operator, as validation parsed them.
    pub(crate) fn parsed(&self) -> &values::Values {
        &self.parsed
    }
}

macro_rules! operators {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// A condition operator.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Operator {
            $(#[doc = $doc] #[serde(rename = $name)] $variant,)*
        }

        impl Operator {
            /// Every operator.
            pub const ALL: &'static [Operator] = &[$(Operator::$variant,)*];

            /// The operator's name in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $(Operator::$variant => $name,)* }
            }

            /// Parses an operator name.
            pub fn parse(s: &str) -> Option<Operator> {
                match s { $($name => Some(Operator::$variant),)* _ => None }
            }
        }
    };
}

operators! {
    In => "in", "The attribute equals one of the values.";
    NotIn => "not_in", "The attribute is present and equals none of the values.";
    StartsWith => "starts_with", "The attribute starts with one of the values.";
    EndsWith => "ends_with", "The attribute ends with one of the values.";
    Contains => "contains", "The attribute contains one of the values.";
    Matches => "matches", "The attribute matches one of the regular expressions.";
    Lt => "lt", "The attribute is a number less than a value.";
    Lte => "lte", "The attribute is a number less than or equal to a value.";
    Gt => "gt", "The attribute is a number greater than a value.";
    Gte => "gte", "The attribute is a number greater than or equal to a value.";
    SemverEq => "semver_eq", "The attribute is a semantic version equal to a value.";
    SemverLt => "semver_lt", "The attribute is a semantic version lower than a value.";
    SemverLte => "semver_lte", "The attribute is a semantic version lower than or equal to a value.";
    SemverGt => "semver_gt", "The attribute is a semantic version greater than a value.";
    SemverGte => "semver_gte", "The attribute is a semantic version greater than or equal to a value.";
    Before => "before", "The attribute is an RFC 3339 instant before a value.";
    After => "after", "The attribute is an RFC 3339 instant after a value.";
    Eq => "eq", "The attribute is a number equal to a value.";
    InSegment => "in_segment", "The context is in one of the segments named by the values.";
    NotInSegment => "not_in_segment", "The context is in none of the segments named by the values.";
}

impl Operator {
    /// Whether the operator's values name segments.
    pub fn is_segment(self) -> bool {
        matches!(self, Operator::InSegment | Operator::NotInSegment)
    }

    /// Whether the operator compares text, so that `case_insensitive` applies.
    pub fn has_case(self) -> bool {
        use Operator::*;
        matches!(self, In | NotIn | StartsWith | EndsWith | Contains)
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
