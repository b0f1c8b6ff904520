//! The crate's error type, and validation problems with their field paths.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One problem with an input, named by its field path (`rules[1].conditions[0].values[0]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Path of the field within the document; empty for the document itself.
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

/// Every problem found in an input.
///
/// ```
/// let err = flag_sdk::Flag::from_json(br#"{"key": "-bad", "percentage": 101}"#).unwrap_err();
/// let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["key", "percentage"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// One problem.
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.push(field, message);
        e
    }

    /// Records a problem.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no problem.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems.
    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// Prefixes every field path, for a flag inside a larger document (`flags[3]`).
    pub fn prefixed(self, prefix: &str) -> Self {
        Self(
            self.0
                .into_iter()
                .map(|e| FieldError {
                    field: match (prefix.is_empty(), e.field.is_empty()) {
                        (true, _) => e.field,
                        (false, true) => prefix.to_owned(),
                        (false, false) if e.field.starts_with('[') => {
                            format!("{prefix}{}", e.field)
                        }
                        (false, false) => format!("{prefix}.{}", e.field),
                    },
                    message: e.message,
                })
                .collect(),
        )
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if e.field.is_empty() {
                f.write_str(&e.message)?;
            } else {
                write!(f, "{}: {}", e.field, e.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A flag or another input is not valid.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationErrors),
    /// The client was configured with something unusable (a bad URL, an empty key).
    #[error("invalid configuration: {0}")]
    Config(String),
}
