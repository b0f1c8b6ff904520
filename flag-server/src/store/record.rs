//! The stored shapes shared by both stores, and the error messages both give.
//!
//! A stored flag is an envelope `{"version": V, "flag": {...}}` whose inner object is the
//! flag's contract JSON (its [`FlagSpec`]'s fields with `version`, `updated_at` and
//! `updated_by`); decoding validates the spec and reads the server-set fields beside it (the
//! version from the envelope). The Redis scripts build the same envelope by string
//! concatenation, so both stores share one format.

use chrono::{DateTime, Utc};
use flag_sdk::{EnvName, Flag, FlagKey, FlagSpec, Segment};
use serde::{Deserialize, Serialize};

use super::{AuditAction, AuditEntry, ChangeMeta, EnvState, RestoreCounts, SdkKeyRecord};
use crate::store::StoreError;

/// A flag as stored: its version beside its contract JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FlagRecord {
    /// The environment version of the change that last wrote the flag.
    pub version: u64,
    /// The flag's contract JSON.
    pub flag: serde_json::Value,
}

/// Who and why, as stored in an audit entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MetaRecord {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub reason: Option<String>,
}

impl From<&ChangeMeta> for MetaRecord {
    fn from(m: &ChangeMeta) -> Self {
        MetaRecord {
            at: m.at,
            actor: m.actor.clone(),
            reason: m.reason.clone(),
        }
    }
}

/// An audit entry as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuditRecord {
    pub version: u64,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub meta: MetaRecord,
    pub before: Option<FlagRecord>,
    pub after: Option<FlagRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<RestoreCounts>,
    /// A segment's contract JSON before a segment change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_before: Option<serde_json::Value>,
    /// A segment's contract JSON after a segment change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_after: Option<serde_json::Value>,
}

impl AuditRecord {
    /// The entry of a restore at `version` (see `Store::restore_environment`).
    pub fn restore(
        version: u64,
        meta: &ChangeMeta,
        state: &EnvState,
        sdk_keys: u64,
    ) -> AuditRecord {
        AuditRecord {
            version,
            action: AuditAction::Restore,
            key: None,
            meta: MetaRecord::from(meta),
            before: None,
            after: None,
            restored: Some(RestoreCounts {
                flags: state.flags.len() as u64,
                sdk_keys,
                segments: state.segments.len() as u64,
            }),
            segment_before: None,
            segment_after: None,
        }
    }

    /// Decodes into the public entry, validating the flags.
    pub fn into_entry(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            version: self.version,
            at: self.meta.at,
            actor: self.meta.actor,
            reason: self.meta.reason,
            action: self.action,
            key: self.key.map(FlagKey::parse).transpose().map_err(corrupt)?,
            before: self.before.map(FlagRecord::into_flag).transpose()?,
            after: self.after.map(FlagRecord::into_flag).transpose()?,
            restored: self.restored,
            segment_before: self.segment_before.map(decode_segment_value).transpose()?,
            segment_after: self.segment_after.map(decode_segment_value).transpose()?,
        })
    }
}

impl FlagRecord {
    /// The record of a flag whose server-set fields are already filled in.
    pub fn of(flag: &Flag) -> FlagRecord {
        FlagRecord {
            version: flag.version,
            flag: flag.to_value(),
        }
    }

    /// Validates the stored JSON back into a flag with its server-set fields.
    pub fn into_flag(self) -> Result<Flag, StoreError> {
        /// What a write stamped, read beside the spec.
        #[derive(Deserialize)]
        struct Stamp {
            #[serde(default)]
            updated_at: Option<DateTime<Utc>>,
            #[serde(default)]
            updated_by: Option<String>,
        }
        let stamp = Stamp::deserialize(&self.flag).map_err(corrupt)?;
        let spec = FlagSpec::from_value(self.flag).map_err(corrupt)?;
        Ok(Flag {
            spec,
            version: self.version,
            updated_at: stamp.updated_at,
            updated_by: stamp.updated_by,
        })
    }
}

/// Decodes a stored flag envelope.
pub(crate) fn decode_flag(bytes: &[u8]) -> Result<Flag, StoreError> {
    serde_json::from_slice::<FlagRecord>(bytes)
        .map_err(corrupt)?
        .into_flag()
}

/// Decodes a stored segment (its contract JSON), validating it.
pub(crate) fn decode_segment(bytes: &[u8]) -> Result<Segment, StoreError> {
    Segment::from_json(bytes).map_err(corrupt)
}

/// Validates a stored segment's JSON value.
pub(crate) fn decode_segment_value(value: serde_json::Value) -> Result<Segment, StoreError> {
    Segment::from_value(value).map_err(corrupt)
}

/// A segment's stored JSON.
pub(crate) fn segment_json(segment: &Segment) -> Result<String, StoreError> {
    serde_json::to_string(segment).map_err(corrupt)
}

/// The segment does not exist.
pub(crate) fn segment_not_found(key: &str) -> StoreError {
    StoreError::SegmentNotFound(key.to_owned())
}

/// The environment moved on since the caller read it.
pub(crate) fn env_changed(expected: u64, actual: u64) -> StoreError {
    StoreError::EnvChanged { expected, actual }
}

/// Encodes a stored value; serializing plain data cannot fail, but is mapped anyway.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(corrupt)
}

/// Decodes a stored value.
pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(corrupt)
}

/// Stored data that does not decode: a bug or corruption.
pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("corrupt stored data: {e}"))
}

/// The flag with the fields a write sets.
pub(crate) fn stamped(mut flag: Flag, version: u64, meta: &ChangeMeta) -> Flag {
    flag.version = version;
    flag.updated_at = Some(meta.at);
    flag.updated_by = Some(meta.actor.clone());
    flag
}

/// The environment does not exist.
pub(crate) fn env_not_found(env: &EnvName) -> StoreError {
    StoreError::EnvNotFound(env.clone())
}

/// The flag does not exist.
pub(crate) fn flag_not_found(key: &str) -> StoreError {
    StoreError::FlagNotFound(key.to_owned())
}

/// The flag exists already.
pub(crate) fn flag_exists(key: &str) -> StoreError {
    StoreError::FlagExists(key.to_owned())
}

/// The flag changed since the caller read it.
pub(crate) fn stale(key: &str, actual: u64, expected: u64) -> StoreError {
    StoreError::Stale {
        key: key.to_owned(),
        expected,
        actual,
    }
}

/// No such SDK key in the environment.
pub(crate) fn sdk_key_not_found(id: &str) -> StoreError {
    StoreError::SdkKeyNotFound(id.to_owned())
}

/// The order [`super::Store::list_sdk_keys`] answers in: by environment, then issue time, then id.
pub(crate) fn sort_sdk_keys(keys: &mut [SdkKeyRecord]) {
    keys.sort_by(|a, b| {
        (a.environment.as_str(), a.created_at, a.id.as_str()).cmp(&(
            b.environment.as_str(),
            b.created_at,
            b.id.as_str(),
        ))
    });
}
