//! The HTTP API's error: the one type turned into `application/problem+json` (in
//! `api::problem`). Each layer has its own error ([`crate::store::StoreError`],
//! [`crate::service::ServiceError`]); they become an [`ApiError`] at the boundary, here.

use flag_sdk::ValidationErrors;

use crate::service::ServiceError;
use crate::store::StoreError;

/// Errors the HTTP API answers with, one variant per status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, bad query, bad header); 400.
    #[error("{0}")]
    BadRequest(String),
    /// The input parsed but is not valid; 400 (422 would also do; the contract says 4xx) with field paths.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// No or unknown token; 401.
    #[error("{0}")]
    Unauthorized(String),
    /// A token of the wrong kind or environment; 403.
    #[error("{0}")]
    Forbidden(String),
    /// The environment, flag or SDK key does not exist; 404.
    #[error("{0}")]
    NotFound(String),
    /// The thing exists already; 409.
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named a version that is no longer current; 412.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The body is larger than allowed; 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body is not JSON (by its `Content-Type`); 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The route exists but not for this method; 405.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The store cannot be reached; 503. Nothing was written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data; 500. The message is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EnvNotFound(env) => {
                ApiError::NotFound(format!("environment \"{env}\" does not exist"))
            }
            StoreError::FlagNotFound(_)
            | StoreError::SdkKeyNotFound(_)
            | StoreError::SegmentNotFound(_) => ApiError::NotFound(e.to_string()),
            StoreError::FlagExists(_) | StoreError::SdkKeyExists(_) => {
                ApiError::Conflict(e.to_string())
            }
            StoreError::Stale { .. }
            | StoreError::EnvChanged { .. }
            | StoreError::JobConflict { .. } => ApiError::PreconditionFailed(e.to_string()),
            StoreError::InvalidArgument(m) => ApiError::BadRequest(m),
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(e) => e.into(),
            ServiceError::Invalid(e) => ApiError::Invalid(e),
            ServiceError::FlagNotFound { .. }
            | ServiceError::SdkKeyNotFound { .. }
            | ServiceError::SegmentNotFound { .. }
            | ServiceError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ServiceError::FlagExists { .. }
            | ServiceError::InUse(_)
            | ServiceError::Conflict(_) => ApiError::Conflict(e.to_string()),
            ServiceError::Stale { .. } | ServiceError::KeptChanging(_) => {
                ApiError::PreconditionFailed(e.to_string())
            }
            ServiceError::Internal(m) => ApiError::Internal(m),
        }
    }
}

/// Result with the API's error.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;
