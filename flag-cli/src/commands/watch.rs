//! `watch`: follows the environment's admin stream and prints one line per change; reconnects
//! with `Last-Event-ID` so that no change is missed.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use flag_sdk::wire::sse::{EventStream, StreamError, StreamEvent};
use flag_sdk::wire::StoredFlag;
use serde_json::json;

use super::{Ctx, Outcome};
use crate::cli::Output;
use crate::error::{Error, Result};
use crate::output;

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

        let mut events = EventStream::new(resp).idle_limit(IDLE_LIMIT);
        let reason = loop {
            let next = tokio::select! {
                n = events.next() => n,
                _ = &mut ctrl_c => return Ok(Outcome::Done),
            };
            if let Some(id) = events.last_event_id() {
                last_id = Some(id.to_owned());
            }
            match next {
                None => break "the server closed the stream".to_owned(),
                Some(Err(StreamError::Unusable { event, problem })) => {
                    return Err(Error::Protocol(format!(
                        "a `{event}` event is not usable: {problem}"
                    )))
                }
                Some(Err(e)) => break e.to_string(),
                Some(Ok(event)) => {
                    backoff = BACKOFF_START;
                    if print_event(ctx, event)? {
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
fn print_event(ctx: &Ctx, event: StreamEvent) -> Result<bool> {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    match event {
        StreamEvent::Snapshot(snap) => {
            let (flags, v) = (snap.flags.len(), snap.version);
            match ctx.output {
                Output::Json => output::json_line(&json!({
                    "time": now, "version": v, "type": "snapshot", "flags": flags,
                }))?,
                Output::Table => output::note(format!(
                    "snapshot of {} at version {v}: {flags} flags",
                    ctx.env_what(),
                )),
            }
            Ok(false)
        }
        StreamEvent::Put { version, data } => {
            let f = StoredFlag::from_value(data.flag.clone()).map_err(|e| {
                Error::Protocol(format!("the server sent a flag the model rejects: {e}"))
            })?;
            let flag = &f.flag;
            let time = flag
                .updated_at
                .map_or(now, |t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
            match ctx.output {
                Output::Json => output::json_line(&json!({
                    "time": time, "version": version, "type": "put",
                    "key": flag.key, "enabled": flag.enabled, "percentage": flag.percentage,
                    "flag": data.flag,
                }))?,
                Output::Table => output::line(format!(
                    "{time}  v{version:<6} put     {}  enabled={}  percentage={}%",
                    flag.key, flag.enabled, flag.percentage
                ))?,
            }
            Ok(true)
        }
        StreamEvent::Delete { version, data } => {
            let key = data.key;
            match ctx.output {
                Output::Json => output::json_line(&json!({
                    "time": now, "version": version, "type": "delete", "key": key,
                }))?,
                Output::Table => output::line(format!("{now}  v{version:<6} delete  {key}"))?,
            }
            Ok(true)
        }
        StreamEvent::SegmentPut { version, data } => {
            let key = data
                .segment
                .get("key")
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            match ctx.output {
                Output::Json => output::json_line(&json!({
                    "time": now, "version": version, "type": "segment_put", "key": key,
                    "segment": data.segment,
                }))?,
                Output::Table => output::line(format!(
                    "{now}  v{version:<6} segment put     {}",
                    key.as_str().unwrap_or_default()
                ))?,
            }
            Ok(true)
        }
        StreamEvent::SegmentDelete { version, data } => {
            let key = data.key;
            match ctx.output {
                Output::Json => output::json_line(&json!({
                    "time": now, "version": version, "type": "segment_delete", "key": key,
                }))?,
                Output::Table => {
                    output::line(format!("{now}  v{version:<6} segment delete  {key}"))?
                }
            }
            Ok(true)
        }
        StreamEvent::Other { .. } => Ok(false),
    }
}
