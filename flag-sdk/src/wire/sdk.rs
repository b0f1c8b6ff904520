//! The SDK API's messages: the snapshot, the stream's change events, server-side evaluation
//! and evaluation counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Context, Evaluation};

/// The snapshot of an environment: the body of `GET /sdk/flags`, the data of the stream's
/// `snapshot` event, and the content of the SDK's backup file.
///
/// Flags stay JSON values here so that a reader can take them one by one: one flag it cannot
/// read does not cost it the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotBody {
    /// The environment.
    pub environment: String,
    /// Its version: the id of the last change included.
    pub version: u64,
    /// Its flags (the contract's flag model).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::Flag>))]
    pub flags: Vec<serde_json::Value>,
    /// Its segments (the contract's segment model); omitted when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::Segment>))]
    pub segments: Vec<serde_json::Value>,
}

/// The data of the stream's `put` event: a flag was created or changed.
///
/// The flag stays a JSON value so that a client can keep the last good version of a flag it
/// cannot read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutData {
    /// The flag as stored (the contract's flag model).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Flag))]
    pub flag: serde_json::Value,
}

/// The data of the stream's `delete` event: a flag was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteData {
    /// The deleted flag's key.
    pub key: String,
}

/// The data of the stream's `segment_put` event: a segment was created or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentPutData {
    /// The segment (the contract's segment model).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::Segment))]
    pub segment: serde_json::Value,
}

/// The body of `POST /sdk/evaluate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvaluateRequest {
    /// Attributes: strings, numbers, booleans or lists of strings. Default empty.
    #[serde(default)]
    pub context: Context,
    /// Keys to evaluate (at most 10000; unknown keys answer `not_found`); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 10000))]
    pub flags: Option<Vec<String>>,
}

/// The answer of `POST /sdk/evaluate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvaluateResponse {
    /// The environment.
    pub environment: String,
    /// The version evaluated.
    pub version: u64,
    /// Each flag's result with its reason.
    pub results: BTreeMap<String, Evaluation>,
}

/// One flag's counts in a [`MetricsReport`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    /// Evaluations that answered true.
    #[serde(default, deserialize_with = "count")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)
    )]
    pub yes: u64,
    /// Evaluations that answered false.
    #[serde(default, deserialize_with = "count")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)
    )]
    pub no: u64,
}

/// Largest count: the API's integers are 64-bit signed (`int64`).
const MAX_COUNT: u64 = i64::MAX as u64;

/// A count: a whole number from 0 to 2^63 - 1. JSON does not tell integers from other
/// numbers, so `3.0` is 3, as JSON Schema's `integer` has it.
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    let whole = match (n.as_u64(), n.as_f64()) {
        (Some(u), _) => Some(u),
        (None, Some(f)) if f.fract() == 0.0 && (0.0..=MAX_COUNT as f64).contains(&f) => {
            Some(f as u64)
        }
        _ => None,
    };
    whole.filter(|&u| u <= MAX_COUNT).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "a count is a whole number from 0 to {MAX_COUNT}, got {n}"
        ))
    })
}

/// The body of `POST /sdk/metrics`: evaluation counts of one period.
///
/// ```
/// use flag_sdk::wire::{Counts, MetricsReport};
/// let r: MetricsReport = serde_json::from_str(r#"{"period_start": "2026-11-28T17:00:00Z",
///     "period_end": "2026-11-28T17:01:00Z", "flags": {"a": {"yes": 3, "no": 1.0}}}"#).unwrap();
/// assert_eq!(r.flags["a"], Counts { yes: 3, no: 1 });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "The body of `POST /sdk/metrics`: evaluation counts of one period.")
)]
pub struct MetricsReport {
    /// Start of the counting period.
    pub period_start: DateTime<Utc>,
    /// End of the counting period (not before `period_start`).
    pub period_end: DateTime<Utc>,
    /// Counts by flag key (at most 10000 keys); counts of keys that cannot name a flag are
    /// left out.
    pub flags: BTreeMap<String, Counts>,
}
