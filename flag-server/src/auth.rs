//! Authentication: `Authorization: Bearer <token>` with an admin token or an SDK key.
//!
//! - Admin tokens come from `FLAG_ADMIN_TOKEN` (see [`AdminTokens::parse`]); each has a name,
//!   which is the actor of the changes it makes. They are compared in constant time.
//! - SDK keys are issued through the API; the server keeps only their SHA-256 (in the hub's
//!   memory, refreshed from the store) and finds a key by the hash of the presented secret.
//!
//! Handlers ask for an [`Admin`] or an [`SdkClient`] argument; the extractor answers 401 when
//! no or an unknown token is given and 403 when the token is of the wrong kind. Tokens are
//! never logged.

use std::future::{ready, Ready};

use futures_util::future::{Either, LocalBoxFuture};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use flag_sdk::EnvName;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, Result};
use crate::state::AppState;

/// One admin token: its name and the SHA-256 of its secret.
#[derive(Clone)]
struct AdminToken {
    name: String,
    digest: [u8; 32],
}

/// The admin tokens the server accepts.
#[derive(Clone)]
pub struct AdminTokens(Vec<AdminToken>);

impl std::fmt::Debug for AdminTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|t| t.name.as_str()).collect();
        f.debug_tuple("AdminTokens").field(&names).finish()
    }
}

impl AdminTokens {
    /// Parses `FLAG_ADMIN_TOKEN`: comma-separated entries, each `secret` or `name:secret`
    /// (split at the first `:`). Unnamed tokens are called `admin`, `admin-2`, `admin-3`, ...
    /// in order. Names are 1 to 64 characters of `A-Z a-z 0-9 _ . -` and must be unique.
    ///
    /// ```
    /// let tokens = flag_server::auth::AdminTokens::parse("s3cret-one, ci:s3cret-two").unwrap();
    /// assert_eq!(tokens.check("s3cret-one"), Some("admin"));
    /// assert_eq!(tokens.check("s3cret-two"), Some("ci"));
    /// assert_eq!(tokens.check("nope"), None);
    /// ```
    pub fn parse(spec: &str) -> Result<AdminTokens, String> {
        let mut tokens: Vec<AdminToken> = Vec::new();
        let mut unnamed = 0;
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, secret) = match entry.split_once(':') {
                Some((name, secret)) => (name.trim().to_owned(), secret.trim()),
                None => {
                    unnamed += 1;
                    let name = if unnamed == 1 {
                        "admin".to_owned()
                    } else {
                        format!("admin-{unnamed}")
                    };
                    (name, entry)
                }
            };
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
            if !name_ok {
                return Err(format!(
                    "admin token name {name:?} is not valid: use 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '-'"
                ));
            }
            if secret.is_empty() {
                return Err(format!("admin token {name:?} has an empty secret"));
            }
            if tokens.iter().any(|t| t.name == name) {
                return Err(format!("admin token name {name:?} is used twice"));
            }
            tokens.push(AdminToken {
                name,
                digest: sha256(secret),
            });
        }
        if tokens.is_empty() {
            return Err("FLAG_ADMIN_TOKEN holds no token".into());
        }
        Ok(AdminTokens(tokens))
    }

    /// Generates one random admin token named `admin`; returns the tokens and the secret,
    /// which the caller shows once.
    pub fn generate() -> (AdminTokens, String) {
        let secret = random_secret("adm");
        let tokens = AdminTokens(vec![AdminToken {
            name: "admin".into(),
            digest: sha256(&secret),
        }]);
        (tokens, secret)
    }

    /// The name of the admin token whose secret this is. Every token is compared, each in
    /// constant time, so the time taken does not tell how much of a secret was right.
    pub fn check(&self, secret: &str) -> Option<&str> {
        self.check_digest(&sha256(secret))
    }

    fn check_digest(&self, digest: &[u8; 32]) -> Option<&str> {
        let mut found = None;
        for t in &self.0 {
            if bool::from(t.digest.ct_eq(digest)) {
                found = Some(t.name.as_str());
            }
        }
        found
    }

    /// The names of the tokens (for logs at start).
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|t| t.name.as_str()).collect()
    }
}

use crate::secret::sha256;
pub use crate::secret::{hash_secret, random_secret};

/// Who is calling, once the token is checked.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An admin token, by name.
    Admin(String),
    /// An SDK key.
    Sdk(SdkClient),
}

/// The caller of an admin route: a valid admin token. Its name is the actor of changes.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The token's name.
    pub name: String,
}

/// The caller of an SDK route: a valid SDK key, which names its environment.
#[derive(Debug, Clone)]
pub struct SdkClient {
    /// The environment the key may read.
    pub environment: EnvName,
    /// The key's public id (to notice a revocation).
    pub key_id: String,
}

/// The bearer token of a request; 401 when there is none or the header is malformed.
fn bearer(req: &HttpRequest) -> Result<&str> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("missing credentials: send `Authorization: Bearer <token>`".into())
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not valid text".into()))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <token>`".into(),
        ));
    }
    Ok(token)
}

/// How a token was recognised without a store round trip.
enum Known {
    Principal(Principal),
    /// Neither an admin token nor an SDK key known here: its hex SHA-256.
    Unknown(String),
}

/// Identifies the caller of a request from what is in memory.
fn identify(req: &HttpRequest) -> Result<(Known, web::Data<AppState>)> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?
        .clone();
    let digest = sha256(bearer(req)?);
    if let Some(name) = state.admin_tokens.check_digest(&digest) {
        return Ok((Known::Principal(Principal::Admin(name.to_owned())), state));
    }
    let hash = hex::encode(digest);
    if let Some(key) = state.hub().sdk_key(&hash) {
        return Ok((Known::Principal(Principal::Sdk(sdk_client(&key))), state));
    }
    Ok((Known::Unknown(hash), state))
}

fn sdk_client(key: &crate::store::SdkKeyRecord) -> SdkClient {
    SdkClient {
        environment: key.environment.clone(),
        key_id: key.id.clone(),
    }
}

fn unknown_token() -> ApiError {
    ApiError::Unauthorized("unknown or revoked token".into())
}

/// Identifies the caller of a request from memory: an SDK key issued through another instance
/// a moment ago is not known yet (the SDK routes look it up in the store; see [`SdkClient`]).
pub fn authenticate(req: &HttpRequest) -> Result<Principal> {
    match identify(req)?.0 {
        Known::Principal(p) => Ok(p),
        Known::Unknown(_) => Err(unknown_token()),
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Admin>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|p| match p {
            Principal::Admin(name) => Ok(Admin { name }),
            Principal::Sdk(_) => Err(ApiError::Forbidden(
                "an SDK key may only use the /api/v1/sdk/* endpoints of its environment; this endpoint needs an admin token".into(),
            )),
        }))
    }
}

fn sdk_only(p: Principal) -> Result<SdkClient> {
    match p {
        Principal::Sdk(client) => Ok(client),
        Principal::Admin(_) => Err(ApiError::Forbidden(
            "the /api/v1/sdk/* endpoints serve the environment named by an SDK key, and an admin token names none: \
             use an SDK key (issue one with POST /api/v1/environments/{env}/sdk-keys)"
                .into(),
        )),
    }
}

/// An SDK key known in memory is accepted at once; an unknown one is looked up in the store
/// before it is refused, so that an instance never refuses a key that exists.
impl FromRequest for SdkClient {
    type Error = ApiError;
    type Future = Either<Ready<Result<SdkClient>>, LocalBoxFuture<'static, Result<SdkClient>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        match identify(req) {
            Err(e) => Either::Left(ready(Err(e))),
            Ok((Known::Principal(p), _)) => Either::Left(ready(sdk_only(p))),
            Ok((Known::Unknown(hash), state)) => Either::Right(Box::pin(async move {
                match state.hub().sdk_key_or_lookup(&hash).await? {
                    Some(key) => Ok(sdk_client(&key)),
                    None => Err(unknown_token()),
                }
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_token_names() {
        let t = AdminTokens::parse("one, two ,ops:three,four").unwrap();
        assert_eq!(t.names(), ["admin", "admin-2", "ops", "admin-3"]);
        assert_eq!(t.check("three"), Some("ops"));
        assert_eq!(t.check("four"), Some("admin-3"));
        assert_eq!(t.check("thre"), None);
        assert_eq!(t.check(""), None);
    }

    #[test]
    fn bad_admin_token_specs() {
        assert!(AdminTokens::parse("").is_err());
        assert!(AdminTokens::parse(" , ").is_err());
        assert!(AdminTokens::parse("a:x,a:y").is_err(), "duplicate names");
        assert!(AdminTokens::parse("bad name:x").is_err());
        assert!(AdminTokens::parse("ops:").is_err(), "empty secret");
    }

    #[test]
    fn generated_tokens_are_long_and_random() {
        let (tokens, secret) = AdminTokens::generate();
        let (_, other) = AdminTokens::generate();
        assert_ne!(secret, other);
        assert!(secret.len() >= 64);
        assert_eq!(tokens.check(&secret), Some("admin"));
    }
}
