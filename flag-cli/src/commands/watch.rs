//! `watch`: follows the environment's admin stream and prints one line per change; reconnects
//! with `Last-Event-ID` so that no change is missed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use eventsource_stream::{Event, Eventsource};
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::{Ctx, Outcome};
use crate::cli::Output;
use crate::error::{Error, Result};
use crate::output;
use crate::remote::RemoteFlag;

/// The server sends a comment at least every 15 s; silence this long means a dead connection.
const IDLE_LIMIT: Duration = Duration::from_secs(45);
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Follows the stream until Ctrl-C, or until `count` changes were printed.
pub async fn run(ctx: &Ctx, count: Option<u64>) -> Result<Outcome> {
    let path = ctx.env_path("/stream")?;
    let what = ctx.env_what();
    let mut last_id: Option<String> = None;
    let mut printed = 0u64;
    let mut backoff = BACKOFF_START;
    let mut connected_once = false;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());

    loop {
        let resp = tokio::select! {
            r = ctx.client.stream(&path, last_id.as_deref(), &what) => r,
            _ = &mut ctrl_c => return Ok(Outcome::Done),
        };
        let resp = match resp {
            Ok(resp) => resp,
            // A server that goes away after the first connection is waited for; one that is
            // not there at all, or refuses the token, is an error.
            Err(e @ (Error::Unreachable { .. } | Error::Server { .. })) if connected_once => {
                let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                output::note(format!("{first}; reconnecting in {backoff:?}"));
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = &mut ctrl_c => return Ok(Outcome::Done),
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
            Err(e) => return Err(e),
        };
        if !connected_once && ctx.output == Output::Table {
            output::note(format!(
                "watching {what} on {} (Ctrl-C stops)",
                ctx.client.server()
            ));
        }
        connected_once = true;

        let last_bytes = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let seen = last_bytes.clone();
        let mut events = resp
            .bytes_stream()
            .inspect(move |_| seen.store(started.elapsed().as_millis() as u64, Ordering::Relaxed))
            .eventsource();
        let reason = loop {
            let next = tokio::select! {
                n = events.next() => n,
                () = tokio::time::sleep(Duration::from_secs(5)) => {
                    let idle = started.elapsed().saturating_sub(Duration::from_millis(last_bytes.load(Ordering::Relaxed)));
                    if idle > IDLE_LIMIT {
                        break "no data or heartbeat for 45s".to_owned();
                    }
                    continue;
                }
                _ = &mut ctrl_c => return Ok(Outcome::Done),
            };
            match next {
                None => break "the server closed the stream".to_owned(),
                Some(Err(e)) => break format!("the stream broke: {e}"),
                Some(Ok(event)) => {
                    backoff = BACKOFF_START;
                    if !event.id.is_empty() {
                        last_id = Some(event.id.clone());
                    }
                    if print_event(ctx, &event)? {
                        printed += 1;
                        if count.is_some_and(|c| printed >= c) {
                            return Ok(Outcome::Done);
                        }
                    }
                }
            }
        };
        let from = last_id
            .as_deref()
            .map(|id| format!(" after version {id}"))
            .unwrap_or_default();
        output::note(format!("{reason}; reconnecting{from} in {backoff:?}"));
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = &mut ctrl_c => return Ok(Outcome::Done),
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Prints one event; true when it was a change (put or delete).
fn print_event(ctx: &Ctx, event: &Event) -> Result<bool> {
    let data: Value = serde_json::from_str(&event.data)
        .map_err(|e| Error::Protocol(format!("a `{}` event is not JSON: {e}", event.event)))?;
    let version = event.id.as_str();
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    match event.event.as_str() {
        "snapshot" => {
            let flags = data
                .get("flags")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let v = data.get("version").and_then(Value::as_u64);
            match ctx.output {
                Output::Json => output::json_line(&json!({
                    "time": now, "version": v, "type": "snapshot", "flags": flags,
                }))?,
                Output::Table => output::note(format!(
                    "snapshot of {} at version {}: {flags} flags",
                    ctx.env_what(),
                    v.map_or_else(|| version.to_owned(), |v| v.to_string())
                )),
            }
            Ok(false)
        }
        "put" => {
            let raw = data.get("flag").cloned().unwrap_or(Value::Null);
            let f = RemoteFlag::from_value(raw)?;
            let time = f
                .updated_at
                .map_or(now, |t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
            match ctx.output {
                Output::Json => output::json_line(&json!({
                    "time": time, "version": version_number(version), "type": "put",
                    "key": f.flag.key, "enabled": f.flag.enabled, "percentage": f.flag.percentage,
                    "flag": f.raw,
                }))?,
                Output::Table => output::line(format!(
                    "{time}  v{version:<6} put     {}  enabled={}  percentage={}%",
                    f.flag.key, f.flag.enabled, f.flag.percentage
                ))?,
            }
            Ok(true)
        }
        "delete" => {
            let key = data.get("key").and_then(Value::as_str).unwrap_or("?");
            match ctx.output {
                Output::Json => output::json_line(&json!({
                    "time": now, "version": version_number(version), "type": "delete", "key": key,
                }))?,
                Output::Table => output::line(format!("{now}  v{version:<6} delete  {key}"))?,
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn version_number(id: &str) -> Value {
    id.parse::<u64>()
        .map_or_else(|_| Value::String(id.to_owned()), Value::from)
}
