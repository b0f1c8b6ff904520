//! Flag writes: create, replace, merge-patch (with its retry loop) and delete.

use flag_sdk::{EnvName, Flag, FlagInput, FlagKey, FlagSpec, ValidationErrors};

use super::references::{quoted, After};
use super::{Result, Service, ServiceError};
use crate::hub::EnvView;
use crate::store::{Change, ChangeEvent, ChangeMeta, StoreError, WriteOp};

/// How often a PATCH without `If-Match` retries when a concurrent write got in first.
const PATCH_ATTEMPTS: usize = 20;

/// How often a write checked against the whole environment retries when the environment
/// changed between the check and the write.
pub(super) const CHECKED_ATTEMPTS: usize = 20;

/// Checks the references of `spec` against `view` with `spec` written: the version the write
/// must be made at (when the check depended on other flags or segments), or the problems.
fn checked(view: &EnvView, spec: &FlagSpec) -> Result<Option<u64>> {
    let after = After::of(view).with(spec);
    after.check_write(spec).into_result()?;
    Ok(after.depends_on_others(spec).then_some(view.version))
}

/// Checks that a flag body's key equals the key in the path, when there is one.
pub fn check_key(input: &FlagInput, path_key: Option<&FlagKey>) -> Result<(), ValidationErrors> {
    match path_key {
        Some(k) if input.key != k.as_str() => Err(ValidationErrors::single(
            "key",
            format!(
                "the body's key {:?} differs from the key {:?} in the path",
                input.key,
                k.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

fn written_flag(changes: Vec<Change>) -> Result<Flag> {
    match changes.into_iter().last().map(|c| c.event) {
        Some(ChangeEvent::Put { flag }) => Ok(flag),
        _ => Err(ServiceError::Internal(
            "the store returned no flag for a write".into(),
        )),
    }
}

/// The service's error for a failed write of one flag.
fn flag_error(e: StoreError, env: &EnvName, key: &FlagKey, expected: Option<u64>) -> ServiceError {
    match (e, expected) {
        (StoreError::Stale { .. }, Some(expected)) => ServiceError::Stale {
            key: key.to_string(),
            expected,
        },
        (StoreError::FlagNotFound(_), _) => ServiceError::FlagNotFound {
            env: env.clone(),
            key: key.to_string(),
        },
        (e, _) => e.into(),
    }
}

impl Service {
    /// Creates a flag; [`ServiceError::FlagExists`] when the key is taken.
    pub async fn create_flag(
        &self,
        env: &EnvName,
        spec: FlagSpec,
        meta: &ChangeMeta,
    ) -> Result<Flag> {
        // Caught up with the store first (one round trip): a store that went back to an older
        // state is brought forward before anything is written on top of it.
        let key = spec.key.to_string();
        let changes = self
            .write_checked(
                env,
                meta,
                |view| {
                    Ok((
                        vec![WriteOp::Create(spec.clone().into())],
                        checked(view, &spec)?,
                    ))
                },
                |e| match e {
                    StoreError::FlagExists(_) => ServiceError::FlagExists {
                        env: env.clone(),
                        key: key.clone(),
                    },
                    e => e.into(),
                },
            )
            .await?;
        written_flag(changes)
    }

    /// Replaces (or, without `expected`, creates) a flag: the flag written, and whether it
    /// was created.
    pub async fn put_flag(
        &self,
        env: &EnvName,
        spec: FlagSpec,
        expected: Option<u64>,
        meta: &ChangeMeta,
    ) -> Result<(Flag, bool)> {
        let key = spec.key.clone();
        let mut existed = false;
        let changes = self
            .write_checked(
                env,
                meta,
                |view| {
                    existed = view.snapshot.flag(key.as_str()).is_some();
                    let op = WriteOp::Put {
                        flag: spec.clone().into(),
                        expected,
                    };
                    Ok((vec![op], checked(view, &spec)?))
                },
                |e| flag_error(e, env, &key, expected),
            )
            .await?;
        Ok((written_flag(changes)?, !existed && expected.is_none()))
    }

    /// Deletes a flag, only at version `expected` when given.
    pub async fn delete_flag(
        &self,
        env: &EnvName,
        key: &FlagKey,
        expected: Option<u64>,
        meta: &ChangeMeta,
    ) -> Result<()> {
        self.write_checked(
            env,
            meta,
            |view| {
                let dependents = After::of(view).dependents(key.as_str());
                if !dependents.is_empty() {
                    return Err(ServiceError::InUse(format!(
                        "flag {:?} is a prerequisite of {}: change those first",
                        key.as_str(),
                        quoted(&dependents)
                    )));
                }
                let op = WriteOp::Delete {
                    key: key.clone(),
                    expected,
                };
                Ok((vec![op], Some(view.version)))
            },
            |e| flag_error(e, env, key, expected),
        )
        .await?;
        Ok(())
    }

    /// Applies a JSON merge patch (RFC 7386, an object) to a flag. With `wanted` (`If-Match`)
    /// only at that version; without, a concurrent write is retried on its result.
    pub async fn patch_flag(
        &self,
        env: &EnvName,
        key: &FlagKey,
        patch: &serde_json::Value,
        wanted: Option<u64>,
        meta: &ChangeMeta,
    ) -> Result<Flag> {
        self.hub.view_or_load(env).await?;
        for attempt in 0..PATCH_ATTEMPTS {
            let view = self.hub.view_or_load(env).await?;
            let mut current = view.snapshot.flag(key.as_str()).cloned();
            let looks_stale = match (&current, wanted) {
                (None, _) => true,
                (Some(c), Some(v)) => c.version != v,
                (Some(_), None) => false,
            };
            if looks_stale && attempt == 0 {
                // Memory may lag behind another instance: look again before saying 404 or 412.
                self.hub.sync(env).await?;
                let view = self.hub.view_or_load(env).await?;
                current = view.snapshot.flag(key.as_str()).cloned();
            }
            let current = current.ok_or_else(|| ServiceError::FlagNotFound {
                env: env.clone(),
                key: key.to_string(),
            })?;
            let expected = wanted.unwrap_or(current.version);
            if current.version != expected {
                return Err(ServiceError::Stale {
                    key: key.to_string(),
                    expected,
                });
            }
            let spec = merged(&current.spec, patch, key)?;
            let at = checked(&view, &spec)?;
            let op = WriteOp::Put {
                flag: spec.into(),
                expected: Some(expected),
            };
            match self.store_write_at(env, at, vec![op], meta).await {
                Ok(changes) => return written_flag(changes),
                Err(StoreError::EnvChanged { .. }) => {
                    // Checked against an older environment: check again.
                    self.hub.sync(env).await?;
                }
                Err(StoreError::Stale { .. }) if wanted.is_none() => {
                    // Someone else wrote first: patch their version instead.
                    self.hub.sync(env).await?;
                }
                Err(e) => return Err(flag_error(e, env, key, Some(expected))),
            }
        }
        Err(ServiceError::KeptChanging(format!(
            "flag {:?} kept changing under concurrent writes; try again",
            key.as_str()
        )))
    }

    /// [`Service::write`] with the store's error, for callers that decide on it.
    pub(super) async fn store_write(
        &self,
        env: &EnvName,
        ops: Vec<WriteOp>,
        meta: &ChangeMeta,
    ) -> Result<Vec<Change>, StoreError> {
        self.store_write_at(env, None, ops, meta).await
    }

    /// A write prepared by `prepare` from the current view (checks, then ops and the version
    /// they must be written at), prepared again when the environment changed in between.
    /// `map` turns the store's refusal into the caller's error.
    pub(super) async fn write_checked(
        &self,
        env: &EnvName,
        meta: &ChangeMeta,
        mut prepare: impl FnMut(&EnvView) -> Result<(Vec<WriteOp>, Option<u64>)>,
        map: impl Fn(StoreError) -> ServiceError,
    ) -> Result<Vec<Change>> {
        for _ in 0..CHECKED_ATTEMPTS {
            let view = self.hub.fresh_view(env).await?;
            let (ops, at) = prepare(&view)?;
            match self.store_write_at(env, at, ops, meta).await {
                Ok(changes) => return Ok(changes),
                Err(StoreError::EnvChanged { .. }) => continue,
                Err(e) => return Err(map(e)),
            }
        }
        Err(ServiceError::KeptChanging(
            "the environment kept changing under concurrent writes; try again".into(),
        ))
    }

    /// [`Service::store_write`] only when the environment is at version `at` (when given).
    pub(super) async fn store_write_at(
        &self,
        env: &EnvName,
        at: Option<u64>,
        ops: Vec<WriteOp>,
        meta: &ChangeMeta,
    ) -> Result<Vec<Change>, StoreError> {
        let changes = self.store.write_at(env, at, ops, meta).await?;
        if let Err(e) = self.hub.apply(changes.clone()).await {
            // Written, but not yet visible here: the follower will catch up.
            tracing::warn!(environment = %env, error = %e, "applying a write to memory failed");
        }
        Ok(changes)
    }
}

/// The spec with a merge patch applied ([`FlagSpec::merge_patch`]), validated as a spec.
/// Fields the server sets, if the patch holds any, are accepted and ignored by validation, as
/// in a `PUT` body.
pub(crate) fn merged(
    current: &FlagSpec,
    patch: &serde_json::Value,
    key: &FlagKey,
) -> Result<FlagSpec> {
    let input = current.merge_patch(patch)?;
    check_key(&input, Some(key))?;
    Ok(input.validate()?)
}
