//! The service's errors: the store's, plus the rules the service itself enforces.

use flag_sdk::{EnvName, ValidationErrors};

use crate::store::StoreError;

/// Errors of the [`super::Service`].
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store failed or refused (an environment that does not exist, an unreachable store…).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The flag (after a merge patch) is not valid.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// No such flag in the environment.
    #[error("flag {key:?} does not exist in environment \"{env}\"")]
    FlagNotFound {
        /// The environment.
        env: EnvName,
        /// The flag's key.
        key: String,
    },
    /// A create found the key taken.
    #[error("flag {key:?} exists already in environment \"{env}\"")]
    FlagExists {
        /// The environment.
        env: EnvName,
        /// The flag's key.
        key: String,
    },
    /// The flag is no longer at the version the caller read (`If-Match`).
    #[error("flag {key:?} is no longer at version {expected}: read it again and retry")]
    Stale {
        /// The flag's key.
        key: String,
        /// The version the caller read.
        expected: u64,
    },
    /// A retry loop (PATCH without `If-Match`, apply) gave up under concurrent writes.
    #[error("{0}")]
    KeptChanging(String),
    /// No such SDK key in the environment.
    #[error("environment \"{env}\" has no SDK key {id:?}")]
    SdkKeyNotFound {
        /// The environment.
        env: EnvName,
        /// The key's id.
        id: String,
    },
    /// No such segment in the environment.
    #[error("segment {key:?} does not exist in environment \"{env}\"")]
    SegmentNotFound {
        /// The environment.
        env: EnvName,
        /// The segment's key.
        key: String,
    },
    /// A delete refused because other flags use the thing (a segment, a prerequisite flag);
    /// the message names them.
    #[error("{0}")]
    InUse(String),
    /// No such thing (a scheduled change, a release plan); the message names it.
    #[error("{0}")]
    NotFound(String),
    /// The thing is not in a state that allows the call (a second plan for a flag, a change
    /// that already applied); the message says why.
    #[error("{0}")]
    Conflict(String),
    /// A bug: something the service relies on did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ValidationErrors> for ServiceError {
    fn from(e: ValidationErrors) -> Self {
        ServiceError::Invalid(e)
    }
}

/// Result with a [`ServiceError`].
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
