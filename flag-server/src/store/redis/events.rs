//! The event log, the store identity and leases in Redis.

use std::time::Duration;

use redis::streams::{StreamRangeReply, StreamReadReply};

use super::*;

pub(super) async fn event_cursor(store: &RedisStore) -> Result<EventCursor> {
    let last: StreamRangeReply = store
        .query(
            redis::cmd("XREVRANGE")
                .arg(store.events_key())
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1),
        )
        .await?;
    Ok(last
        .ids
        .first()
        .map(|e| e.id.clone())
        .unwrap_or_else(|| "0-0".to_owned()))
}

pub(super) async fn wait_for_events(
    store: &RedisStore,
    after: &EventCursor,
    timeout: Duration,
) -> Result<Vec<(EventCursor, StoreEvent)>> {
    let mut cmd = redis::cmd("XREAD");
    let block_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    if block_ms > 0 {
        cmd.arg("BLOCK").arg(block_ms);
    }
    cmd.arg("STREAMS").arg(store.events_key()).arg(after);
    let reply: Option<StreamReadReply> = store.blocking_query(&cmd, timeout).await?;
    let mut out = Vec::new();
    for stream in reply.map(|r| r.keys).unwrap_or_default() {
        for entry in stream.ids {
            let json: String = entry
                .get("e")
                .ok_or_else(|| corrupt("event without body"))?;
            out.push((entry.id.clone(), decode(json.as_bytes())?));
        }
    }
    Ok(out)
}

pub(super) async fn publish_event(store: &RedisStore, event: &StoreEvent) -> Result<()> {
    store.append_event(event).await
}

pub(super) async fn identity(store: &RedisStore) -> Result<Option<String>> {
    store.query(redis::cmd("GET").arg(store.epoch_key())).await
}

pub(super) async fn ensure_identity(store: &RedisStore, proposed: &str) -> Result<String> {
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("SET")
        .arg(store.epoch_key())
        .arg(proposed)
        .arg("NX")
        .ignore()
        .get(store.epoch_key());
    let (id,): (String,) = store.atomic(&pipe).await?;
    Ok(id)
}

pub(super) async fn set_identity(store: &RedisStore, id: &str) -> Result<()> {
    let _: String = store
        .query(redis::cmd("SET").arg(store.epoch_key()).arg(id))
        .await?;
    Ok(())
}

pub(super) async fn try_lease(
    store: &RedisStore,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<bool> {
    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    let taken: i64 = store
        .eval(
            store
                .lease_script
                .key(store.lease_key(name))
                .arg(holder)
                .arg(ms),
        )
        .await?;
    Ok(taken == 1)
}

pub(super) async fn release_lease(store: &RedisStore, name: &str, holder: &str) -> Result<()> {
    let _: i64 = store
        .eval(
            store
                .release_lease_script
                .key(store.lease_key(name))
                .arg(holder),
        )
        .await?;
    Ok(())
}
