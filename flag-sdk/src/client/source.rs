//! The data source: follows the SSE stream, resumes with `Last-Event-ID`, backs off with
//! full jitter, and falls back to polling `GET /sdk/flags` when streaming keeps failing.

use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures_util::StreamExt;
use rand::Rng;
use reqwest::header::{ACCEPT, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::builder::Config;
use super::state::{Origin, Outcome, Shared, WireSnapshot};
use crate::Flag;

/// Where initialisation stands, for `build()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InitState {
    /// Nothing from the server yet.
    Pending,
    /// A snapshot from the server is in place.
    Ready,
    /// The server refused the SDK key: no more attempts.
    Refused,
}

/// How one stream connection ended.
#[derive(Debug)]
enum Ended {
    /// 401 or 403: retrying cannot help.
    Refused(StatusCode),
    /// Reconnect; `connected` tells whether the server accepted the connection.
    Reconnect { connected: bool },
}

#[derive(Deserialize)]
struct PutData {
    flag: serde_json::Value,
}

#[derive(Deserialize)]
struct DeleteData {
    key: String,
}

/// The delay before retry number `attempt` (1-based): uniformly random between 0 and
/// `min(cap, base * 2^(attempt-1))` ("full jitter").
pub(crate) fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(cap);
    let ms = ceiling.as_millis() as u64;
    Duration::from_millis(if ms == 0 {
        0
    } else {
        rand::thread_rng().gen_range(0..=ms)
    })
}

/// Runs until shutdown or until the server refuses the key.
pub(crate) async fn run(
    shared: Arc<Shared>,
    http: reqwest::Client,
    cfg: Arc<Config>,
    init: watch::Sender<InitState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    let mut etag: Option<String> = None;
    loop {
        let ended = tokio::select! {
            ended = stream_once(&shared, &http, &cfg, &init) => ended,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        match ended {
            Ended::Refused(status) => return refused(&init, status),
            Ended::Reconnect { connected: true } => failures = 0,
            Ended::Reconnect { connected: false } => failures = failures.saturating_add(1),
        }
        if failures >= cfg.stream_failures_before_poll {
            // Streaming keeps failing: poll for a while, then try the stream again.
            let until = Instant::now() + cfg.backoff_cap;
            loop {
                if let Err(status) = poll_once(&shared, &http, &cfg, &init, &mut etag).await {
                    return refused(&init, status);
                }
                let wake = (Instant::now() + cfg.poll_interval).min(until);
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
                if Instant::now() >= until {
                    break;
                }
            }
        } else {
            let delay = backoff(cfg.backoff_base, cfg.backoff_cap, failures.max(1));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}

fn refused(init: &watch::Sender<InitState>, status: StatusCode) {
    tracing::error!(%status, "the flag server refused the SDK key; no more attempts (flags stay as they are)");
    init.send_replace(InitState::Refused);
}

fn mark_ready(shared: &Shared, init: &watch::Sender<InitState>) {
    if shared.is_live() && *init.borrow() != InitState::Ready {
        init.send_replace(InitState::Ready);
    }
}

async fn stream_once(
    shared: &Shared,
    http: &reqwest::Client,
    cfg: &Config,
    init: &watch::Sender<InitState>,
) -> Ended {
    let mut req = http
        .get(cfg.stream_url.clone())
        .header(ACCEPT, "text/event-stream");
    if shared.is_live() {
        req = req.header("Last-Event-ID", shared.view().snapshot.version());
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "flag stream: cannot connect");
            return Ended::Reconnect { connected: false };
        }
    };
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Ended::Refused(status);
    }
    if !status.is_success() {
        tracing::debug!(%status, "flag stream: refused for now");
        return Ended::Reconnect { connected: false };
    }
    tracing::debug!("flag stream: connected");
    let mut events = resp.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!(error = %e, "flag stream: broken");
                break;
            }
        };
        match handle(shared, &event) {
            Ok(Outcome::Applied) | Ok(Outcome::Stale) => mark_ready(shared, init),
            Ok(Outcome::Gap) => {
                tracing::debug!(id = %event.id, "flag stream: missed a version, resuming");
                break;
            }
            Err(problem) => {
                tracing::warn!(event = %event.event, %problem, "flag stream: unusable event, reconnecting");
                break;
            }
        }
    }
    Ended::Reconnect { connected: true }
}

fn handle(shared: &Shared, event: &Event) -> Result<Outcome, String> {
    let version = || {
        event
            .id
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("bad event id {:?}", event.id))
    };
    match event.event.as_str() {
        "snapshot" => {
            let wire: WireSnapshot =
                serde_json::from_str(&event.data).map_err(|e| e.to_string())?;
            shared.apply_snapshot(wire, Origin::Server);
            Ok(Outcome::Applied)
        }
        "put" => {
            let version = version()?;
            let data: PutData = serde_json::from_str(&event.data).map_err(|e| e.to_string())?;
            let key = data
                .flag
                .get("key")
                .and_then(|k| k.as_str())
                .unwrap_or("")
                .to_owned();
            let flag = Flag::from_value(data.flag).map_err(|e| e.to_string());
            Ok(shared.apply_put(flag, &key, version))
        }
        "delete" => {
            let version = version()?;
            let data: DeleteData = serde_json::from_str(&event.data).map_err(|e| e.to_string())?;
            Ok(shared.apply_delete(&data.key, version))
        }
        // Unknown event types are for newer clients.
        _ => Ok(Outcome::Stale),
    }
}

/// One `GET /sdk/flags` with `If-None-Match`; `Err` when the key is refused.
async fn poll_once(
    shared: &Shared,
    http: &reqwest::Client,
    cfg: &Config,
    init: &watch::Sender<InitState>,
    etag: &mut Option<String>,
) -> Result<(), StatusCode> {
    let mut req = http.get(cfg.flags_url.clone());
    if let (Some(tag), true) = (etag.as_deref(), shared.is_live()) {
        req = req.header(IF_NONE_MATCH, tag);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "flag poll: cannot connect");
            return Ok(());
        }
    };
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(status);
    }
    if status == StatusCode::NOT_MODIFIED {
        mark_ready(shared, init);
        return Ok(());
    }
    if !status.is_success() {
        tracing::debug!(%status, "flag poll: refused for now");
        return Ok(());
    }
    let tag = resp
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match resp.json::<WireSnapshot>().await {
        Ok(wire) => {
            shared.apply_snapshot(wire, Origin::Server);
            *etag = tag;
            mark_ready(shared, init);
        }
        Err(e) => tracing::warn!(error = %e, "flag poll: unusable answer"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_full_jitter_under_a_cap() {
        let base = Duration::from_millis(250);
        let cap = Duration::from_secs(30);
        for attempt in 1..40 {
            let ceiling = base.saturating_mul(1 << (attempt - 1).min(20)).min(cap);
            for _ in 0..50 {
                assert!(backoff(base, cap, attempt) <= ceiling);
            }
        }
        // Full jitter: early delays are spread over the whole range, not clustered near the ceiling.
        let small = (0..200)
            .filter(|_| backoff(base, cap, 10) < Duration::from_secs(5))
            .count();
        assert!(small > 0);
    }
}
