//! Declarative sync of a whole flag set (flags-as-code): the plan, and carrying it out in one
//! atomic write, planned again when a concurrent write got in between.

use std::collections::{BTreeMap, HashSet};

use flag_sdk::wire::{FieldChange, FlagUpdate, Plan};
use flag_sdk::{EnvName, FlagSpec};

use super::{Result, Service, ServiceError};
use crate::hub::EnvView;
use crate::store::{ChangeMeta, StoreError, WriteOp};

/// How often a real apply re-plans when a concurrent write got in between plan and write.
const ATTEMPTS: usize = 5;

impl Service {
    /// Plans the flag set `wanted` against the environment and, unless `dry_run`, carries the
    /// plan out atomically. With `prune`, flags not in `wanted` are deleted.
    pub async fn apply(
        &self,
        env: &EnvName,
        wanted: &[FlagSpec],
        prune: bool,
        dry_run: bool,
        meta: &ChangeMeta,
    ) -> Result<Plan> {
        for _ in 0..ATTEMPTS {
            let view = self.hub.fresh_view(env).await?;
            let (mut plan, ops) = plan(&view, wanted, prune, dry_run);
            if dry_run || ops.is_empty() {
                return Ok(plan);
            }
            match self.store_write(env, ops, meta).await {
                Ok(changes) => {
                    plan.version = changes.last().map_or(view.version, |c| c.version);
                    tracing::info!(environment = %env, created = plan.created.len(), updated = plan.updated.len(),
                        deleted = plan.deleted.len(), "flag document applied");
                    return Ok(plan);
                }
                // A concurrent write: plan again against the new state.
                Err(
                    StoreError::Stale { .. }
                    | StoreError::FlagExists(_)
                    | StoreError::FlagNotFound(_)
                    | StoreError::EnvNotFound(_),
                ) => {
                    self.hub.sync(env).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::KeptChanging(
            "the environment kept changing under concurrent writes; try again".into(),
        ))
    }
}

/// The spec's fields, as JSON.
fn fields(spec: &FlagSpec) -> BTreeMap<String, serde_json::Value> {
    match spec.to_value() {
        serde_json::Value::Object(m) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

fn diff(current: &FlagSpec, wanted: &FlagSpec) -> Vec<FieldChange> {
    let before = fields(current);
    let after = fields(wanted);
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let b = before.get(name).cloned().unwrap_or(serde_json::Value::Null);
            let a = after.get(name).cloned().unwrap_or(serde_json::Value::Null);
            (a != b).then(|| FieldChange {
                field: name.clone(),
                before: b,
                after: a,
            })
        })
        .collect()
}

fn plan(view: &EnvView, wanted: &[FlagSpec], prune: bool, dry_run: bool) -> (Plan, Vec<WriteOp>) {
    let mut plan = Plan {
        environment: view.environment.to_string(),
        dry_run,
        version: view.version,
        created: Vec::new(),
        updated: Vec::new(),
        deleted: Vec::new(),
        unchanged: Vec::new(),
        kept: Vec::new(),
    };
    let mut ops = Vec::new();
    let mut sorted: Vec<&FlagSpec> = wanted.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for flag in sorted {
        match view.snapshot.flag(flag.key.as_str()) {
            None => {
                plan.created.push(flag.key.to_string());
                ops.push(WriteOp::Create(flag.clone().into()));
            }
            Some(current) => {
                let changes = diff(&current.spec, flag);
                if changes.is_empty() {
                    plan.unchanged.push(flag.key.to_string());
                } else {
                    plan.updated.push(FlagUpdate {
                        key: flag.key.to_string(),
                        changes,
                    });
                    ops.push(WriteOp::Put {
                        flag: flag.clone().into(),
                        expected: Some(current.version),
                    });
                }
            }
        }
    }
    let in_document: HashSet<&str> = wanted.iter().map(|f| f.key.as_str()).collect();
    for current in view.flags() {
        if !in_document.contains(current.key.as_str()) {
            if !prune {
                plan.kept.push(current.key.to_string());
            } else {
                plan.deleted.push(current.key.to_string());
                ops.push(WriteOp::Delete {
                    key: current.key.clone(),
                    expected: Some(current.version),
                });
            }
        }
    }
    (plan, ops)
}
