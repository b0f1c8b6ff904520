//! Jobs (scheduled changes, release plans) in Redis: one hash per environment, `id` →
//! `"<revision> <json>"`, written by a script that checks the revision (`job.lua`).

use flag_sdk::EnvName;

use super::*;
use crate::store::JobRecord;

pub(super) async fn jobs(store: &RedisStore, env: &EnvName) -> Result<Vec<JobRecord>> {
    let mut pipe = redis::pipe();
    pipe.atomic()
        .exists(store.key(env, "version"))
        .hgetall(store.key(env, "jobs"));
    let (exists, fields): (bool, Vec<(String, String)>) = store.atomic(&pipe).await?;
    if !exists {
        return Err(store.missing_env(env).await);
    }
    let mut out = fields
        .into_iter()
        .map(|(id, value)| {
            let (rev, body) = value
                .split_once(' ')
                .ok_or_else(|| corrupt(format!("job {id} without a revision")))?;
            Ok(JobRecord {
                rev: rev.parse().map_err(corrupt)?,
                body: body.to_owned(),
                id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The environments listed in `P:job_envs`.
pub(super) async fn job_environments(store: &RedisStore) -> Result<Vec<EnvName>> {
    let names: Vec<String> = store
        .query(redis::cmd("SMEMBERS").arg(store.job_envs_key()))
        .await?;
    let mut envs = names
        .into_iter()
        .map(EnvName::parse)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(corrupt)?;
    if envs.is_empty() {
        // Nothing, or a Redis that lost its data: not the same.
        store.require_identity().await?;
    }
    envs.sort();
    Ok(envs)
}

/// Writes (`body` given) or deletes (`None`) a job at revision `expected`; the new revision.
pub(super) async fn put_job(
    store: &RedisStore,
    env: &EnvName,
    id: &str,
    expected: u64,
    body: Option<&str>,
) -> Result<u64> {
    if body.is_some() {
        // Listed before the write (another hash slot on a Cluster, so not in the script): a
        // job is never where the driver does not look.
        let _: i64 = store
            .query(
                redis::cmd("SADD")
                    .arg(store.job_envs_key())
                    .arg(env.as_str()),
            )
            .await?;
    }
    let mut inv = store.job_script.prepare_invoke();
    inv.key(store.key(env, "version"))
        .key(store.key(env, "jobs"))
        .arg(id)
        .arg(expected)
        .arg(if body.is_some() { "put" } else { "delete" })
        .arg(body.unwrap_or_default());
    let (status, rev): (i64, u64) = store.eval(&inv).await?;
    match status {
        1 => Ok(rev),
        2 => Err(StoreError::JobConflict {
            id: id.to_owned(),
            expected,
            actual: rev,
        }),
        _ => {
            // Tidy, not needed: the driver skips environments that do not exist.
            let _: i64 = store
                .query(
                    redis::cmd("SREM")
                        .arg(store.job_envs_key())
                        .arg(env.as_str()),
                )
                .await?;
            Err(store.missing_env(env).await)
        }
    }
}
