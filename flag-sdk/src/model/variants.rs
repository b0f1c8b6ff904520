//! What a flag serves: its type, its variants, what a rule or the default serves (one variant
//! or a weighted split), and the prerequisites that must hold first.
//!
//! A boolean flag has the implicit variants `on` (true) and `off` (false); its `percentage`
//! (flag-level or a rule's) is a split between them, so every boolean flag written before
//! variants existed keeps its meaning and its JSON.

use serde::{Deserialize, Serialize};

use super::FlagKey;

/// The type of the values a flag serves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FlagType {
    /// On or off: the implicit variants `on` (true) and `off` (false).
    #[default]
    Boolean,
    /// A string value per variant.
    String,
    /// A number value per variant.
    Number,
    /// Any JSON value per variant.
    Json,
}

impl FlagType {
    /// The type's name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagType::Boolean => "boolean",
            FlagType::String => "string",
            FlagType::Number => "number",
            FlagType::Json => "json",
        }
    }

    /// True for [`FlagType::Boolean`] (so that the default is skipped in JSON).
    pub fn is_boolean(&self) -> bool {
        *self == FlagType::Boolean
    }

    /// Whether a JSON value is of this type.
    pub fn accepts(self, value: &serde_json::Value) -> bool {
        match self {
            FlagType::Boolean => value.is_boolean(),
            FlagType::String => value.is_string(),
            FlagType::Number => value.is_number(),
            FlagType::Json => true,
        }
    }
}

impl std::fmt::Display for FlagType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key of a boolean flag's `on` variant.
pub const ON: &str = "on";
/// The key of a boolean flag's `off` variant.
pub const OFF: &str = "off";

/// One value a flag can serve, named: `{"key": "blue", "value": "#0050ff"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variant {
    /// Unique within the flag: 1 to 128 characters of A-Z, a-z, 0-9, '_', '.', '-'.
    pub key: String,
    /// The value, of the flag's type.
    pub value: serde_json::Value,
}

/// A share of a split: `{"variant": "blue", "weight": 5000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Weighted {
    /// The variant's key.
    pub variant: String,
    /// In basis points: the weights of a split sum to 10,000.
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub weight: u16,
}

/// What a rule or the flag's default serves: one variant, or a split over variants bucketed
/// like a percentage. JSON: `{"variant": "green"}` or `{"split": [{"variant": "blue",
/// "weight": 5000}, {"variant": "green", "weight": 5000}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Serve {
    /// Always this variant.
    Variant(String),
    /// The variant whose cumulative weight, in the listed order, first exceeds the bucket.
    Split(Vec<Weighted>),
}

/// A flag that must evaluate to one of `variants` for the same context before this flag
/// serves anything but its off variant: `{"flag": "new_checkout", "variants": ["on"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prerequisite {
    /// The flag's key, in the same environment.
    pub flag: FlagKey,
    /// The variants of that flag that let this one through.
    pub variants: Vec<String>,
}

/// [`Serve`] as sent, before validation: exactly one of the two fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeInput {
    /// See [`Serve::Variant`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// See [`Serve::Split`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Vec<Weighted>>,
}

impl From<&Serve> for ServeInput {
    fn from(serve: &Serve) -> ServeInput {
        match serve {
            Serve::Variant(v) => ServeInput {
                variant: Some(v.clone()),
                split: None,
            },
            Serve::Split(parts) => ServeInput {
                variant: None,
                split: Some(parts.clone()),
            },
        }
    }
}

/// [`Prerequisite`] as sent, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrerequisiteInput {
    /// See [`Prerequisite::flag`].
    pub flag: String,
    /// See [`Prerequisite::variants`].
    pub variants: Vec<String>,
}

impl From<&Prerequisite> for PrerequisiteInput {
    fn from(p: &Prerequisite) -> PrerequisiteInput {
        PrerequisiteInput {
            flag: p.flag.to_string(),
            variants: p.variants.clone(),
        }
    }
}
