//! Authentication: `Authorization: Bearer <token>` with an admin token or an SDK key.
//!
//! - Admin tokens come from `FLAG_ADMIN_TOKEN` (see [`AdminTokens::parse`]); each has a name,
//!   which is the actor of the changes it makes. They are compared in constant time.
//! - SDK keys are issued through the API (OFREP routes also take one as `X-API-Key`); the server keeps only their SHA-256 (in the hub's
//!   memory, refreshed from the store) and finds a key by the hash of the presented secret.
//!
//! Handlers ask for an [`Admin`] or an [`SdkClient`] argument; the extractor answers 401 when
//! no or an unknown token is given and 403 when the token is of the wrong kind. Tokens are
//! never logged.

use std::future::{ready, Ready};

use futures_util::future::{Either, LocalBoxFuture};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use flag_sdk::EnvName;

use crate::error::{ApiError, Result};
use crate::state::AppState;

pub(crate) mod tokens;

use crate::secret::sha256;
pub use crate::secret::{hash_secret, random_secret};
pub use tokens::AdminTokens;

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
    // OFREP clients may send the key as `X-API-Key` (the protocol's `ApiKeyAuth`).
    if req.path().starts_with("/ofrep/") && !req.headers().contains_key(header::AUTHORIZATION) {
        if let Some(key) = req.headers().get("X-API-Key") {
            return match key.to_str().map(str::trim) {
                Ok(key) if !key.is_empty() => Ok(key),
                _ => Err(ApiError::Unauthorized(
                    "the X-API-Key header must hold an SDK key".into(),
                )),
            };
        }
    }
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized(if req.path().starts_with("/ofrep/") {
            "missing credentials: send the SDK key as `Authorization: Bearer <key>` or `X-API-Key: <key>`".into()
        } else {
            "missing credentials: send `Authorization: Bearer <token>`".into()
        })
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
