//! The change notifications of OFREP's event-streams extension (ADR-0008):
//! `GET /ofrep/v1/events`, advertised in the bulk answer's `eventStreams`.
//!
//! Notification only: each event tells the provider to fetch the bulk evaluation again.
//!
//! ```text
//! id: 42
//! event: message
//! data: {"type":"refetchEvaluation","etag":"\"42\""}
//! ```
//!
//! `id` and `etag` carry the environment's version. Changes that arrive together give one
//! event (the latest version). A client that reconnects with `Last-Event-ID: N` gets one event
//! at once when the environment moved past N (a refetch covers every change it missed), and
//! none when it did not. A comment line every 15 seconds keeps proxies from cutting the
//! connection. The stream ends when its key is revoked, its environment deleted, or the
//! server stops.
//!
//! A browser's `EventSource` cannot send headers, so the advertised address carries a token
//! (`?token=<key id>.<digest>`) derived from the key's stored hash: it is not the SDK key,
//! it opens only this stream of the key's environment, and it dies with the key. The stream
//! also takes the SDK key itself (`Authorization: Bearer` or `X-API-Key`).

use std::convert::Infallible;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::broadcast;

use crate::api::stream::{last_event_id, HEARTBEAT, RETRY_MS};
use crate::auth::SdkClient;
use crate::error::{ApiError, Result};
use crate::hub::{Hub, Notice};
use crate::state::AppState;
use crate::store::{Change, SdkKeyRecord};

/// The events token of a key.
pub fn token(key: &SdkKeyRecord) -> String {
    let digest = Sha256::new()
        .chain_update(b"ofrep-events:")
        .chain_update(key.hash.as_bytes())
        .finalize();
    format!("{}.{}", key.id, &hex::encode(digest)[..32])
}

/// The query of the events stream.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The token given in the bulk answer's `eventStreams` (instead of the SDK key)
    pub token: Option<String>,
}

/// The caller: by token, or by SDK key.
async fn caller(req: &HttpRequest, state: &AppState) -> Result<SdkClient> {
    let query = web::Query::<EventsQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    let Some(token) = query.into_inner().token else {
        return SdkClient::extract(req).await;
    };
    let refused = || ApiError::Unauthorized("unknown or revoked events token".into());
    let (id, _) = token.rsplit_once('.').ok_or_else(refused)?;
    let key = state.hub().sdk_key_by_id(id).ok_or_else(refused)?;
    if !bool::from(self::token(&key).as_bytes().ct_eq(token.as_bytes())) {
        return Err(refused());
    }
    Ok(SdkClient {
        environment: key.environment.clone(),
        key_id: key.id.clone(),
    })
}

/// Change notifications of the key's environment.
#[utoipa::path(
    get, path = "/ofrep/v1/events", tag = "ofrep",
    params(EventsQuery, crate::openapi::params::StreamHeaders),
    responses(
        (status = 200, description = "Server-Sent Events: `event: message`, `data: {\"type\":\"refetchEvaluation\",\"etag\"}`, `id` the environment's version; heartbeat comments", content_type = "text/event-stream", body = String),
        (status = 400, description = "A query that does not parse"),
        (status = 401, description = "No key or token, or an unknown or revoked one"),
        (status = 403, description = "An admin token: this stream needs an SDK key"),
        (status = 503, description = "The environment could not be loaded from the store"),
    ),
    security(("bearer" = []), ("apiKey" = []), ())
)]
pub async fn events(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let client = caller(&req, &state).await?;
    let hub = state.hub().clone();
    let notices = hub.notices();
    if !hub.sdk_key_active(&client.key_id) {
        return Err(ApiError::Unauthorized("unknown or revoked token".into()));
    }
    let env = client.environment.clone();
    let (view, rx) = hub.subscribe_loaded(&env).await?;
    let last = last_event_id(&req);
    let mut first = format!("retry: {RETRY_MS}\n\n");
    if last.is_some_and(|n| n != view.version) {
        first.push_str(&event(view.version));
    }
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let conn = Conn {
        shutdown: hub.shutdown_token(),
        hub,
        client,
        rx,
        notices,
        sent: view.version,
        heartbeat,
        first: Some(Bytes::from(first)),
    };
    let body = futures_util::stream::unfold(conn, |mut conn| async move {
        let chunk = conn.next().await?;
        Some((Ok::<_, Infallible>(chunk), conn))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

fn event(version: u64) -> String {
    format!(
        "id: {version}\nevent: message\ndata: {{\"type\":\"refetchEvaluation\",\"etag\":\"\\\"{version}\\\"\"}}\n\n"
    )
}

struct Conn {
    hub: Arc<Hub>,
    shutdown: tokio_util::sync::CancellationToken,
    client: SdkClient,
    rx: broadcast::Receiver<Arc<Change>>,
    notices: broadcast::Receiver<Notice>,
    sent: u64,
    heartbeat: tokio::time::Interval,
    first: Option<Bytes>,
}

impl Conn {
    /// The next chunk; `None` ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return None,
                notice = self.notices.recv() => match notice {
                    Ok(Notice::KeyRevoked { id, .. }) if id == self.client.key_id => return None,
                    Ok(Notice::EnvironmentDeleted(env)) if env == self.client.environment => return None,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if !self.hub.sdk_key_active(&self.client.key_id) {
                            return None;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                change = self.rx.recv() => {
                    let version = match change {
                        Ok(change) => {
                            let mut version = change.version;
                            while let Ok(more) = self.rx.try_recv() {
                                version = version.max(more.version);
                            }
                            version
                        }
                        // Behind or reloaded: one refetch covers everything missed.
                        Err(broadcast::error::RecvError::Lagged(_)) => self.current()?,
                        Err(broadcast::error::RecvError::Closed) => {
                            let (view, rx) = self.hub.subscribe(self.client.environment.as_str())?;
                            self.rx = rx;
                            view.version
                        }
                    };
                    if version != self.sent {
                        self.sent = version;
                        return Some(Bytes::from(event(version)));
                    }
                }
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b": heartbeat\n\n")),
            }
        }
    }

    fn current(&self) -> Option<u64> {
        self.hub
            .view(self.client.environment.as_str())
            .map(|v| v.version)
    }
}
