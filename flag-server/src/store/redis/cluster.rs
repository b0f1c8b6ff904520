//! What a Redis Cluster needs done differently: a command may name keys of one hash slot
//! only, so what spans environments is one command per environment.
//!
//! Following the change logs ([`Store::wait_for_changes`]) is one blocking `XREAD` per
//! environment, each on a dedicated cluster connection (the cluster routes it to the primary
//! of the environment's slot). When one returns changes, the others are woken with
//! `CLIENT UNBLOCK` (sent through the shared connection to the same node), so that their
//! connections go back to the pool instead of being dropped mid-command.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use flag_sdk::EnvName;
use futures_util::stream::{FuturesUnordered, StreamExt};
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::streams::StreamReadReply;

use super::*;

/// Routes a command to the primary of `key`'s slot.
fn owner_of(key: &str) -> RoutingInfo {
    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
        key,
        SlotAddr::Master,
    )))
}

/// Whether each key exists, one `EXISTS` per key (they may live in different slots).
pub(super) async fn exists_each(store: &RedisStore, keys: &[String]) -> Result<Vec<bool>> {
    let checks = keys.iter().map(|k| async move {
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(k);
        store.query::<bool>(&cmd).await
    });
    futures_util::future::try_join_all(checks).await
}

/// [`Store::wait_for_changes`] on a cluster.
pub(super) async fn wait_for_changes(
    store: &RedisStore,
    cursors: &[(EnvName, u64)],
    timeout: Duration,
) -> Result<Vec<Change>> {
    let stop = AtomicBool::new(false);
    let blocked: Mutex<Vec<(String, i64)>> = Mutex::new(Vec::new());
    let mut waiters: FuturesUnordered<_> = cursors
        .iter()
        .map(|(env, version)| wait_one(store, env, *version, timeout, &stop, &blocked))
        .collect();
    let mut out = Vec::new();
    let mut failure = None;
    while let Some(result) = waiters.next().await {
        match result {
            Ok(changes) => out.extend(changes),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
        if (!out.is_empty() || failure.is_some()) && !stop.swap(true, Ordering::SeqCst) {
            let ids = blocked.lock().map(|b| b.clone()).unwrap_or_default();
            unblock(store, &ids).await;
        }
    }
    match failure {
        Some(e) if out.is_empty() => Err(e),
        _ => Ok(out),
    }
}

/// Wakes blocked readers (best effort: one that is not blocked any more ignores it).
async fn unblock(store: &RedisStore, ids: &[(String, i64)]) {
    let Ok(Conn::Cluster(shared)) = store.conn().await else {
        return;
    };
    let wakes = ids.iter().map(|(key, id)| {
        let mut c = shared.clone();
        let mut cmd = redis::cmd("CLIENT");
        cmd.arg("UNBLOCK").arg(*id);
        async move {
            let _ = tokio::time::timeout(CALL_TIMEOUT, c.route_command(cmd, owner_of(key))).await;
        }
    });
    futures_util::future::join_all(wakes).await;
}

/// The changes of one environment after `version`, blocking up to `timeout` on a dedicated
/// connection registered in `blocked`; does not block once `stop` is set.
async fn wait_one(
    store: &RedisStore,
    env: &EnvName,
    version: u64,
    timeout: Duration,
    stop: &AtomicBool,
    blocked: &Mutex<Vec<(String, i64)>>,
) -> Result<Vec<Change>> {
    let key = store.key(env, "log");
    let from = format!("{version}-1");
    let mut cmd = redis::cmd("XREAD");
    let block_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    if block_ms > 0 {
        cmd.arg("BLOCK").arg(block_ms);
    }
    cmd.arg("STREAMS").arg(&key).arg(&from);
    // Once another environment had news: what is there, without waiting.
    let mut now = redis::cmd("XREAD");
    now.arg("STREAMS").arg(&key).arg(&from);
    let (mut c, mut pooled) = store.blocking_conn().await?;
    let reply: Option<StreamReadReply> = loop {
        let attempt = async {
            if let Conn::Cluster(cc) = &mut c.1 {
                let mut id = redis::cmd("CLIENT");
                id.arg("ID");
                let id: i64 = redis::from_redis_value(
                    bounded(CALL_TIMEOUT, cc.route_command(id, owner_of(&key))).await?,
                )
                .map_err(|e| StoreError::Internal(format!("CLIENT ID: {e}")))?;
                if let Ok(mut b) = blocked.lock() {
                    b.push((key.clone(), id));
                }
            }
            let cmd = if stop.load(Ordering::SeqCst) {
                &now
            } else {
                &cmd
            };
            bounded(timeout + CALL_TIMEOUT, cmd.query_async(&mut c.1)).await
        };
        match attempt.await {
            Ok(reply) => break reply,
            // An idle connection may have died with a node: once more on a new one.
            Err(StoreError::Unavailable(_)) if pooled => {
                (c, pooled) = store.blocking_conn().await?
            }
            Err(e) => {
                store.topology.failed();
                return Err(e);
            }
        }
    };
    store.release_blocking_conn(c);
    let mut out = Vec::new();
    for stream in reply.map(|r| r.keys).unwrap_or_default() {
        if stream.key == key {
            out.extend(store.changes(env, &stream.ids)?);
        }
    }
    Ok(out)
}
