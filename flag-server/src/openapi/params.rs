//! The path and header parameters the handlers share, described once for their
//! `#[utoipa::path(params(...))]` annotations (e.g. `params(FlagPath, WriteHeaders)`).
//!
//! These types only describe the parameters; the handlers read them with `web::Path` and
//! `api::input`. The schemas of `env`, `key`, `If-Match` and `X-Change-Reason` are set by
//! name by the document-wide `Contract` modifier (`contract.rs`), from the grammar the
//! server checks; it also drops the undescribed copies of the path parameters that utoipa's
//! actix support adds for a tuple `web::Path`.

use utoipa::IntoParams;

/// The environment of a route.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EnvPath {
    /// Environment name
    pub env: String,
}

/// One flag of an environment.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FlagPath {
    /// Environment name
    pub env: String,
    /// Flag key
    pub key: String,
}

/// One segment of an environment.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SegmentPath {
    /// Environment name
    pub env: String,
    /// Segment key
    pub key: String,
}

/// One SDK key of an environment.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SdkKeyPath {
    /// Environment name
    pub env: String,
    /// The key's id
    pub id: String,
}

/// The headers of a change that needs no version: why, for the audit log.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ChangeHeaders {
    /// Why, for the audit log
    #[param(rename = "X-Change-Reason")]
    pub change_reason: Option<String>,
}

/// The headers of a change of one flag: the version read, and why.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct WriteHeaders {
    /// The version read (its ETag), e.g. "7"
    #[param(rename = "If-Match")]
    pub if_match: Option<String>,
    /// Why, for the audit log
    #[param(rename = "X-Change-Reason")]
    pub change_reason: Option<String>,
}

/// The header of a stream resumed after a reconnection.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct StreamHeaders {
    /// Resume after this version
    #[param(rename = "Last-Event-ID")]
    pub last_event_id: Option<String>,
}
