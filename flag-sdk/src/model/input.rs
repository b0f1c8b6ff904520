//! The unvalidated shape of a flag as it arrives, and its validation into a [`FlagSpec`].
//!
//! Type errors (a string where a number belongs, an unknown field) stop deserialization at the
//! first one and are reported with its path; everything else is checked afterwards and *every*
//! problem is reported, each with its field path.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::condition::{check_attribute, check_len, validate_condition};
use super::limits::*;
use super::names::check_name;
use super::serving::{
    validate_decision, validate_prerequisites, validate_variants, VariantNames, MAX_KEY_LEN_RULE,
};
use super::values::parse_instant;
use super::variants::{PrerequisiteInput, ServeInput, OFF};
use super::{Condition, FlagKey, FlagSpec, FlagType, Rule, Variant};
use crate::error::ValidationErrors;

pub(crate) const DEFAULT_STICKINESS: &str = "user_id";

/// A flag as sent by a client, before validation. Unknown fields are rejected.
///
/// Defaults: `type` boolean, `enabled` false (new flags ship dark), `percentage` 100 for a
/// boolean flag without `default_serve` (an enabled flag with no rules is on for everyone),
/// `stickiness` `user_id`, `salt` the key. The fields a server sets on a [`Flag`] (`version`,
/// `updated_at`, `updated_by`) are accepted, so that a flag the server answered can be sent
/// back, and ignored: they are no part of the [`FlagSpec`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagInput {
    /// See [`FlagSpec::key`].
    pub key: String,
    /// See [`FlagSpec::flag_type`].
    #[serde(rename = "type", default, skip_serializing_if = "FlagType::is_boolean")]
    pub flag_type: FlagType,
    /// See [`FlagSpec::description`].
    #[serde(default)]
    pub description: String,
    /// See [`FlagSpec::enabled`].
    #[serde(default)]
    pub enabled: bool,
    /// See [`FlagSpec::variants`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// See [`FlagSpec::prerequisites`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<PrerequisiteInput>,
    /// See [`FlagSpec::rules`].
    #[serde(default)]
    pub rules: Vec<RuleInput>,
    /// See [`FlagSpec::percentage`]; a boolean flag without `default_serve` defaults to 100.
    #[serde(
        default,
        deserialize_with = "some_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub percentage: Option<f64>,
    /// See [`FlagSpec::default_serve`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_serve: Option<ServeInput>,
    /// See [`FlagSpec::off_variant`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_variant: Option<String>,
    /// See [`FlagSpec::stickiness`].
    #[serde(default)]
    pub stickiness: Option<String>,
    /// See [`FlagSpec::salt`].
    #[serde(default)]
    pub salt: Option<String>,
    /// See [`FlagSpec::tags`].
    #[serde(default)]
    pub tags: Vec<String>,
    /// See [`FlagSpec::owner`].
    #[serde(default)]
    pub owner: Option<String>,
    /// See [`FlagSpec::expires_at`]; an RFC 3339 instant.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Ignored: set by the server.
    #[serde(default, skip_serializing)]
    pub version: Option<serde_json::Value>,
    /// Ignored: set by the server.
    #[serde(default, skip_serializing)]
    pub updated_at: Option<serde_json::Value>,
    /// Ignored: set by the server.
    #[serde(default, skip_serializing)]
    pub updated_by: Option<serde_json::Value>,
}

/// A rule before validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// See [`Rule::id`].
    pub id: String,
    /// See [`Rule::conditions`].
    #[serde(default)]
    pub conditions: Vec<ConditionInput>,
    /// See [`Rule::percentage`]; a boolean rule without `serve` defaults to 100.
    #[serde(
        default,
        deserialize_with = "some_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub percentage: Option<f64>,
    /// See [`Rule::serve`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve: Option<ServeInput>,
}

/// A condition before validation. Values may be strings or numbers; numbers are kept as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionInput {
    /// See [`Condition::attribute`].
    pub attribute: String,
    /// See [`Condition::operator`].
    pub operator: String,
    /// See [`Condition::values`].
    pub values: Vec<serde_json::Value>,
    /// See [`Condition::negate`].
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// See [`Condition::case_insensitive`].
    #[serde(default, skip_serializing_if = "is_false")]
    pub case_insensitive: bool,
}

/// A percentage, when present, is a number (`null` is a type error, as it always was).
fn some_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    f64::deserialize(d).map(Some)
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

impl FlagInput {
    /// Deserializes JSON bytes; a type error is reported with its field path.
    pub fn from_json(bytes: &[u8]) -> Result<FlagInput, ValidationErrors> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let input = serde_path_to_error::deserialize(&mut de).map_err(path_error)?;
        de.end()
            .map_err(|e| ValidationErrors::single("", e.to_string()))?;
        Ok(input)
    }

    /// Deserializes a JSON value; a type error is reported with its field path.
    pub fn from_value(value: serde_json::Value) -> Result<FlagInput, ValidationErrors> {
        serde_path_to_error::deserialize(value).map_err(path_error)
    }

    /// Checks everything and builds the spec, or reports every problem found.
    pub fn validate(&self) -> Result<FlagSpec, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let key = FlagKey::parse(self.key.as_str())
            .map_err(|m| errors.push("key", m.to_string()))
            .ok();
        check_len(
            &mut errors,
            "description",
            &self.description,
            MAX_DESCRIPTION,
        );
        let names = validate_variants(&mut errors, self.flag_type, &self.variants);
        let (percentage, default_serve) = validate_decision(
            &mut errors,
            "",
            "default_serve",
            self.percentage,
            self.default_serve.as_ref(),
            &names,
        );
        if let Some(off) = &self.off_variant {
            if names.check(&mut errors, "off_variant", off)
                && self.flag_type.is_boolean()
                && off != OFF
            {
                errors.push(
                    "off_variant",
                    "a boolean flag serves \"off\" when disabled (the kill switch)",
                );
            }
        }
        let prerequisites = validate_prerequisites(&mut errors, &self.key, &self.prerequisites);

        if self.rules.len() > MAX_RULES {
            errors.push("rules", format!("at most {MAX_RULES} rules are allowed"));
        }
        let mut ids = HashSet::new();
        let rules: Vec<Rule> = self
            .rules
            .iter()
            .take(MAX_RULES)
            .enumerate()
            .filter_map(|(i, r)| {
                let path = format!("rules[{i}]");
                if !ids.insert(r.id.as_str()) {
                    errors.push(
                        format!("{path}.id"),
                        format!("duplicate rule id {:?}", r.id),
                    );
                }
                validate_rule(r, &path, &names, &mut errors)
            })
            .collect();

        let stickiness = self
            .stickiness
            .clone()
            .unwrap_or_else(|| DEFAULT_STICKINESS.into());
        check_attribute(&mut errors, "stickiness", &stickiness);
        let salt = self.salt.clone().unwrap_or_else(|| self.key.clone());
        check_len(&mut errors, "salt", &salt, MAX_STRING);
        if self.tags.len() > MAX_TAGS {
            errors.push("tags", format!("at most {MAX_TAGS} tags are allowed"));
        }
        for (i, tag) in self.tags.iter().enumerate().take(MAX_TAGS) {
            let path = format!("tags[{i}]");
            if tag.is_empty() {
                errors.push(path, "must not be empty");
            } else {
                check_len(&mut errors, &path, tag, MAX_STRING);
            }
        }
        if let Some(owner) = &self.owner {
            check_len(&mut errors, "owner", owner, MAX_STRING);
        }
        let expires_at = self.expires_at.as_deref().and_then(|s| {
            parse_instant(s)
                .map_err(|m| errors.push("expires_at", m))
                .ok()
        });

        errors.into_result()?;
        let key = key.ok_or_else(|| ValidationErrors::single("key", "invalid key"))?;
        Ok(FlagSpec {
            key,
            flag_type: self.flag_type,
            description: self.description.clone(),
            enabled: self.enabled,
            variants: self.variants.clone(),
            prerequisites,
            rules,
            percentage,
            default_serve,
            off_variant: self.off_variant.clone(),
            stickiness,
            salt,
            tags: self.tags.clone(),
            owner: self.owner.clone(),
            expires_at,
        })
    }
}

pub(crate) fn path_error<E: std::fmt::Display>(
    e: serde_path_to_error::Error<E>,
) -> ValidationErrors {
    let path = e.path().to_string();
    let path = if path == "." { String::new() } else { path };
    ValidationErrors::single(path, e.inner().to_string())
}

fn validate_rule(
    r: &RuleInput,
    path: &str,
    names: &VariantNames<'_>,
    errors: &mut ValidationErrors,
) -> Option<Rule> {
    let before = errors.len();
    if let Err(m) = check_name(
        &r.id,
        MAX_KEY_LEN_RULE,
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'),
    ) {
        errors.push(
            format!("{path}.id"),
            format!("{m}: a rule id is 1 to {MAX_KEY_LEN_RULE} characters of A-Z, a-z, 0-9, '_', '.', '-'"),
        );
    }
    let (percentage, serve) =
        validate_decision(errors, path, "serve", r.percentage, r.serve.as_ref(), names);
    if r.conditions.len() > MAX_CONDITIONS {
        errors.push(
            format!("{path}.conditions"),
            format!("at most {MAX_CONDITIONS} conditions are allowed in a rule"),
        );
    }
    let conditions: Vec<Condition> = r
        .conditions
        .iter()
        .take(MAX_CONDITIONS)
        .enumerate()
        .filter_map(|(i, c)| validate_condition(c, &format!("{path}.conditions[{i}]"), errors))
        .collect();
    (errors.len() == before).then(|| Rule {
        id: r.id.clone(),
        conditions,
        percentage,
        serve,
    })
}
