//! The store's errors: what went wrong, typed, so that callers decide on variants and never on
//! message text.

use flag_sdk::EnvName;

/// Errors of a [`super::Store`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The environment does not exist.
    #[error("environment '{0}' does not exist")]
    EnvNotFound(EnvName),
    /// The flag does not exist (a put with an expected version, or a delete).
    #[error("flag '{0}' does not exist")]
    FlagNotFound(String),
    /// A create found the flag's key taken.
    #[error("flag '{0}' already exists")]
    FlagExists(String),
    /// The flag is not at the version the caller read.
    #[error("flag '{key}' is at version {actual}, not {expected}: it changed since it was read")]
    Stale {
        /// The flag's key.
        key: String,
        /// The version the caller expected.
        expected: u64,
        /// The version the store has.
        actual: u64,
    },
    /// The segment does not exist (a delete).
    #[error("segment '{0}' does not exist")]
    SegmentNotFound(String),
    /// The environment is not at the version the caller checked its write against.
    #[error("environment is at version {actual}, not {expected}: it changed since it was read")]
    EnvChanged {
        /// The version the caller expected.
        expected: u64,
        /// The version the store has.
        actual: u64,
    },
    /// No such SDK key in the environment.
    #[error("SDK key '{0}' does not exist")]
    SdkKeyNotFound(String),
    /// An SDK key with this id exists already.
    #[error("SDK key '{0}' already exists")]
    SdkKeyExists(String),
    /// A job is not at the revision the caller read (0: it does not exist).
    #[error("job '{id}' is at revision {actual}, not {expected}: it changed since it was read")]
    JobConflict {
        /// The job's id.
        id: String,
        /// The revision the caller expected (0: that it does not exist).
        expected: u64,
        /// The revision the store has (0: it does not exist).
        actual: u64,
    },
    /// An argument the store cannot use: a Redis URL or key prefix, an event cursor.
    #[error("{0}")]
    InvalidArgument(String),
    /// The backing store cannot be reached, or lost its data and is being written back.
    /// Nothing was written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Corrupt stored data, an unexpected reply, a failed task: a bug or damage.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result with a [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
