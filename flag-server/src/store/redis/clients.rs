//! The SDK instances seen (clients) in Redis: `P:{E}:clients`, a hash of instance id →
//! record JSON, and `P:{E}:clients_seen`, a sorted set of the same ids by `last_seen`, for
//! pruning. Both carry the environment's hash tag, so the merging script (`clients.lua`)
//! runs on one node of a Cluster.

use chrono::{DateTime, Utc};
use flag_sdk::EnvName;

use super::*;
use crate::store::clients::{sort_clients, ClientRow};
use crate::store::{ClientRecord, CLIENT_RETENTION, MAX_CLIENT_FLAGS};

/// Records per script call, so that one call stays short for Redis.
const BATCH: usize = 500;

pub(super) async fn record_clients(
    store: &RedisStore,
    env: &EnvName,
    clients: &[ClientRecord],
) -> Result<()> {
    let cutoff = (Utc::now() - CLIENT_RETENTION).timestamp_millis();
    let rows = clients
        .iter()
        .map(|c| String::from_utf8(encode(&ClientRow::from(c))?).map_err(corrupt))
        .collect::<Result<Vec<_>>>()?;
    // One call even with nothing to merge: it checks the environment and prunes.
    let mut batches: Vec<&[String]> = rows.chunks(BATCH).collect();
    if batches.is_empty() {
        batches.push(&[]);
    }
    for batch in batches {
        let mut inv = store.clients_script.prepare_invoke();
        inv.key(store.key(env, "version"))
            .key(store.key(env, "clients"))
            .key(store.key(env, "clients_seen"))
            .arg(cutoff)
            .arg(MAX_CLIENT_FLAGS);
        for row in batch {
            inv.arg(row);
        }
        let found: i64 = store.eval(&inv).await?;
        if found != 1 {
            return Err(store.missing_env(env).await);
        }
    }
    Ok(())
}

pub(super) async fn clients(
    store: &RedisStore,
    env: &EnvName,
    since: DateTime<Utc>,
) -> Result<Vec<ClientRecord>> {
    let mut pipe = redis::pipe();
    pipe.atomic()
        .exists(store.key(env, "version"))
        .hvals(store.key(env, "clients"));
    let (exists, rows): (bool, Vec<String>) = store.atomic(&pipe).await?;
    if !exists {
        return Err(store.missing_env(env).await);
    }
    let since = since.timestamp_millis();
    let mut out = Vec::new();
    for row in rows {
        let row: ClientRow = decode(row.as_bytes())?;
        if row.last_seen >= since {
            out.push(row.into_record()?);
        }
    }
    sort_clients(&mut out);
    Ok(out)
}
