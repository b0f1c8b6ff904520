//! Newtypes for the names and numbers of the model: once parsed, always valid.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest flag key, in bytes.
pub const MAX_KEY_LEN: usize = 128;
/// Longest environment name, in bytes.
pub const MAX_ENV_LEN: usize = 64;

/// What is wrong with a name, whatever kind of name it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum NameProblem {
    /// The name is empty.
    #[error("must not be empty")]
    Empty,
    /// The name is longer than its kind allows.
    #[error("is too long")]
    TooLong,
    /// The first character is not allowed there.
    #[error("has an invalid first character")]
    InvalidFirstCharacter,
    /// A later character is not allowed.
    #[error("has an invalid character")]
    InvalidCharacter,
}

/// Why a string is not a valid [`FlagKey`] or [`EnvName`]; displayed as the problem followed
/// by the syntax of the name.
///
/// ```
/// use flag_sdk::{FlagKey, NameError, NameProblem};
/// let err = FlagKey::parse("").unwrap_err();
/// assert_eq!(err, NameError::Key(NameProblem::Empty));
/// assert!(err.to_string().starts_with("must not be empty: a key is 1 to 128 characters"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum NameError {
    /// Not a valid flag key.
    #[error("{0}: a key is 1 to {MAX_KEY_LEN} characters of A-Z, a-z, 0-9, '_', '.', '-', starting with a letter or digit")]
    Key(NameProblem),
    /// Not a valid environment name.
    #[error("{0}: an environment name is 1 to {MAX_ENV_LEN} characters of a-z, 0-9, '_', '-', starting with a letter or digit")]
    Env(NameProblem),
}

impl NameError {
    /// What is wrong with the name.
    pub fn problem(self) -> NameProblem {
        match self {
            NameError::Key(p) | NameError::Env(p) => p,
        }
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $check:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses a name, explaining what is wrong when it is not valid.
            pub fn parse(s: impl Into<String>) -> Result<Self, NameError> {
                let s = s.into();
                $check(&s)?;
                Ok(Self(s))
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// A flag key: `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`.
    ///
    /// ```
    /// use flag_sdk::FlagKey;
    /// assert!(FlagKey::parse("new_checkout").is_ok());
    /// assert!(FlagKey::parse("-leading-dash").is_err());
    /// ```
    FlagKey,
    check_key
);

name_type!(
    /// An environment name: `^[a-z0-9][a-z0-9_-]{0,63}$`.
    ///
    /// ```
    /// use flag_sdk::EnvName;
    /// assert!(EnvName::parse("production").is_ok());
    /// assert!(EnvName::parse("Production").is_err());
    /// ```
    EnvName,
    check_env
);

impl FlagKey {
    /// The grammar [`FlagKey::parse`] checks, as a regular expression (the pattern of its
    /// OpenAPI schema).
    pub const PATTERN: &'static str = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$";
}

impl EnvName {
    /// The grammar [`EnvName::parse`] checks, as a regular expression (the pattern of its
    /// OpenAPI schema).
    pub const PATTERN: &'static str = "^[a-z0-9][a-z0-9_-]{0,63}$";
}

fn check_key(s: &str) -> Result<(), NameError> {
    check_name(
        s,
        MAX_KEY_LEN,
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'),
    )
    .map_err(NameError::Key)
}

fn check_env(s: &str) -> Result<(), NameError> {
    let lower_digit = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    check_name(s, MAX_ENV_LEN, lower_digit, |c| {
        lower_digit(c) || matches!(c, b'_' | b'-')
    })
    .map_err(NameError::Env)
}

/// Shared syntax check for keys, environment names and rule ids.
pub(crate) fn check_name(
    s: &str,
    max: usize,
    first: impl Fn(u8) -> bool,
    rest: impl Fn(u8) -> bool,
) -> Result<(), NameProblem> {
    let bytes = s.as_bytes();
    match bytes.split_first() {
        None => Err(NameProblem::Empty),
        Some(_) if bytes.len() > max => Err(NameProblem::TooLong),
        Some((&c, _)) if !first(c) => Err(NameProblem::InvalidFirstCharacter),
        Some((_, tail)) if !tail.iter().all(|&c| rest(c)) => Err(NameProblem::InvalidCharacter),
        Some(_) => Ok(()),
    }
}

/// A rollout percentage from 0 to 100 with at most two decimals, held as basis points
/// (hundredths of a percent, `0..=10000`) so that comparisons with a bucket are exact.
///
/// ```
/// use flag_sdk::Percentage;
/// let canary = Percentage::from_f64(0.25).unwrap();
/// assert_eq!(canary.basis_points(), 25);
/// assert!(Percentage::from_f64(100.5).is_err());
/// assert!(Percentage::from_f64(1.234).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Percentage(u16);

/// Why a number is not a valid [`Percentage`].
///
/// ```
/// use flag_sdk::{Percentage, PercentageError};
/// assert_eq!(Percentage::from_f64(101.0), Err(PercentageError::OutOfRange));
/// assert_eq!(PercentageError::OutOfRange.to_string(), "must be between 0 and 100");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PercentageError {
    /// Not a finite number from 0 to 100.
    #[error("must be between 0 and 100")]
    OutOfRange,
    /// More than two decimals.
    #[error("must have at most two decimals (0.25 is the smallest step above 0.01)")]
    TooManyDecimals,
    /// More than 10000 basis points.
    #[error("must be between 0 and 10000 basis points")]
    BasisPointsOutOfRange,
}

impl Percentage {
    /// Nobody.
    pub const ZERO: Percentage = Percentage(0);
    /// Everybody, even a context without the stickiness attribute.
    pub const FULL: Percentage = Percentage(10_000);

    /// Parses a percentage, rejecting values outside `0..=100` or with more than two decimals.
    pub fn from_f64(p: f64) -> Result<Self, PercentageError> {
        if !p.is_finite() || !(0.0..=100.0).contains(&p) {
            return Err(PercentageError::OutOfRange);
        }
        let scaled = p * 100.0;
        let rounded = scaled.round();
        if (scaled - rounded).abs() > 1e-6 {
            return Err(PercentageError::TooManyDecimals);
        }
        Ok(Percentage(rounded as u16))
    }

    /// Builds a percentage from basis points (`0..=10000`).
    pub fn from_basis_points(bp: u16) -> Result<Self, PercentageError> {
        if bp > 10_000 {
            return Err(PercentageError::BasisPointsOutOfRange);
        }
        Ok(Percentage(bp))
    }

    /// The percentage in hundredths of a percent: a user is in the rollout when its bucket is below this.
    pub fn basis_points(self) -> u16 {
        self.0
    }

    /// The percentage as a number from 0 to 100.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl fmt::Display for Percentage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 100 == 0 {
            write!(f, "{}", self.0 / 100)
        } else {
            write!(f, "{}", self.as_f64())
        }
    }
}

impl Serialize for Percentage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 100 == 0 {
            s.serialize_u64(u64::from(self.0 / 100))
        } else {
            s.serialize_f64(self.as_f64())
        }
    }
}

impl<'de> Deserialize<'de> for Percentage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(d)?;
        Percentage::from_f64(p).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["a", "A1", "new_checkout", "a.b-c_d", &"x".repeat(128)] {
            assert!(FlagKey::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "_a", ".a", "a b", "a/b", "ä", &"x".repeat(129)] {
            assert!(FlagKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn environments() {
        assert!(EnvName::parse("prod-eu_1").is_ok());
        for bad in ["", "Prod", "-x", "a.b", &"x".repeat(65)] {
            assert!(EnvName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentages() {
        assert_eq!(Percentage::from_f64(0.01).unwrap().basis_points(), 1);
        assert_eq!(Percentage::from_f64(37.5).unwrap().basis_points(), 3750);
        assert_eq!(Percentage::from_f64(100.0).unwrap(), Percentage::FULL);
        assert!(Percentage::from_f64(-0.01).is_err());
        assert!(Percentage::from_f64(0.001).is_err());
        assert_eq!(
            serde_json::to_string(&Percentage::from_f64(25.0).unwrap()).unwrap(),
            "25"
        );
        assert_eq!(
            serde_json::to_string(&Percentage::from_f64(0.25).unwrap()).unwrap(),
            "0.25"
        );
    }
}
