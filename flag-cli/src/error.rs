//! The CLI's one error type: every failure is a sentence a person can act on, and exit code 1
//! (130 for an interrupt).

use std::fmt::Write as _;
use std::path::PathBuf;

use flag_sdk::FieldError;

/// Errors of the CLI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command that needs an environment got none.
    #[error(
        "this command needs an environment: pass --env NAME or set FLAG_ENV \
         (there is no default, so that nothing touches production by accident; `flag-cli env list` lists them)"
    )]
    MissingEnv,
    /// Bad command-line input that clap could not catch.
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached.
    #[error(
        "cannot reach the flag server at {url}: {cause}\n\
         hint: is flag-server running there? Set FLAG_SERVER_URL (or --server) to its address"
    )]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// What went wrong, without the token.
        cause: String,
    },
    /// 401: no token, or one the server does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a token of the wrong kind.
    #[error("{0}")]
    Forbidden(String),
    /// 404: environment, flag or SDK key missing.
    #[error("not found: {0}")]
    NotFound(String),
    /// 409: already exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412: the flag changed since it was read.
    #[error("the flag changed since it was read (412 precondition failed): {0}\nhint: read it again and retry")]
    PreconditionFailed(String),
    /// 4xx with a list of invalid fields.
    #[error("{}", format_invalid(.title, .detail, .errors))]
    Invalid {
        /// The problem's title.
        title: String,
        /// The problem's detail.
        detail: Option<String>,
        /// Each invalid field.
        errors: Vec<FieldError>,
    },
    /// Any other error answer from the server.
    #[error("the server answered {status}: {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// Title and detail of the problem, or the body.
        message: String,
    },
    /// The server's answer was not what the contract promises.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A flags document could not be parsed.
    #[error("{}: {message}", .path.display())]
    Document {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its position when known.
        message: String,
    },
    /// Writing to stdout failed.
    #[error("cannot write output: {0}")]
    Output(String),
    /// A release check failed and the flag was set back to 0.
    #[error("{0}")]
    ReleaseFailed(String),
    /// Stopped by Ctrl-C.
    #[error("{0}")]
    Interrupted(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Interrupted(_) => 130,
            _ => 1,
        }
    }
}

fn format_invalid(title: &str, detail: &Option<String>, errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return match detail.as_deref().filter(|d| !d.is_empty() && *d != title) {
            Some(d) => format!("the server refused the request ({title}): {d}"),
            None => format!("the server refused the request: {title}"),
        };
    }
    // The detail repeats the list; the list is clearer.
    let mut s = format!("the server rejected the input ({title}):");
    for e in errors {
        let field = if e.field.is_empty() {
            "(document)"
        } else {
            e.field.as_str()
        };
        let _ = write!(s, "\n  - {field}: {}", e.message);
    }
    s
}

/// Result with the CLI's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
