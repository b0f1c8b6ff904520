//! What the store keeps and answers: write operations, changes, environment states, audit
//! entries, events, SDK key records and usage counts.

use chrono::{DateTime, Utc};
use flag_sdk::{EnvName, Flag, FlagKey, Segment};
use serde::{Deserialize, Serialize};

/// One operation of an atomic [`super::Store::write`].
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Create a flag; [`super::StoreError::FlagExists`] when the key exists.
    Create(Flag),
    /// Replace a flag, creating it when `expected` is `None` and it does not exist.
    /// With `Some(v)`: [`super::StoreError::FlagNotFound`] when absent, [`super::StoreError::Stale`] when its
    /// version is not `v`.
    Put {
        /// The new flag (its version and update fields are set by the store).
        flag: Flag,
        /// The version the caller read.
        expected: Option<u64>,
    },
    /// Delete a flag; [`super::StoreError::FlagNotFound`] when absent, [`super::StoreError::Stale`] when
    /// `expected` is given and differs.
    Delete {
        /// The flag's key.
        key: FlagKey,
        /// The version the caller read.
        expected: Option<u64>,
    },
    /// Create or replace a segment.
    PutSegment(Segment),
    /// Delete a segment; [`super::StoreError::SegmentNotFound`] when absent.
    DeleteSegment(FlagKey),
}

impl WriteOp {
    /// The key of the flag or segment the op writes.
    pub fn key(&self) -> &FlagKey {
        match self {
            WriteOp::Create(flag) | WriteOp::Put { flag, .. } => &flag.key,
            WriteOp::Delete { key, .. } | WriteOp::DeleteSegment(key) => key,
            WriteOp::PutSegment(segment) => &segment.key,
        }
    }
}

/// Who made a change and why; stored in the audit entry and on the flag.
#[derive(Debug, Clone)]
pub struct ChangeMeta {
    /// The token's name.
    pub actor: String,
    /// The `X-Change-Reason` header.
    pub reason: Option<String>,
    /// When the change was made (the server's clock).
    pub at: DateTime<Utc>,
}

/// What a change did.
///
/// Deserializing it validates the flag and drops its server-set fields; the stores keep their
/// own stored shape, so this is for transport, not storage.
// Most changes are puts; boxing the flag would cost an allocation for them and change the API.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeEvent {
    /// A flag was created or replaced; this is its new state.
    Put {
        /// The flag as stored.
        flag: Flag,
    },
    /// A flag was deleted.
    Delete {
        /// Its key.
        key: FlagKey,
    },
    /// A segment was created or replaced; this is its new state.
    SegmentPut {
        /// The segment as stored.
        segment: Segment,
    },
    /// A segment was deleted.
    SegmentDelete {
        /// Its key.
        key: FlagKey,
    },
}

/// One entry of an environment's change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The environment.
    pub environment: EnvName,
    /// The environment's version after this change.
    pub version: u64,
    /// What changed.
    pub event: ChangeEvent,
}

/// The answer of [`super::Store::changes_since`].
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    /// Every change after the given version, in order (empty when up to date).
    Changes(Vec<Change>),
    /// The log no longer reaches back that far (or the version is in the future): load afresh.
    TooOld,
}

/// The whole state of one environment at one version.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvState {
    /// The environment.
    pub environment: EnvName,
    /// Its current version.
    pub version: u64,
    /// Its flags, sorted by key.
    pub flags: Vec<Flag>,
    /// Its segments, sorted by key.
    pub segments: Vec<Segment>,
}

/// What an audit entry records, and what a `restore` entry wrote back: the wire types
/// themselves (the store keeps them as the API answers them).
pub use flag_sdk::wire::{AuditAction, RestoreCounts};

/// One audit entry: who changed what, when, why, with the flag (or segment) before and after.
/// For a segment change `key` is the segment's key and `before`/`after` are empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The environment version of the change.
    pub version: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (the token's name).
    pub actor: String,
    /// Why (`X-Change-Reason`).
    pub reason: Option<String>,
    /// What kind of change.
    pub action: AuditAction,
    /// The flag's key (absent for a restore, which concerns the whole environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<FlagKey>,
    /// The flag before (absent for a create).
    pub before: Option<Flag>,
    /// The flag after (absent for a delete).
    pub after: Option<Flag>,
    /// What a restore wrote back (only on a restore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<RestoreCounts>,
    /// The segment before (only on a segment update or delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_before: Option<Segment>,
    /// The segment after (only on a segment create or update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_after: Option<Segment>,
}

/// A change to the set of environments or SDK keys, recorded in the store's event log so that
/// every instance learns of it (see [`super::Store::wait_for_events`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoreEvent {
    /// An environment was created.
    EnvironmentCreated {
        /// Its name.
        environment: EnvName,
    },
    /// An environment was deleted, with its SDK keys.
    EnvironmentDeleted {
        /// Its name.
        environment: EnvName,
    },
    /// An SDK key was issued (the record holds the secret's hash, never the secret).
    SdkKeyCreated {
        /// The key as stored.
        key: SdkKeyRecord,
    },
    /// An SDK key was revoked.
    SdkKeyRevoked {
        /// Its environment.
        environment: EnvName,
        /// Its id.
        id: String,
    },
    /// The store's data was written back after a loss: instances reload these environments.
    Restored {
        /// The environments written back.
        environments: Vec<EnvName>,
    },
}

/// A position in the event log: events after it are returned by [`super::Store::wait_for_events`].
pub type EventCursor = String;

/// What the backing store keeps across its own restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durability {
    /// Writes survive a restart of the backing store (or the store is the process's own file).
    Durable,
    /// A restart of the backing store loses everything; the text says why.
    Volatile(String),
    /// The store would not say (e.g. Redis with `CONFIG` disabled).
    Unknown,
}

/// An SDK key as stored: never the secret, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdkKeyRecord {
    /// Public identifier, used to list and revoke.
    pub id: String,
    /// The one environment the key may read.
    pub environment: EnvName,
    /// A label for people.
    pub name: String,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// Who issued it.
    pub created_by: String,
}

/// Evaluation counts of one flag, as reported by SDKs and summed by the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagUsage {
    /// Evaluations that answered true.
    pub yes: u64,
    /// Evaluations that answered false.
    pub no: u64,
    /// End of the latest reporting period that included this flag.
    pub last_evaluated: Option<DateTime<Utc>>,
}

/// A unit of the server's own work on an environment, kept in the store so that every instance
/// sees it and a restart does not lose it: a scheduled change or a release plan. The store keeps
/// `body` (the service's JSON) as it is and guards it with `rev`, a revision that starts at 1 and
/// grows by one per write ([`super::Store::put_job`] is a compare-and-set on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The job's id, unique in its environment.
    pub id: String,
    /// Its revision: 1 after its creation, one more after each write.
    pub rev: u64,
    /// The service's JSON.
    pub body: String,
}
