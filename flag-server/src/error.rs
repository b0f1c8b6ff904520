//! The server's one error type. Every failure, from the store or from a request, becomes one
//! of these and is turned into `application/problem+json` in one place (`api::problem`).

use flag_sdk::ValidationErrors;

/// Errors of the flag server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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

impl From<ValidationErrors> for Error {
    fn from(e: ValidationErrors) -> Self {
        Error::Invalid(e)
    }
}

/// Result with the server's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
