//! The SDK instances seen (clients) in the embedded store: one redb table keyed by
//! (environment, instance id), merged and pruned in the transaction that writes.

use chrono::{DateTime, Utc};
use flag_sdk::EnvName;
use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::*;
use crate::store::clients::{sort_clients, ClientRow};
use crate::store::{ClientRecord, CLIENT_RETENTION};

/// (environment, instance id) → [`ClientRow`] JSON.
pub(super) const CLIENTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("clients");

pub(super) async fn record_clients(
    store: &EmbeddedStore,
    env: &EnvName,
    clients: &[ClientRecord],
) -> Result<()> {
    let (env, clients) = (env.clone(), clients.to_vec());
    let cutoff = (Utc::now() - CLIENT_RETENTION).timestamp_millis();
    store
        .write_txn(move |txn| {
            if env_version_w(txn, env.as_str())?.is_none() {
                return Err(env_not_found(&env));
            }
            let mut table = txn.open_table(CLIENTS).map_err(db_err)?;
            for seen in &clients {
                let k = (env.as_str(), seen.instance_id.as_str());
                let stored: Option<ClientRow> = table
                    .get(k)
                    .map_err(db_err)?
                    .map(|g| decode(g.value()))
                    .transpose()?;
                let merged = match stored {
                    Some(row) => {
                        let mut rec = row.into_record()?;
                        rec.merge(seen);
                        rec
                    }
                    None => {
                        // Merging a new record with itself caps its flags.
                        let mut rec = seen.clone();
                        rec.merge(seen);
                        rec
                    }
                };
                table
                    .insert(k, encode(&ClientRow::from(&merged))?.as_slice())
                    .map_err(db_err)?;
            }
            let e = env.as_str();
            let end = env_end(e);
            let mut failure = None;
            table
                .retain_in((e, "")..(end.as_str(), ""), |_, v| {
                    match decode::<ClientRow>(v) {
                        Ok(row) => row.last_seen >= cutoff,
                        Err(err) => {
                            failure.get_or_insert(err);
                            true
                        }
                    }
                })
                .map_err(db_err)?;
            match failure {
                Some(err) => Err(err),
                None => Ok(()),
            }
        })
        .await
}

pub(super) async fn clients(
    store: &EmbeddedStore,
    env: &EnvName,
    since: DateTime<Utc>,
) -> Result<Vec<ClientRecord>> {
    let env = env.clone();
    let since = since.timestamp_millis();
    let mut out = store
        .blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            env_version_r(&txn, &env)?;
            let table = txn.open_table(CLIENTS).map_err(db_err)?;
            let e = env.as_str();
            let end = env_end(e);
            let mut out = Vec::new();
            for item in table.range((e, "")..(end.as_str(), "")).map_err(db_err)? {
                let (_, v) = item.map_err(db_err)?;
                let row: ClientRow = decode(v.value())?;
                if row.last_seen >= since {
                    out.push(row.into_record()?);
                }
            }
            Ok(out)
        })
        .await?;
    sort_clients(&mut out);
    Ok(out)
}

/// Deletes the records of `env`, in the transaction that deletes the environment.
pub(super) fn delete_env(txn: &WriteTransaction, env: &str) -> Result<()> {
    let end = env_end(env);
    let mut table = txn.open_table(CLIENTS).map_err(db_err)?;
    table
        .retain_in((env, "")..(end.as_str(), ""), |_, _| false)
        .map_err(db_err)?;
    Ok(())
}
