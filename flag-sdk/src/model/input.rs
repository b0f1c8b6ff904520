//! The unvalidated shape of a flag as it arrives, and its validation into a [`FlagSpec`].
//!
//! Type errors (a string where a number belongs, an unknown field) stop deserialization at the
//! first one and are reported with its path; everything else is checked afterwards and *every*
//! problem is reported, each with its field path.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::limits::*;
use super::names::check_name;
use super::values::{parse_instant, Values};
use super::{Condition, Flag, FlagKey, FlagSpec, Operator, Percentage, Rule};
use crate::error::ValidationErrors;

pub(crate) const DEFAULT_STICKINESS: &str = "user_id";

fn default_percentage() -> f64 {
    100.0
}

/// A flag as sent by a client, before validation. Unknown fields are rejected.
///
/// Defaults: `enabled` false (new flags ship dark), `percentage` 100 (an enabled flag with no
/// rules is on for everyone), `stickiness` `user_id`, `salt` the key. The fields a server sets
/// on a [`Flag`] (`version`, `updated_at`, `updated_by`) are accepted, so that a flag the server
/// answered can be sent back, and ignored: they are no part of the [`FlagSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagInput {
    /// See [`FlagSpec::key`].
    pub key: String,
    /// See [`FlagSpec::description`].
    #[serde(default)]
    pub description: String,
    /// See [`FlagSpec::enabled`].
    #[serde(default)]
    pub enabled: bool,
    /// See [`FlagSpec::rules`].
    #[serde(default)]
    pub rules: Vec<RuleInput>,
    /// See [`FlagSpec::percentage`].
    #[serde(default = "default_percentage")]
    pub percentage: f64,
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
    /// See [`Rule::percentage`]; defaults to 100.
    #[serde(default = "default_percentage")]
    pub percentage: f64,
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
        let percentage = check_percentage(&mut errors, "percentage", self.percentage);

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
                validate_rule(r, &path, &mut errors)
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
        match (key, percentage) {
            (Some(key), Some(percentage)) => Ok(FlagSpec {
                key,
                description: self.description.clone(),
                enabled: self.enabled,
                rules,
                percentage,
                stickiness,
                salt,
                tags: self.tags.clone(),
                owner: self.owner.clone(),
                expires_at,
            }),
            // Unreachable: a missing part always pushed an error above.
            _ => Err(ValidationErrors::single("", "invalid flag")),
        }
    }
}

impl From<&Flag> for FlagInput {
    fn from(flag: &Flag) -> FlagInput {
        FlagInput::from(&flag.spec)
    }
}

impl From<&FlagSpec> for FlagInput {
    fn from(flag: &FlagSpec) -> FlagInput {
        FlagInput {
            key: flag.key.to_string(),
            description: flag.description.clone(),
            enabled: flag.enabled,
            rules: flag
                .rules
                .iter()
                .map(|r| RuleInput {
                    id: r.id.clone(),
                    conditions: r
                        .conditions
                        .iter()
                        .map(|c| ConditionInput {
                            attribute: c.attribute.clone(),
                            operator: c.operator.as_str().to_owned(),
                            values: c
                                .values
                                .iter()
                                .cloned()
                                .map(serde_json::Value::String)
                                .collect(),
                        })
                        .collect(),
                    percentage: r.percentage.as_f64(),
                })
                .collect(),
            percentage: flag.percentage.as_f64(),
            stickiness: Some(flag.stickiness.clone()),
            salt: Some(flag.salt.clone()),
            tags: flag.tags.clone(),
            owner: flag.owner.clone(),
            expires_at: flag.expires_at.map(|t| t.to_rfc3339()),
            version: None,
            updated_at: None,
            updated_by: None,
        }
    }
}

fn path_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> ValidationErrors {
    let path = e.path().to_string();
    let path = if path == "." { String::new() } else { path };
    ValidationErrors::single(path, e.inner().to_string())
}

fn validate_rule(r: &RuleInput, path: &str, errors: &mut ValidationErrors) -> Option<Rule> {
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
    let percentage = check_percentage(errors, &format!("{path}.percentage"), r.percentage);
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
        percentage: percentage.unwrap_or_default(),
    })
}

const MAX_KEY_LEN_RULE: usize = 128;

/// Validates one condition; `path` is its field path (empty for a lone condition).
pub(crate) fn validate_condition(
    c: &ConditionInput,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<Condition> {
    let before = errors.len();
    let field = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    check_attribute(errors, &field("attribute"), &c.attribute);
    let operator = Operator::parse(&c.operator);
    if operator.is_none() {
        let known: Vec<&str> = Operator::ALL.iter().map(|o| o.as_str()).collect();
        errors.push(
            field("operator"),
            format!(
                "unknown operator {:?}; expected one of {}",
                c.operator,
                known.join(", ")
            ),
        );
    }
    if c.values.is_empty() {
        errors.push(field("values"), "must hold at least one value");
    }
    if c.values.len() > MAX_VALUES {
        errors.push(
            field("values"),
            format!("at most {MAX_VALUES} values are allowed"),
        );
    }
    let mut values = Vec::with_capacity(c.values.len().min(MAX_VALUES));
    let mut parsed = operator.map(|op| Values::new(op, c.values.len().min(MAX_VALUES)));
    for (i, v) in c.values.iter().enumerate().take(MAX_VALUES) {
        let vpath = format!("{}[{i}]", field("values"));
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                errors.push(vpath, "must be a string or a number");
                continue;
            }
        };
        if text.len() > MAX_STRING {
            errors.push(vpath, format!("must be at most {MAX_STRING} bytes"));
            continue;
        }
        if let Some(parsed) = parsed.as_mut() {
            if let Err(m) = parsed.push(&text) {
                errors.push(vpath, m);
                continue;
            }
        }
        values.push(text);
    }
    match (operator, parsed) {
        (Some(operator), Some(parsed)) if errors.len() == before => Some(Condition {
            attribute: c.attribute.clone(),
            operator,
            values,
            parsed,
        }),
        _ => None,
    }
}

fn check_percentage(errors: &mut ValidationErrors, path: &str, p: f64) -> Option<Percentage> {
    Percentage::from_f64(p)
        .map_err(|m| errors.push(path, m.to_string()))
        .ok()
}

fn check_len(errors: &mut ValidationErrors, path: &str, s: &str, max: usize) {
    if s.len() > max {
        errors.push(path, format!("must be at most {max} bytes"));
    }
}

fn check_attribute(errors: &mut ValidationErrors, path: &str, name: &str) {
    if name.is_empty() {
        errors.push(path, "must not be empty");
    } else {
        check_len(errors, path, name, MAX_STRING);
    }
}
