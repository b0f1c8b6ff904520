//! What the server answers about flags: the shared [`flag_sdk::Flag`] plus the fields the server
//! sets (version, update time and actor, usage), which the flag model does not read back.

use chrono::{DateTime, Utc};
use flag_sdk::Flag;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Fields of the flag model (contract section 3); anything else the server adds (`usage`) is
/// kept aside.
const MODEL_FIELDS: &[&str] = &[
    "key",
    "description",
    "enabled",
    "rules",
    "percentage",
    "stickiness",
    "salt",
    "tags",
    "owner",
    "expires_at",
];

/// A flag as stored by the server.
#[derive(Debug, Clone)]
pub struct RemoteFlag {
    /// The flag, validated by the shared model.
    pub flag: Flag,
    /// The environment version of its last change.
    pub version: u64,
    /// When it last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last changed it.
    pub updated_by: Option<String>,
    /// Everything else the server sent (for example `usage`), as JSON.
    pub extra: Map<String, Value>,
    /// The flag exactly as the server sent it, for `--output json`.
    pub raw: Value,
}

/// The answer of `GET /environments/{env}/flags`.
#[derive(Debug, Clone)]
pub struct FlagList {
    /// The environment's current version.
    pub version: u64,
    /// Its flags, sorted by key.
    pub flags: Vec<RemoteFlag>,
    /// The answer exactly as sent.
    pub raw: Value,
}

impl RemoteFlag {
    /// Reads a flag from the server's JSON.
    pub fn from_value(raw: Value) -> Result<RemoteFlag> {
        let Value::Object(obj) = &raw else {
            return Err(Error::Protocol("a flag is not a JSON object".into()));
        };
        let mut model = Map::new();
        let mut extra = Map::new();
        for (k, v) in obj {
            if MODEL_FIELDS.contains(&k.as_str()) {
                model.insert(k.clone(), v.clone());
            } else if !matches!(k.as_str(), "version" | "updated_at" | "updated_by") {
                extra.insert(k.clone(), v.clone());
            }
        }
        let flag = Flag::from_value(Value::Object(model)).map_err(|e| {
            Error::Protocol(format!("the server sent a flag the model rejects: {e}"))
        })?;
        Ok(RemoteFlag {
            flag,
            version: obj.get("version").and_then(Value::as_u64).unwrap_or(0),
            updated_at: obj
                .get("updated_at")
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc)),
            updated_by: obj
                .get("updated_by")
                .and_then(Value::as_str)
                .map(str::to_owned),
            extra,
            raw,
        })
    }
}

impl FlagList {
    /// Reads the list answer: `{"environment", "version", "flags": [...]}`.
    pub fn from_value(raw: Value) -> Result<FlagList> {
        let items = raw
            .get("flags")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| Error::Protocol("the flag list has no `flags` array".into()))?;
        let mut flags = items
            .into_iter()
            .map(RemoteFlag::from_value)
            .collect::<Result<Vec<_>>>()?;
        flags.sort_by(|a, b| a.flag.key.cmp(&b.flag.key));
        Ok(FlagList {
            version: raw.get("version").and_then(Value::as_u64).unwrap_or(0),
            flags,
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fields_are_kept_aside() {
        let f = RemoteFlag::from_value(serde_json::json!({
            "key": "a", "enabled": true, "percentage": 5, "version": 7,
            "updated_at": "2026-11-28T17:00:00Z", "updated_by": "admin",
            "usage": {"yes": 1, "no": 2}
        }))
        .unwrap();
        assert_eq!(f.version, 7);
        assert_eq!(f.updated_by.as_deref(), Some("admin"));
        assert!(f.updated_at.is_some());
        assert_eq!(f.extra["usage"]["no"], 2);
        assert_eq!(f.flag.percentage.basis_points(), 500);
    }
}
