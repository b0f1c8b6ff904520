//! The data source: follows the SSE stream, resumes with `Last-Event-ID`, reconnects with
//! full-jitter backoff, and polls `GET /sdk/flags` alongside while streaming keeps failing.
//!
//! Two loops run side by side in one task:
//! - the stream loop never stops trying: after a failure it waits `backoff(failures)` (at
//!   most `backoff_cap`), after a 401/403 about `refused_retry`. Its failure count is reset
//!   only by a connection that stayed up for `healthy_after`, so a server that accepts and
//!   cuts at once cannot cause a tight reconnection loop.
//! - the poll loop starts after `stream_failures_before_poll` failures in a row, polls at
//!   once and then every `poll_interval` (sooner after a failed poll), skips its turn while a
//!   stream is open, and stops once the stream has been healthy for `healthy_after`.
//!   Polling is the fallback where streaming cannot work; it never delays a reconnection.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use tokio::sync::watch;
use tokio::time::Instant;

use super::builder::Config;
use super::state::{Origin, Outcome, Shared};
use crate::wire::sse::{self, EventStream, StreamEvent};
use crate::wire::SnapshotBody;
use crate::Flag;

/// Where initialisation stands, for `build()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InitState {
    /// Nothing from the server yet.
    Pending,
    /// A snapshot from the server is in place.
    Ready,
    /// The server refused the SDK key at first contact: `build()` need not wait (the client
    /// keeps retrying slowly in the background).
    Refused,
}

/// How one stream connection ended.
#[derive(Debug)]
enum Ended {
    /// 401 or 403.
    Refused(StatusCode),
    /// Reconnect; `connected_for` is how long the server kept the stream open (`None`: it
    /// was not accepted).
    Reconnect { connected_for: Option<Duration> },
}

/// How one poll ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Polled {
    /// Flags received, or 304.
    Ok,
    /// No usable answer.
    Failed,
    /// 401 or 403.
    Refused,
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

/// The delay before asking again after a 401/403: uniformly random between half and one
/// and a half times `every`, so that clients refused together do not retry together.
pub(crate) fn refused_delay(every: Duration) -> Duration {
    let ms = every.as_millis() as u64;
    Duration::from_millis(ms / 2 + rand::thread_rng().gen_range(0..=ms))
}

/// Runs until shutdown.
pub(crate) async fn run(
    shared: std::sync::Arc<Shared>,
    http: reqwest::Client,
    cfg: std::sync::Arc<Config>,
    init: watch::Sender<InitState>,
    shutdown: watch::Receiver<bool>,
) {
    let (polling, wanted) = watch::channel(false);
    tokio::join!(
        stream_loop(&shared, &http, &cfg, &init, &polling, shutdown.clone()),
        poll_loop(&shared, &http, &cfg, &init, wanted, shutdown),
    );
}

async fn stream_loop(
    shared: &Shared,
    http: &reqwest::Client,
    cfg: &Config,
    init: &watch::Sender<InitState>,
    polling: &watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    loop {
        let ended = tokio::select! {
            ended = stream_once(shared, http, cfg, init) => ended,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let delay = match ended {
            Ended::Refused(status) => {
                tracing::debug!(%status, "flag stream: the SDK key is refused");
                refused(shared, init);
                // Asking more often than `refused_retry` cannot help: no polling meanwhile.
                failures = 0;
                polling.send_if_modified(|p| std::mem::replace(p, false));
                refused_delay(cfg.refused_retry)
            }
            Ended::Reconnect { connected_for } => {
                if connected_for.is_some_and(|d| d >= cfg.healthy_after) {
                    // The stream works: start the backoff over, and stop polling.
                    failures = 0;
                    polling.send_if_modified(|p| std::mem::replace(p, false));
                }
                failures = failures.saturating_add(1);
                if failures >= cfg.stream_failures_before_poll {
                    polling.send_if_modified(|p| !std::mem::replace(p, true));
                }
                backoff(cfg.backoff_base, cfg.backoff_cap, failures)
            }
        };
        tracing::debug!(?delay, failures, "flag stream: reconnecting after a delay");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

async fn poll_loop(
    shared: &Shared,
    http: &reqwest::Client,
    cfg: &Config,
    init: &watch::Sender<InitState>,
    mut wanted: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut etag: Option<String> = None;
    loop {
        tokio::select! {
            w = wanted.wait_for(|w| *w) => if w.is_err() { return },
            _ = shutdown.wait_for(|s| *s) => return,
        }
        tracing::debug!("flag stream keeps failing: polling alongside");
        let mut failures: u32 = 0;
        // The first poll goes out at once.
        while *wanted.borrow() {
            let next = if shared.status.is_stream_up() {
                cfg.poll_interval
            } else {
                let polled = tokio::select! {
                    p = poll_once(shared, http, cfg, init, &mut etag) => p,
                    _ = shutdown.wait_for(|s| *s) => return,
                };
                match polled {
                    Polled::Ok => {
                        failures = 0;
                        cfg.poll_interval
                    }
                    Polled::Failed => {
                        // Polling starts after the stream has failed a few times: its retries
                        // go on from that level, not from the shortest delay, so that they add
                        // little to the load on a server that is coming back.
                        failures = failures.saturating_add(1);
                        let level = failures.saturating_add(cfg.stream_failures_before_poll);
                        backoff(cfg.backoff_base, cfg.backoff_cap, level).min(cfg.poll_interval)
                    }
                    Polled::Refused => refused_delay(cfg.refused_retry),
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(next) => {}
                w = wanted.wait_for(|w| !*w) => if w.is_err() { return },
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
        shared.status.poll_ok(false);
        tracing::debug!("flag stream healthy again: polling stopped");
    }
}

fn refused(shared: &Shared, init: &watch::Sender<InitState>) {
    shared.status.refused();
    init.send_if_modified(|s| {
        let first = *s == InitState::Pending;
        if first {
            *s = InitState::Refused;
        }
        first
    });
}

fn mark_ready(shared: &Shared, init: &watch::Sender<InitState>) {
    if shared.is_live() && *init.borrow() != InitState::Ready {
        init.send_replace(InitState::Ready);
    }
}

/// Clears `up` when dropped: the stream's status follows the connection even when the
/// future is cancelled (shutdown).
struct StreamUp<'a>(&'a Shared);

impl Drop for StreamUp<'_> {
    fn drop(&mut self) {
        self.0.status.stream_up(false);
    }
}

async fn stream_once(
    shared: &Shared,
    http: &reqwest::Client,
    cfg: &Config,
    init: &watch::Sender<InitState>,
) -> Ended {
    // Resume after the version held: the server sends the changes after it.
    let resume = shared
        .is_live()
        .then(|| shared.view().snapshot.version().to_string());
    let req = sse::request(http.get(cfg.stream_url.clone()), resume.as_deref());
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "flag stream: cannot connect");
            return Ended::Reconnect {
                connected_for: None,
            };
        }
    };
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Ended::Refused(status);
    }
    if !status.is_success() {
        tracing::debug!(%status, "flag stream: not accepted for now");
        return Ended::Reconnect {
            connected_for: None,
        };
    }
    tracing::debug!("flag stream: connected");
    let connected = Instant::now();
    shared.status.accepted();
    shared.status.stream_up(true);
    let _up = StreamUp(shared);
    let mut events = EventStream::new(resp);
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e @ sse::StreamError::Unusable { .. }) => {
                tracing::warn!(problem = %e, "flag stream: unusable event, reconnecting");
                break;
            }
            Err(e) => {
                tracing::debug!(error = %e, "flag stream: broken");
                break;
            }
        };
        match handle(shared, event) {
            Outcome::Applied | Outcome::Stale => mark_ready(shared, init),
            Outcome::Gap => {
                tracing::debug!(id = ?events.last_event_id(), "flag stream: missed a version, resuming");
                break;
            }
        }
    }
    tracing::debug!("flag stream: ended");
    Ended::Reconnect {
        connected_for: Some(connected.elapsed()),
    }
}

fn handle(shared: &Shared, event: StreamEvent) -> Outcome {
    match event {
        StreamEvent::Snapshot(wire) => {
            shared.apply_snapshot(wire, Origin::Server);
            Outcome::Applied
        }
        StreamEvent::Put { version, data } => {
            let key = data
                .flag
                .get("key")
                .and_then(|k| k.as_str())
                .unwrap_or("")
                .to_owned();
            let flag = Flag::from_value(data.flag).map_err(|e| e.to_string());
            shared.apply_put(flag, &key, version)
        }
        StreamEvent::Delete { version, data } => shared.apply_delete(&data.key, version),
        StreamEvent::SegmentPut { version, data } => {
            shared.apply_segment_put(data.segment, version)
        }
        StreamEvent::SegmentDelete { version, data } => {
            shared.apply_segment_delete(&data.key, version)
        }
        // Unknown event types are for newer clients.
        StreamEvent::Other { .. } => Outcome::Stale,
    }
}

/// One `GET /sdk/flags` with `If-None-Match`.
async fn poll_once(
    shared: &Shared,
    http: &reqwest::Client,
    cfg: &Config,
    init: &watch::Sender<InitState>,
    etag: &mut Option<String>,
) -> Polled {
    let mut req = http.get(cfg.flags_url.clone());
    if let (Some(tag), true) = (etag.as_deref(), shared.is_live()) {
        req = req.header(IF_NONE_MATCH, tag);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "flag poll: cannot connect");
            shared.status.poll_ok(false);
            return Polled::Failed;
        }
    };
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        tracing::debug!(%status, "flag poll: the SDK key is refused");
        refused(shared, init);
        return Polled::Refused;
    }
    if status == StatusCode::NOT_MODIFIED {
        shared.status.accepted();
        shared.status.poll_ok(true);
        mark_ready(shared, init);
        return Polled::Ok;
    }
    if !status.is_success() {
        tracing::debug!(%status, "flag poll: not answered for now");
        shared.status.poll_ok(false);
        return Polled::Failed;
    }
    let tag = resp
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match resp.json::<SnapshotBody>().await {
        Ok(wire) => {
            shared.apply_snapshot(wire, Origin::Server);
            *etag = tag;
            shared.status.accepted();
            shared.status.poll_ok(true);
            mark_ready(shared, init);
            Polled::Ok
        }
        Err(e) => {
            tracing::warn!(error = %e, "flag poll: unusable answer");
            shared.status.poll_ok(false);
            Polled::Failed
        }
    }
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

    #[test]
    fn refusals_are_retried_slowly_and_spread() {
        let every = Duration::from_secs(60);
        let delays: Vec<_> = (0..200).map(|_| refused_delay(every)).collect();
        assert!(delays
            .iter()
            .all(|d| *d >= every / 2 && *d <= every * 3 / 2));
        assert!(delays.iter().any(|d| *d != delays[0]), "jittered");
    }
}
