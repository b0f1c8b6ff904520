//! SDK keys and usage counts in Redis.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use flag_sdk::EnvName;

use super::*;
use crate::store::record::sort_sdk_keys;

pub(super) async fn create_sdk_key(store: &RedisStore, key: &SdkKeyRecord) -> Result<()> {
    store.require_env(&key.environment).await?;
    let json = String::from_utf8(encode(key)?).map_err(corrupt)?;
    let added: bool = store
        .query(
            redis::cmd("HSETNX")
                .arg(store.sdk_keys_key())
                .arg(&key.id)
                .arg(json),
        )
        .await?;
    if added {
        store
            .append_event(&StoreEvent::SdkKeyCreated { key: key.clone() })
            .await?;
        Ok(())
    } else {
        Err(StoreError::SdkKeyExists(key.id.clone()))
    }
}

pub(super) async fn list_sdk_keys(store: &RedisStore) -> Result<Vec<SdkKeyRecord>> {
    let records: Vec<String> = store
        .query(redis::cmd("HVALS").arg(store.sdk_keys_key()))
        .await?;
    if records.is_empty() {
        store.require_identity().await?;
    }
    let mut keys = records
        .iter()
        .map(|r| decode(r.as_bytes()))
        .collect::<Result<Vec<SdkKeyRecord>>>()?;
    sort_sdk_keys(&mut keys);
    Ok(keys)
}

pub(super) async fn revoke_sdk_key(store: &RedisStore, env: &EnvName, id: &str) -> Result<()> {
    let rec: Option<String> = store
        .query(redis::cmd("HGET").arg(store.sdk_keys_key()).arg(id))
        .await?;
    match rec
        .map(|r| decode::<SdkKeyRecord>(r.as_bytes()))
        .transpose()?
    {
        Some(rec) if &rec.environment == env => {
            let _: i64 = store
                .query(redis::cmd("HDEL").arg(store.sdk_keys_key()).arg(id))
                .await?;
            store
                .append_event(&StoreEvent::SdkKeyRevoked {
                    environment: env.clone(),
                    id: id.to_owned(),
                })
                .await?;
            Ok(())
        }
        _ => Err(sdk_key_not_found(id)),
    }
}

pub(super) async fn record_usage(
    store: &RedisStore,
    env: &EnvName,
    period_end: DateTime<Utc>,
    counts: &HashMap<String, (u64, u64)>,
) -> Result<()> {
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut inv = store.usage_script.prepare_invoke();
    inv.key(store.key(env, "version"))
        .key(store.key(env, "usage"))
        .arg(period_end.timestamp_millis());
    for (key, (yes, no)) in counts {
        inv.arg(key).arg(clamp(*yes)).arg(clamp(*no));
    }
    let found: i64 = store.eval(&inv).await?;
    if found == 1 {
        Ok(())
    } else {
        Err(store.missing_env(env).await)
    }
}

pub(super) async fn usage(store: &RedisStore, env: &EnvName) -> Result<HashMap<String, FlagUsage>> {
    let mut pipe = redis::pipe();
    pipe.atomic()
        .exists(store.key(env, "version"))
        .hgetall(store.key(env, "usage"));
    let (exists, fields): (bool, HashMap<String, i64>) = store.atomic(&pipe).await?;
    if !exists {
        return Err(store.missing_env(env).await);
    }
    let mut out: HashMap<String, FlagUsage> = HashMap::new();
    for (field, n) in fields {
        let Some((kind, key)) = field.split_once(':') else {
            continue;
        };
        let u = out.entry(key.to_owned()).or_default();
        let count = u64::try_from(n).unwrap_or_default();
        match kind {
            "y" => u.yes = count,
            "n" => u.no = count,
            "l" => u.last_evaluated = Utc.timestamp_millis_opt(n).single(),
            _ => {}
        }
    }
    Ok(out)
}
