//! Jobs (scheduled changes, release plans) in the embedded store.

use flag_sdk::EnvName;
use redb::ReadableTable;

use super::*;
use crate::store::JobRecord;

fn conflict(id: &str, expected: u64, actual: u64) -> StoreError {
    StoreError::JobConflict {
        id: id.to_owned(),
        expected,
        actual,
    }
}

pub(super) async fn jobs(store: &EmbeddedStore, env: &EnvName) -> Result<Vec<JobRecord>> {
    let env = env.clone();
    store
        .blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            env_version_r(&txn, &env)?;
            let table = txn.open_table(JOBS).map_err(db_err)?;
            let e = env.as_str();
            let end = env_end(e);
            let mut out = Vec::new();
            for item in table.range((e, "")..(end.as_str(), "")).map_err(db_err)? {
                let (k, v) = item.map_err(db_err)?;
                let (rev, body) = v.value();
                out.push(JobRecord {
                    id: k.value().1.to_owned(),
                    rev,
                    body: String::from_utf8(body.to_vec()).map_err(corrupt)?,
                });
            }
            Ok(out)
        })
        .await
}

/// Writes (`body` given) or deletes (`None`) a job at revision `expected`; the new revision.
pub(super) async fn put_job(
    store: &EmbeddedStore,
    env: &EnvName,
    id: &str,
    expected: u64,
    body: Option<&str>,
) -> Result<u64> {
    let (env, id, body) = (env.clone(), id.to_owned(), body.map(str::to_owned));
    store
        .write_txn(move |txn| {
            if env_version_w(txn, env.as_str())?.is_none() {
                return Err(env_not_found(&env));
            }
            let mut table = txn.open_table(JOBS).map_err(db_err)?;
            let k = (env.as_str(), id.as_str());
            let actual = table.get(k).map_err(db_err)?.map_or(0, |g| g.value().0);
            if actual != expected || (body.is_none() && actual == 0) {
                return Err(conflict(&id, expected, actual));
            }
            match body {
                Some(body) => {
                    table
                        .insert(k, (actual + 1, body.as_bytes()))
                        .map_err(db_err)?;
                    Ok(actual + 1)
                }
                None => {
                    table.remove(k).map_err(db_err)?;
                    Ok(0)
                }
            }
        })
        .await
}

pub(super) async fn job_environments(store: &EmbeddedStore) -> Result<Vec<EnvName>> {
    store
        .blocking(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = txn.open_table(JOBS).map_err(db_err)?;
            let mut out: Vec<EnvName> = Vec::new();
            for item in table.iter().map_err(db_err)? {
                let (k, _) = item.map_err(db_err)?;
                let env = k.value().0;
                if out.last().map(EnvName::as_str) != Some(env) {
                    out.push(EnvName::parse(env).map_err(corrupt)?);
                }
            }
            Ok(out)
        })
        .await
}
