//! `GET /environments/{env}/clients?app=`: the SDK instances seen in the last hour, with
//! their application, version, SDK and the flags they evaluated (see [`crate::clients`]).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use flag_sdk::wire::{client_headers, ClientList};
use flag_sdk::EnvName;
use serde::Deserialize;
use utoipa::IntoParams;

use super::query::{self, Query};
use crate::auth::Admin;
use crate::clients::{list as listing, LISTED_FOR};
use crate::error::{ApiError, Result};
use crate::openapi::params::EnvPath;
use crate::state::AppState;

/// Query parameters of the list of clients.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClientsQuery {
    /// Only the instances of this application (their `X-Flag-App-Name`): 1 to 128 bytes of
    /// visible ASCII.
    #[param(pattern = "^[!-~]{1,128}$", example = "checkout")]
    #[serde(default, deserialize_with = "query::text")]
    pub app: Option<String>,
}

/// The SDK instances of an environment seen in the last hour (by any server instance on
/// this store), sorted by application name (those without one first), then instance id.
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/clients", tag = "clients",
    params(EnvPath, ClientsQuery),
    responses(
        (status = 200, description = "The instances; `flags` are those their metrics reports named", body = ClientList),
        (status = 400, description = "Bad query parameter"),
    )
)]
pub async fn list(
    _admin: Admin,
    path: web::Path<EnvName>,
    query: Query<ClientsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    let Query(query) = query;
    if let Some(app) = query
        .app
        .as_deref()
        .filter(|a| !client_headers::is_valid(a))
    {
        return Err(ApiError::BadRequest(format!(
            "query parameter app must be 1 to {} bytes of visible ASCII, like an X-Flag-App-Name, got {app:?}",
            client_headers::MAX_LEN
        )));
    }
    let now = Utc::now();
    let stored = state.hub().store().clients(&env, now - LISTED_FOR).await?;
    let clients = listing::merge(stored, state.clients.local(&env), now, query.app.as_deref());
    Ok(super::json_response(
        StatusCode::OK,
        &ClientList {
            environment: env.to_string(),
            clients,
        },
    ))
}
