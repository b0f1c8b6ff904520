//! SDK keys and usage counts in the embedded store.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use flag_sdk::EnvName;
use redb::ReadableTable;

use super::*;
use crate::store::record::sort_sdk_keys;

pub(super) async fn create_sdk_key(store: &EmbeddedStore, key: &SdkKeyRecord) -> Result<()> {
    let record = key.clone();
    let key = key.clone();
    store
        .write_txn(move |txn| {
            if env_version_w(txn, key.environment.as_str())?.is_none() {
                return Err(env_not_found(&key.environment));
            }
            let mut keys = txn.open_table(SDK_KEYS).map_err(db_err)?;
            if keys.get(key.id.as_str()).map_err(db_err)?.is_some() {
                return Err(StoreError::SdkKeyExists(key.id.clone()));
            }
            keys.insert(key.id.as_str(), encode(&key)?.as_slice())
                .map_err(db_err)?;
            Ok(())
        })
        .await?;
    store.push_event(StoreEvent::SdkKeyCreated { key: record });
    Ok(())
}

pub(super) async fn list_sdk_keys(store: &EmbeddedStore) -> Result<Vec<SdkKeyRecord>> {
    let mut keys = store
        .blocking(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = txn.open_table(SDK_KEYS).map_err(db_err)?;
            let mut out = Vec::new();
            for item in table.iter().map_err(db_err)? {
                let (_, v) = item.map_err(db_err)?;
                out.push(decode::<SdkKeyRecord>(v.value())?);
            }
            Ok(out)
        })
        .await?;
    sort_sdk_keys(&mut keys);
    Ok(keys)
}

pub(super) async fn revoke_sdk_key(store: &EmbeddedStore, env: &EnvName, id: &str) -> Result<()> {
    let event = StoreEvent::SdkKeyRevoked {
        environment: env.clone(),
        id: id.to_owned(),
    };
    let (env, id) = (env.clone(), id.to_owned());
    store
        .write_txn(move |txn| {
            let mut keys = txn.open_table(SDK_KEYS).map_err(db_err)?;
            let rec: Option<SdkKeyRecord> = keys
                .get(id.as_str())
                .map_err(db_err)?
                .map(|g| decode(g.value()))
                .transpose()?;
            match rec {
                Some(rec) if rec.environment == env => {
                    keys.remove(id.as_str()).map_err(db_err)?;
                    Ok(())
                }
                _ => Err(sdk_key_not_found(&id)),
            }
        })
        .await?;
    store.push_event(event);
    Ok(())
}

pub(super) async fn record_usage(
    store: &EmbeddedStore,
    env: &EnvName,
    period_end: DateTime<Utc>,
    counts: &HashMap<String, (u64, u64)>,
) -> Result<()> {
    let (env, counts) = (env.clone(), counts.clone());
    store
        .write_txn(move |txn| {
            if env_version_w(txn, env.as_str())?.is_none() {
                return Err(env_not_found(&env));
            }
            let mut table = txn.open_table(USAGE).map_err(db_err)?;
            for (key, (yes, no)) in counts {
                let k = (env.as_str(), key.as_str());
                let mut u: FlagUsage = table
                    .get(k)
                    .map_err(db_err)?
                    .map(|g| decode(g.value()))
                    .transpose()?
                    .unwrap_or_default();
                u.yes = u.yes.saturating_add(yes);
                u.no = u.no.saturating_add(no);
                u.last_evaluated = Some(u.last_evaluated.map_or(period_end, |l| l.max(period_end)));
                table.insert(k, encode(&u)?.as_slice()).map_err(db_err)?;
            }
            Ok(())
        })
        .await
}

pub(super) async fn usage(
    store: &EmbeddedStore,
    env: &EnvName,
) -> Result<HashMap<String, FlagUsage>> {
    let env = env.clone();
    store
        .blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            env_version_r(&txn, &env)?;
            let table = txn.open_table(USAGE).map_err(db_err)?;
            let e = env.as_str();
            let end = env_end(e);
            let mut out = HashMap::new();
            for item in table.range((e, "")..(end.as_str(), "")).map_err(db_err)? {
                let (k, v) = item.map_err(db_err)?;
                out.insert(k.value().1.to_owned(), decode(v.value())?);
            }
            Ok(out)
        })
        .await
}
