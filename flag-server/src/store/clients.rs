//! What the store keeps of the SDK instances of an environment ([`ClientRecord`]), how two
//! records of one instance merge, and the stored shape both stores share.
//!
//! Several server instances see the same SDK instance (its stream on one, its metrics posts
//! on another) and each writes what it saw; the store merges: the earliest `first_seen`, the
//! latest `last_seen` and `stream_seen`, the union of the flags (at most
//! [`MAX_CLIENT_FLAGS`]), and the names of the record seen last. Writing drops the records
//! not seen for [`CLIENT_RETENTION`].

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::record::corrupt;
use super::Result;

/// How long a record is kept after its instance was last seen.
pub const CLIENT_RETENTION: TimeDelta = TimeDelta::days(1);

/// Most flag keys kept per instance (the first ones in key order).
pub const MAX_CLIENT_FLAGS: usize = 1000;

/// One SDK instance of an environment, as the server instances saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The instance's id (`X-Flag-Instance-Id`).
    pub instance_id: String,
    /// The application's name (`X-Flag-App-Name`), when it said.
    pub app_name: Option<String>,
    /// The application's version (`X-Flag-App-Version`), when it said.
    pub app_version: Option<String>,
    /// The SDK and its version (`X-Flag-Sdk`), when it said.
    pub sdk: Option<String>,
    /// Its first request seen.
    pub first_seen: DateTime<Utc>,
    /// Its last request seen.
    pub last_seen: DateTime<Utc>,
    /// The last time a server instance had a stream of it connected (when it wrote), if ever.
    pub stream_seen: Option<DateTime<Utc>>,
    /// The keys of the flags it evaluated, at most [`MAX_CLIENT_FLAGS`].
    pub flags: BTreeSet<String>,
}

impl ClientRecord {
    /// Merges what another server instance saw of the same SDK instance into this record.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use flag_server::store::ClientRecord;
    /// let at = |s| Utc.timestamp_opt(s, 0).unwrap();
    /// let mut a = ClientRecord {
    ///     instance_id: "i".into(), app_name: Some("checkout".into()), app_version: Some("1.0.0".into()),
    ///     sdk: None, first_seen: at(10), last_seen: at(20), stream_seen: None, flags: ["a".into()].into(),
    /// };
    /// let b = ClientRecord {
    ///     app_version: Some("1.1.0".into()), first_seen: at(15), last_seen: at(30),
    ///     stream_seen: Some(at(30)), flags: ["b".into()].into(), ..a.clone()
    /// };
    /// a.merge(&b);
    /// assert_eq!((a.first_seen, a.last_seen, a.stream_seen), (at(10), at(30), Some(at(30))));
    /// assert_eq!(a.app_version.as_deref(), Some("1.1.0"));
    /// assert_eq!(a.flags.len(), 2);
    /// ```
    pub fn merge(&mut self, other: &ClientRecord) {
        let newer = other.last_seen >= self.last_seen;
        let pick = |mine: &mut Option<String>, theirs: &Option<String>| {
            if theirs.is_some() && (newer || mine.is_none()) {
                mine.clone_from(theirs);
            }
        };
        pick(&mut self.app_name, &other.app_name);
        pick(&mut self.app_version, &other.app_version);
        pick(&mut self.sdk, &other.sdk);
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.stream_seen = self.stream_seen.max(other.stream_seen);
        self.flags.extend(other.flags.iter().cloned());
        while self.flags.len() > MAX_CLIENT_FLAGS {
            self.flags.pop_last();
        }
    }
}

/// A [`ClientRecord`] as stored, in both stores: times in Unix milliseconds (so that the Redis
/// script compares them as numbers), no `flags` member when there are none (Lua's JSON
/// encoder cannot write an empty array), and no member for an absent string.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ClientRow {
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_seen: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

impl From<&ClientRecord> for ClientRow {
    fn from(r: &ClientRecord) -> Self {
        ClientRow {
            instance_id: r.instance_id.clone(),
            app_name: r.app_name.clone(),
            app_version: r.app_version.clone(),
            sdk: r.sdk.clone(),
            first_seen: r.first_seen.timestamp_millis(),
            last_seen: r.last_seen.timestamp_millis(),
            stream_seen: r.stream_seen.map(|t| t.timestamp_millis()),
            flags: r.flags.iter().cloned().collect(),
        }
    }
}

impl ClientRow {
    /// The record; a time out of range is corrupt data.
    pub(crate) fn into_record(self) -> Result<ClientRecord> {
        let at = |ms: i64| {
            Utc.timestamp_millis_opt(ms)
                .single()
                .ok_or_else(|| corrupt(format!("client record time {ms}")))
        };
        Ok(ClientRecord {
            first_seen: at(self.first_seen)?,
            last_seen: at(self.last_seen)?,
            stream_seen: self.stream_seen.map(at).transpose()?,
            instance_id: self.instance_id,
            app_name: self.app_name,
            app_version: self.app_version,
            sdk: self.sdk,
            flags: self.flags.into_iter().collect(),
        })
    }
}

/// Sorts records by instance id, as [`super::Store::clients`] answers them.
pub(crate) fn sort_clients(records: &mut [ClientRecord]) {
    records.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
}
