//! Flags as the server stores and sends them: the model's fields plus the ones the server sets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{Flag, FlagSpec, StaleReason};

/// Evaluation counts reported by SDKs (`POST /sdk/metrics`), summed by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagUsage {
    /// Evaluations that answered true.
    pub yes: u64,
    /// Evaluations that answered false.
    pub no: u64,
    /// End of the latest reporting period that included the flag.
    #[serde(default)]
    pub last_evaluated: Option<DateTime<Utc>>,
}

/// A flag as the server answers it (`GET`, `POST`, `PUT`, `PATCH` of a flag, the flag list,
/// audit entries): the flag's fields, with `version`, `updated_at` and `updated_by` as the
/// server set them, plus `usage` in admin reads and `stale` in a filtered flag list.
///
/// ```
/// let f: flag_sdk::wire::StoredFlag = serde_json::from_str(r#"{
///     "key": "a", "enabled": true, "percentage": 5, "version": 7,
///     "updated_at": "2026-11-28T17:00:00Z", "updated_by": "admin",
///     "usage": {"yes": 1, "no": 2, "last_evaluated": null}
/// }"#).unwrap();
/// assert_eq!(f.flag.version, 7);
/// assert_eq!(f.flag.updated_by.as_deref(), Some("admin"));
/// assert_eq!(f.usage.unwrap().no, 2);
/// assert_eq!(f.stale, None);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "A flag as the server answers it: the flag's fields, plus `usage` in admin reads"
    )
)]
pub struct StoredFlag {
    /// The flag: its spec, validated by the model, with the `version`, `updated_at` and
    /// `updated_by` the server set.
    #[serde(flatten)]
    pub flag: Flag,
    /// Evaluation counts; present in admin reads (`GET` of a flag, the flag list).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub usage: Option<FlagUsage>,
    /// Why the flag is stale, in the order `not_evaluated`, `expired`, `settled`; present only
    /// in the flag list when a stale filter was given (`stale_days`, `not_evaluated_days`,
    /// `expired`, `settled_days`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub stale: Option<Vec<StaleReason>>,
}

impl<'de> Deserialize<'de> for StoredFlag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The spec as the model validates it, with the fields the server set beside it.
        #[derive(Deserialize)]
        struct Sent {
            #[serde(default)]
            version: u64,
            #[serde(default)]
            updated_at: Option<DateTime<Utc>>,
            #[serde(default)]
            updated_by: Option<String>,
            #[serde(default)]
            usage: Option<FlagUsage>,
            #[serde(default)]
            stale: Option<Vec<StaleReason>>,
            #[serde(flatten)]
            spec: FlagSpec,
        }
        let sent = Sent::deserialize(d)?;
        Ok(StoredFlag {
            flag: Flag {
                spec: sent.spec,
                version: sent.version,
                updated_at: sent.updated_at,
                updated_by: sent.updated_by,
            },
            usage: sent.usage,
            stale: sent.stale,
        })
    }
}

impl StoredFlag {
    /// Reads a flag from the server's JSON, with the model's message when it is not one.
    pub fn from_value(value: serde_json::Value) -> Result<StoredFlag, serde_json::Error> {
        serde_json::from_value(value)
    }
}

/// `GET /environments/{env}/flags`: the flags of an environment with its current version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagList {
    /// The environment.
    pub environment: String,
    /// The environment's current version.
    pub version: u64,
    /// Its flags, with their usage.
    pub flags: Vec<StoredFlag>,
}

/// `GET /environments/{env}/segments`: the environment's segments, sorted by key, with its
/// current version.
///
/// ```
/// let l: flag_sdk::wire::SegmentList = serde_json::from_str(r#"{"environment": "production",
///     "version": 3, "segments": [{"key": "beta", "included": ["u1"]}]}"#).unwrap();
/// assert_eq!(l.segments[0].included, ["u1"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentList {
    /// The environment.
    pub environment: String,
    /// Its current version.
    pub version: u64,
    /// Its segments, sorted by key.
    pub segments: Vec<crate::Segment>,
}
