//! What a flag's two forms do: a [`FlagSpec`] is built by validation, a [`Flag`] is a spec
//! with the fields the server sets and reads its spec's fields through itself.

use super::{input, Flag, FlagInput, FlagKey, FlagSpec, Percentage};
use crate::error::ValidationErrors;

impl FlagSpec {
    /// Parses and validates a flag from JSON bytes, reporting every problem with its field path.
    pub fn from_json(bytes: &[u8]) -> Result<FlagSpec, ValidationErrors> {
        FlagInput::from_json(bytes)?.validate()
    }

    /// Parses and validates a flag from a JSON value, reporting every problem with its field path.
    pub fn from_value(value: serde_json::Value) -> Result<FlagSpec, ValidationErrors> {
        FlagInput::from_value(value)?.validate()
    }

    /// A flag that is on for everyone, for tests and offline use.
    pub fn on(key: &str) -> Result<FlagSpec, ValidationErrors> {
        Self::simple(key, true, Percentage::FULL)
    }

    /// A flag that is off for everyone, for tests and offline use.
    pub fn off(key: &str) -> Result<FlagSpec, ValidationErrors> {
        Self::simple(key, false, Percentage::FULL)
    }

    /// An enabled flag rolled out to a share of contexts by `user_id`.
    pub fn rollout(key: &str, percentage: f64) -> Result<FlagSpec, ValidationErrors> {
        let p = Percentage::from_f64(percentage)
            .map_err(|m| ValidationErrors::single("percentage", m.to_string()))?;
        Self::simple(key, true, p)
    }

    fn simple(
        key: &str,
        enabled: bool,
        percentage: Percentage,
    ) -> Result<FlagSpec, ValidationErrors> {
        let key =
            FlagKey::parse(key).map_err(|m| ValidationErrors::single("key", m.to_string()))?;
        Ok(FlagSpec {
            salt: key.as_str().to_owned(),
            key,
            flag_type: super::FlagType::Boolean,
            description: String::new(),
            enabled,
            variants: Vec::new(),
            prerequisites: Vec::new(),
            rules: Vec::new(),
            percentage,
            default_serve: None,
            off_variant: None,
            stickiness: input::DEFAULT_STICKINESS.to_owned(),
            tags: Vec::new(),
            owner: None,
            expires_at: None,
        })
    }

    /// The spec as the contract's JSON value (no server-set fields).
    pub fn to_value(&self) -> serde_json::Value {
        // Serializing plain data into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl Flag {
    /// Parses and validates a flag from JSON bytes, reporting every problem with its field path.
    /// Server-set fields in the JSON are ignored: the flag is not stamped.
    pub fn from_json(bytes: &[u8]) -> Result<Flag, ValidationErrors> {
        FlagSpec::from_json(bytes).map(Flag::from)
    }

    /// Parses and validates a flag from a JSON value, reporting every problem with its field path.
    /// Server-set fields in the JSON are ignored: the flag is not stamped.
    pub fn from_value(value: serde_json::Value) -> Result<Flag, ValidationErrors> {
        FlagSpec::from_value(value).map(Flag::from)
    }

    /// A flag that is on for everyone, for tests and offline use.
    ///
    /// ```
    /// let flag = flag_sdk::Flag::on("new_checkout").unwrap();
    /// assert!(flag.enabled);
    /// ```
    pub fn on(key: &str) -> Result<Flag, ValidationErrors> {
        FlagSpec::on(key).map(Flag::from)
    }

    /// A flag that is off for everyone, for tests and offline use.
    pub fn off(key: &str) -> Result<Flag, ValidationErrors> {
        FlagSpec::off(key).map(Flag::from)
    }

    /// An enabled flag rolled out to a share of contexts by `user_id`.
    pub fn rollout(key: &str, percentage: f64) -> Result<Flag, ValidationErrors> {
        FlagSpec::rollout(key, percentage).map(Flag::from)
    }

    /// The flag as the contract's JSON value, server-set fields included.
    pub fn to_value(&self) -> serde_json::Value {
        // Serializing plain data into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// A spec not written by a server yet: version 0, no `updated_at` or `updated_by`.
impl From<FlagSpec> for Flag {
    fn from(spec: FlagSpec) -> Flag {
        Flag {
            spec,
            version: 0,
            updated_at: None,
            updated_by: None,
        }
    }
}

impl std::ops::Deref for Flag {
    type Target = FlagSpec;
    fn deref(&self) -> &FlagSpec {
        &self.spec
    }
}

impl AsRef<FlagSpec> for Flag {
    fn as_ref(&self) -> &FlagSpec {
        &self.spec
    }
}

impl AsRef<FlagSpec> for FlagSpec {
    fn as_ref(&self) -> &FlagSpec {
        self
    }
}

/// A spec equals a flag written from it, whatever the server-set fields.
impl PartialEq<Flag> for FlagSpec {
    fn eq(&self, other: &Flag) -> bool {
        *self == other.spec
    }
}

impl TryFrom<FlagInput> for FlagSpec {
    type Error = ValidationErrors;
    fn try_from(input: FlagInput) -> Result<FlagSpec, ValidationErrors> {
        input.validate()
    }
}

impl TryFrom<FlagInput> for Flag {
    type Error = ValidationErrors;
    fn try_from(input: FlagInput) -> Result<Flag, ValidationErrors> {
        input.validate().map(Flag::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_serializes_as_its_spec_then_the_server_set_fields() {
        let mut flag = Flag::from_json(
            br#"{"key": "a", "enabled": true, "percentage": 25, "tags": ["t"], "owner": "o"}"#,
        )
        .unwrap();
        flag.version = 3;
        flag.updated_by = Some("admin".into());
        let spec = r#""key":"a","description":"","enabled":true,"rules":[],"percentage":25,"stickiness":"user_id","salt":"a","tags":["t"],"owner":"o","expires_at":null"#;
        assert_eq!(
            serde_json::to_string(&flag.spec).unwrap(),
            format!("{{{spec}}}")
        );
        assert_eq!(
            serde_json::to_string(&flag).unwrap(),
            format!(r#"{{{spec},"version":3,"updated_at":null,"updated_by":"admin"}}"#)
        );
    }
}
