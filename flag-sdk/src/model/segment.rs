//! Segments: named sets of contexts, kept per environment and referenced by the conditions
//! `in_segment` / `not_in_segment`.
//!
//! A context is in a segment when the condition's attribute is one of `included`; or else,
//! when it is not one of `excluded` and the segment has conditions and all of them match.

use serde::{Deserialize, Serialize};

use super::condition::validate_condition;
use super::input::ConditionInput;
use super::limits::*;
use super::{Condition, FlagKey};
use crate::error::ValidationErrors;

/// A named set of contexts of one environment.
///
/// ```
/// use flag_sdk::Segment;
/// let seg = Segment::from_json(br#"{"key": "beta-testers", "included": ["u1"],
///     "conditions": [{"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]}"#).unwrap();
/// assert_eq!(seg.key.as_str(), "beta-testers");
/// assert!(seg.excluded.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SegmentInput")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    /// Unique within an environment; the grammar of a flag key.
    pub key: FlagKey,
    /// Free text for people.
    pub description: String,
    /// Values of the referencing condition's attribute that are always in the segment.
    pub included: Vec<String>,
    /// Values that are never in it (unless also included).
    pub excluded: Vec<String>,
    /// When non-empty, a context matching all of them is in the segment.
    pub conditions: Vec<Condition>,
}

/// A segment as sent, before validation. Unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    /// See [`Segment::key`].
    pub key: String,
    /// See [`Segment::description`].
    #[serde(default)]
    pub description: String,
    /// See [`Segment::included`].
    #[serde(default)]
    pub included: Vec<String>,
    /// See [`Segment::excluded`].
    #[serde(default)]
    pub excluded: Vec<String>,
    /// See [`Segment::conditions`].
    #[serde(default)]
    pub conditions: Vec<ConditionInput>,
}

impl SegmentInput {
    /// Deserializes JSON bytes; a type error is reported with its field path.
    pub fn from_json(bytes: &[u8]) -> Result<SegmentInput, ValidationErrors> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let input = serde_path_to_error::deserialize(&mut de).map_err(super::input::path_error)?;
        de.end()
            .map_err(|e| ValidationErrors::single("", e.to_string()))?;
        Ok(input)
    }

    /// Deserializes a JSON value; a type error is reported with its field path.
    pub fn from_value(value: serde_json::Value) -> Result<SegmentInput, ValidationErrors> {
        serde_path_to_error::deserialize(value).map_err(super::input::path_error)
    }

    /// Checks everything and builds the segment, or reports every problem found.
    pub fn validate(&self) -> Result<Segment, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let key = FlagKey::parse(self.key.as_str())
            .map_err(|m| errors.push("key", m.to_string()))
            .ok();
        if self.description.len() > MAX_DESCRIPTION {
            errors.push(
                "description",
                format!("must be at most {MAX_DESCRIPTION} bytes"),
            );
        }
        for (field, values) in [("included", &self.included), ("excluded", &self.excluded)] {
            if values.len() > MAX_SEGMENT_VALUES {
                errors.push(
                    field,
                    format!("at most {MAX_SEGMENT_VALUES} values are allowed"),
                );
            }
            for (i, v) in values.iter().enumerate().take(MAX_SEGMENT_VALUES) {
                if v.len() > MAX_STRING {
                    errors.push(
                        format!("{field}[{i}]"),
                        format!("must be at most {MAX_STRING} bytes"),
                    );
                }
            }
        }
        if self.conditions.len() > MAX_CONDITIONS {
            errors.push(
                "conditions",
                format!("at most {MAX_CONDITIONS} conditions are allowed in a segment"),
            );
        }
        let conditions: Vec<Condition> = self
            .conditions
            .iter()
            .take(MAX_CONDITIONS)
            .enumerate()
            .filter_map(|(i, c)| {
                let path = format!("conditions[{i}]");
                let condition = validate_condition(c, &path, &mut errors)?;
                if condition.operator().is_segment() {
                    errors.push(
                        format!("{path}.operator"),
                        "a segment's conditions cannot reference segments",
                    );
                    return None;
                }
                Some(condition)
            })
            .collect();
        errors.into_result()?;
        let key = key.ok_or_else(|| ValidationErrors::single("key", "invalid key"))?;
        Ok(Segment {
            key,
            description: self.description.clone(),
            included: self.included.clone(),
            excluded: self.excluded.clone(),
            conditions,
        })
    }
}

impl Segment {
    /// Parses and validates a segment from JSON bytes, reporting every problem with its path.
    pub fn from_json(bytes: &[u8]) -> Result<Segment, ValidationErrors> {
        SegmentInput::from_json(bytes)?.validate()
    }

    /// Parses and validates a segment from a JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Segment, ValidationErrors> {
        SegmentInput::from_value(value)?.validate()
    }

    /// The segment as the contract's JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        // Serializing plain data into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl TryFrom<SegmentInput> for Segment {
    type Error = ValidationErrors;
    fn try_from(input: SegmentInput) -> Result<Segment, ValidationErrors> {
        input.validate()
    }
}

impl From<&Segment> for SegmentInput {
    fn from(s: &Segment) -> SegmentInput {
        SegmentInput {
            key: s.key.to_string(),
            description: s.description.clone(),
            included: s.included.clone(),
            excluded: s.excluded.clone(),
            conditions: s.conditions.iter().map(ConditionInput::from).collect(),
        }
    }
}
