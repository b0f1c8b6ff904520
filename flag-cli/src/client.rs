//! HTTP access to the admin API, and the translation of `application/problem+json` answers into
//! errors a person understands.

use std::time::Duration;

use flag_sdk::wire::{sse, Problem};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// Time allowed for one ordinary request (not the stream).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of the admin API of one server, with one token and an optional change reason.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    server: String,
    token: Option<String>,
    reason: Option<HeaderValue>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Client")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("reason", &self.reason)
            .finish()
    }
}

impl Client {
    /// A client for `server` (`http://host:port`, with or without a trailing slash).
    pub fn new(server: &str, token: Option<String>, reason: Option<&str>) -> Result<Client> {
        let server = server.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&server).map_err(|e| {
            Error::Usage(format!(
                "--server / FLAG_SERVER_URL {server:?} is not a URL: {e}"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Usage(format!(
                "--server / FLAG_SERVER_URL {server:?} must start with http:// or https://"
            )));
        }
        let reason = reason.map(reason_header).transpose()?;
        let token = token.filter(|t| !t.trim().is_empty());
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("flag-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Usage(format!("cannot set up HTTP: {e}")))?;
        Ok(Client {
            http,
            server,
            token,
            reason,
        })
    }

    /// The same client sending another change reason.
    pub fn with_reason(&self, reason: &str) -> Result<Client> {
        let mut c = self.clone();
        c.reason = Some(reason_header(reason)?);
        Ok(c)
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.server));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if method != Method::GET {
            if let Some(reason) = &self.reason {
                req = req.header("X-Change-Reason", reason.clone());
            }
        }
        req
    }

    /// Sends a request and turns an error status into an [`Error`]; `what` names the target
    /// for a 404 (`flag "a" in environment "production"`).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Response> {
        self.send_json(method, path, body, what).await
    }

    /// [`Client::send`] with a body of any serializable type.
    async fn send_json<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        what: &str,
    ) -> Result<Response> {
        let mut req = self.request(method, path).timeout(REQUEST_TIMEOUT);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| self.transport_error(&e))?;
        self.check(resp, what).await
    }

    /// Sends a JSON merge patch.
    pub async fn patch<T: DeserializeOwned>(
        &self,
        path: &str,
        patch: &Value,
        what: &str,
    ) -> Result<T> {
        self.patch_at(path, patch, None, what).await
    }

    /// Sends a JSON merge patch; with `version`, only if the flag is still at that version
    /// (`If-Match`; a 412 otherwise), for changes computed from the flag as read.
    pub async fn patch_at<T: DeserializeOwned>(
        &self,
        path: &str,
        patch: &Value,
        version: Option<u64>,
        what: &str,
    ) -> Result<T> {
        let body = serde_json::to_vec(patch).map_err(|e| Error::Protocol(e.to_string()))?;
        let mut req = self
            .request(Method::PATCH, path)
            .timeout(REQUEST_TIMEOUT)
            .header(CONTENT_TYPE, "application/merge-patch+json");
        if let Some(v) = version {
            req = req.header("If-Match", format!("\"{v}\""));
        }
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        json_body(self.check(resp, what).await?).await
    }

    /// GET and parse the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T> {
        json_body(self.send(Method::GET, path, None, what).await?).await
    }

    /// POST a typed JSON body (a message of [`flag_sdk::wire`]) and parse the JSON answer.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<T> {
        json_body(self.send_json(Method::POST, path, Some(body), what).await?).await
    }

    /// A request with an optional JSON body, answering JSON (read as `null` for an empty body).
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<T> {
        json_body(self.send(method, path, body, what).await?).await
    }

    /// Opens an SSE stream, resuming after `last_event_id` when given. No overall timeout.
    pub async fn stream(
        &self,
        path: &str,
        last_event_id: Option<&str>,
        what: &str,
    ) -> Result<Response> {
        let req = sse::request(self.request(Method::GET, path), last_event_id);
        let resp = req.send().await.map_err(|e| self.transport_error(&e))?;
        self.check(resp, what).await
    }

    /// Describes a failure to talk to the server, naming the URL but never the token.
    pub fn transport_error(&self, e: &reqwest::Error) -> Error {
        let mut cause = if e.is_timeout() {
            "the request timed out".to_owned()
        } else if e.is_connect() {
            "connection failed".to_owned()
        } else {
            "the request failed".to_owned()
        };
        let mut source = std::error::Error::source(e);
        let mut last = None;
        while let Some(s) = source {
            last = Some(s.to_string());
            source = s.source();
        }
        if let Some(last) = last {
            cause.push_str(" (");
            cause.push_str(&last);
            cause.push(')');
        }
        Error::Unreachable {
            url: self.server.clone(),
            cause,
        }
    }

    async fn check(&self, resp: Response, what: &str) -> Result<Response> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        let problem: Problem = serde_json::from_str(&text).unwrap_or_default();
        let title = if problem.title.is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            problem.title.clone()
        };
        let detail = if problem.detail.is_empty() {
            (!text.trim().is_empty() && problem.title.is_empty()).then(|| truncate(&text))
        } else {
            Some(problem.detail.clone())
        };
        let message = match &detail {
            Some(d) if !d.is_empty() => d.clone(),
            _ => title.clone(),
        };
        Err(match status {
            StatusCode::UNAUTHORIZED if self.token.is_none() => Error::Unauthorized(
                "the server needs a token and none was given: set FLAG_TOKEN (or --token) to an admin token".into(),
            ),
            StatusCode::UNAUTHORIZED => Error::Unauthorized(format!(
                "the server did not accept the token ({message}): set FLAG_TOKEN to an admin token \
                 (flag-server prints one at start unless FLAG_ADMIN_TOKEN is set)"
            )),
            StatusCode::FORBIDDEN => Error::Forbidden(format!(
                "the token may not do this ({message}): this command needs an admin token, \
                 not an SDK key; set FLAG_TOKEN to an admin token"
            )),
            StatusCode::NOT_FOUND => Error::NotFound(format!(
                "{what} ({message})\nhint: `flag-cli env list` lists the environments, `flag-cli flags list` the flags"
            )),
            StatusCode::CONFLICT => Error::Conflict(message),
            StatusCode::PRECONDITION_FAILED => Error::PreconditionFailed(message),
            s if s.is_client_error() && !problem.errors.is_empty() => Error::Invalid {
                title,
                detail,
                errors: problem.errors,
            },
            s if s.is_client_error() => Error::Invalid {
                title,
                detail,
                errors: Vec::new(),
            },
            s => Error::Server {
                status: s.as_u16(),
                message: if title == message { title } else { format!("{title}: {message}") },
            },
        })
    }
}

/// The `X-Change-Reason` header: one line of printable ASCII, as the server accepts.
fn reason_header(reason: &str) -> Result<HeaderValue> {
    if reason.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
        if let Ok(v) = HeaderValue::from_str(reason) {
            return Ok(v);
        }
    }
    Err(Error::Usage(
        "--reason must be one line of printable ASCII text (it is sent as the X-Change-Reason header)".into(),
    ))
}

async fn json_body<T: DeserializeOwned>(resp: Response) -> Result<T> {
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| Error::Protocol(format!("reading the answer failed: {e}")))?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Protocol(format!("the answer is not the JSON expected: {e}")))
}

fn truncate(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Percent-encodes one path segment (keys and names are already restricted, but ids are not).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
