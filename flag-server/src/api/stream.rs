//! The SSE stream (contract section 4, "Stream"): `GET /api/v1/sdk/stream` for SDK keys and
//! `GET /api/v1/environments/{env}/stream` for admins, one implementation over
//! [`crate::hub::Hub::subscribe`].
//!
//! On connect the stream subscribes to the hub first and only then reads the state, so the
//! snapshot (or the replay after `Last-Event-ID`) and the live changes meet with no gap; live
//! changes at or below the version already sent are skipped, so there is no duplicate either.
//!
//! A stream is a response body that the connection's own task polls whenever the socket can
//! take more: no extra task and no buffer per stream. A change is serialized once for every
//! stream of the process. A client that does not keep up is bounded by the HTTP layer's write
//! buffer and its socket's, and never slows others (the hub's broadcast ring is shared and
//! never waits for a receiver); when it falls more than the hub's channel capacity behind, its
//! stream ends and it resumes with `Last-Event-ID`, losing nothing. Streams also end when
//! their SDK key is revoked, their environment is deleted, or the server shuts down.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use flag_sdk::wire::DeleteData;
use flag_sdk::EnvName;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::auth::{Admin, SdkClient};
use crate::error::{ApiError, Result};
use crate::hub::{EnvView, Hub, Notice};
use crate::openapi::params::{EnvPath, StreamHeaders};
use crate::state::AppState;
use crate::store::{Change, ChangeEvent, Replay};

/// A comment line at least this often keeps proxies from cutting idle connections.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// The reconnection delay suggested to clients (`retry:`), in milliseconds.
pub const RETRY_MS: u64 = 1000;
/// Live changes sent in one chunk at most.
const BATCH: usize = 256;

/// The stream of one environment, for admins (CLI `watch`, UI).
#[utoipa::path(
    get, path = "/api/v1/environments/{env}/stream", tag = "stream",
    params(EnvPath, StreamHeaders),
    responses((status = 200, description = "Server-Sent Events: snapshot, put, delete, heartbeat comments", content_type = "text/event-stream", body = String))
)]
pub async fn environment_stream(
    _admin: Admin,
    path: web::Path<EnvName>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let env = path.into_inner();
    state.service.require_environment(&env).await?;
    open(&req, &state, env, None).await
}

/// The stream of the SDK key's environment.
#[utoipa::path(
    get, path = "/api/v1/sdk/stream", tag = "sdk",
    params(StreamHeaders),
    responses((status = 200, description = "Server-Sent Events: snapshot, put, delete, heartbeat comments", content_type = "text/event-stream", body = String))
)]
pub async fn sdk_stream(
    client: SdkClient,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    open(&req, &state, client.environment, Some(client.key_id)).await
}

async fn open(
    req: &HttpRequest,
    state: &AppState,
    env: EnvName,
    key_id: Option<String>,
) -> Result<HttpResponse> {
    let hub = state.hub().clone();
    // Notices first, so that a revocation after the authentication is not missed.
    let notices = hub.notices();
    if let Some(id) = &key_id {
        if !hub.sdk_key_active(id) {
            return Err(ApiError::Unauthorized("unknown or revoked token".into()));
        }
    }
    let (view, rx) = hub.subscribe_loaded(&env).await?;
    // Counted while the body lives; an SDK's stream also marks its instance as streaming.
    let counted = state
        .clients
        .stream_opened(&env, key_id.is_some().then(|| req.headers()));
    let last_event_id = last_event_id(req);
    let (first, sent) = opening(&hub, &env, &view, last_event_id).await;

    let conn = Connection {
        shutdown: hub.shutdown_token(),
        hub,
        env,
        key_id,
        rx,
        notices,
        sent,
        heartbeat: heartbeat(),
        first,
        _counted: counted,
    };
    // The body is polled by the connection's own task whenever the socket can take more:
    // no task and no buffer of our own per stream.
    let body = futures_util::stream::unfold(conn, |mut conn| async move {
        let chunk = conn.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), conn))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// The version a reconnecting client last saw (`Last-Event-ID`), when it sent a valid one.
pub(crate) fn last_event_id(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Ticks every [`HEARTBEAT`], starting one period from now; missed ticks are not made up.
fn heartbeat() -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// The first chunk: the exact replay after `Last-Event-ID`, or a snapshot; and the version it
/// brings the client to.
async fn opening(
    hub: &Hub,
    env: &EnvName,
    view: &EnvView,
    last_event_id: Option<u64>,
) -> (VecDeque<Bytes>, u64) {
    let mut out = format!("retry: {RETRY_MS}\n\n");
    if let Some(n) = last_event_id {
        let replay = if n == view.version {
            Some(Vec::new())
        } else {
            match hub.store().changes_since(env, n).await {
                Ok(Replay::Changes(changes)) => Some(changes),
                Ok(Replay::TooOld) => None,
                Err(e) => {
                    tracing::debug!(environment = %env, error = %e, "no replay from the store; sending a snapshot");
                    None
                }
            }
        };
        if let Some(changes) = replay {
            let mut sent = n;
            for change in &changes {
                if change.version > sent {
                    push_change(&mut out, change);
                    sent = change.version;
                }
            }
            // The store may be ahead of this instance's view: live changes up to `sent` are skipped.
            return (VecDeque::from([Bytes::from(out)]), sent);
        }
    }
    (VecDeque::from(snapshot_event(out, view)), view.version)
}

/// The snapshot event of a view after `prefix`, in chunks: the snapshot's body is shared with
/// the hub's view, not copied per connection.
fn snapshot_event(mut prefix: String, view: &EnvView) -> [Bytes; 3] {
    let _ = write!(prefix, "id: {}\nevent: snapshot\ndata: ", view.version);
    [
        Bytes::from(prefix),
        view.body.clone(),
        Bytes::from_static(b"\n\n"),
    ]
}

/// Writes a [`flag_sdk::wire::PutData`] from a borrowed flag (the wire type holds the flag
/// as a JSON value), keeping the flag's field order; a test checks it is the wire type's JSON.
#[derive(serde::Serialize)]
struct PutEncoder<'a> {
    flag: &'a flag_sdk::Flag,
}

fn push_change(out: &mut String, change: &Change) {
    let (event, data) = match &change.event {
        ChangeEvent::Put { flag } => ("put", serde_json::to_string(&PutEncoder { flag })),
        ChangeEvent::Delete { key } => (
            "delete",
            serde_json::to_string(&DeleteData {
                key: key.to_string(),
            }),
        ),
        ChangeEvent::SegmentPut { segment } => (
            "segment_put",
            serde_json::to_string(&serde_json::json!({ "segment": segment })),
        ),
        ChangeEvent::SegmentDelete { key } => (
            "segment_delete",
            serde_json::to_string(&DeleteData {
                key: key.to_string(),
            }),
        ),
    };
    match data {
        Ok(data) => {
            let _ = write!(
                out,
                "id: {}\nevent: {event}\ndata: {data}\n\n",
                change.version
            );
        }
        Err(e) => {
            tracing::error!(version = change.version, error = %e, "cannot serialise a change")
        }
    }
}

/// The event of a live change.
fn change_event(change: &Change) -> Bytes {
    let mut out = String::new();
    push_change(&mut out, change);
    Bytes::from(out)
}

/// Why a stream ended, for the logs.
#[derive(Debug)]
enum End {
    Shutdown,
    Revoked,
    EnvironmentGone,
    SlowClient,
}

struct Connection {
    hub: Arc<Hub>,
    shutdown: CancellationToken,
    env: EnvName,
    key_id: Option<String>,
    rx: broadcast::Receiver<Arc<Change>>,
    notices: broadcast::Receiver<Notice>,
    /// The version the client has been sent up to.
    sent: u64,
    heartbeat: tokio::time::Interval,
    /// The replay or snapshot, sent first.
    first: VecDeque<Bytes>,
    /// Counts the stream (`flag_streams_connected`) until it ends.
    _counted: crate::clients::StreamGuard,
}

impl Connection {
    /// The next chunk of the body; `None` ends the stream.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.pop_front() {
            return Some(first);
        }
        match self.follow().await {
            Ok(chunk) => Some(chunk),
            Err(end) => {
                tracing::debug!(environment = %self.env, reason = ?end, "stream ended");
                None
            }
        }
    }

    async fn follow(&mut self) -> std::result::Result<Bytes, End> {
        loop {
            let chunk = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return Err(End::Shutdown),
                notice = self.notices.recv() => {
                    if let Some(end) = self.check_notice(notice) {
                        return Err(end);
                    }
                    None
                }
                change = self.rx.recv() => match change {
                    Ok(change) => self.live_chunk(change),
                    // More than the hub's channel capacity behind: the client resumes
                    // with Last-Event-ID.
                    Err(broadcast::error::RecvError::Lagged(_)) => return Err(End::SlowClient),
                    Err(broadcast::error::RecvError::Closed) => match self.resubscribe() {
                        Some(chunk) => chunk,
                        None => return Err(End::EnvironmentGone),
                    },
                },
                _ = self.heartbeat.tick() => Some(Bytes::from_static(b": heartbeat\n\n")),
            };
            if let Some(chunk) = chunk {
                return Ok(chunk);
            }
        }
    }

    /// This change and every other one already waiting, as one chunk.
    fn live_chunk(&mut self, first: Arc<Change>) -> Option<Bytes> {
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut next = Some(first);
        let mut n = 0;
        while let Some(change) = next.take() {
            if change.version > self.sent {
                chunks.push(self.hub.encoded_change(&change, change_event));
                self.sent = change.version;
            }
            n += 1;
            if n < BATCH {
                next = self.rx.try_recv().ok();
            }
        }
        match chunks.len() {
            0 => None,
            1 => chunks.pop(),
            _ => Some(Bytes::from(chunks.concat())),
        }
    }

    /// The environment was reloaded from scratch: a fresh snapshot when it moved.
    fn resubscribe(&mut self) -> Option<Option<Bytes>> {
        let (view, rx) = self.hub.subscribe(self.env.as_str())?;
        self.rx = rx;
        if view.version == self.sent {
            return Some(None);
        }
        self.sent = view.version;
        Some(Some(Bytes::from(
            snapshot_event(String::new(), &view).concat(),
        )))
    }

    fn check_notice(
        &self,
        notice: std::result::Result<Notice, broadcast::error::RecvError>,
    ) -> Option<End> {
        match notice {
            Ok(Notice::KeyRevoked { id, .. }) if self.key_id.as_deref() == Some(id.as_str()) => {
                Some(End::Revoked)
            }
            Ok(Notice::EnvironmentDeleted(env)) if env == self.env => Some(End::EnvironmentGone),
            Ok(_) => None,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                if self
                    .key_id
                    .as_deref()
                    .is_some_and(|id| !self.hub.sdk_key_active(id))
                {
                    Some(End::Revoked)
                } else if self.hub.view(self.env.as_str()).is_none() {
                    Some(End::EnvironmentGone)
                } else {
                    None
                }
            }
            Err(broadcast::error::RecvError::Closed) => Some(End::Shutdown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_events_are_the_wire_type() {
        let flag = flag_sdk::Flag::on("checkout").unwrap();
        let ours = serde_json::to_value(PutEncoder { flag: &flag }).unwrap();
        let wire = flag_sdk::wire::PutData {
            flag: serde_json::to_value(&flag).unwrap(),
        };
        assert_eq!(ours, serde_json::to_value(&wire).unwrap());
        let read: flag_sdk::wire::PutData = serde_json::from_value(ours).unwrap();
        assert_eq!(read, wire);
    }
}
