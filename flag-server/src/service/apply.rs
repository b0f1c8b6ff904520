//! Declarative sync of a whole flag set (flags-as-code): the plan, and carrying it out in one
//! atomic write, planned again when a concurrent write got in between.

use std::collections::{BTreeMap, HashSet};

use flag_sdk::wire::{FieldChange, FlagUpdate, Plan, SegmentPlan};
use flag_sdk::{EnvName, FlagSpec, Segment, ValidationErrors};

use super::references::{has_references, After};
use super::{Result, Service, ServiceError};
use crate::hub::EnvView;
use crate::store::{ChangeMeta, StoreError, WriteOp};

/// How often a real apply re-plans when a concurrent write got in between plan and write.
const ATTEMPTS: usize = 5;

impl Service {
    /// Plans the flag set `wanted` (and, when given, the segment set `segments`) against the
    /// environment and, unless `dry_run`, carries the plan out atomically. With `prune`, flags
    /// (and, when given, segments) not in the document are deleted. The environment the plan
    /// leaves must be consistent (every reference found, no cycle): otherwise the problems,
    /// with paths into the document.
    pub async fn apply(
        &self,
        env: &EnvName,
        wanted: &[FlagSpec],
        segments: Option<&[Segment]>,
        prune: bool,
        dry_run: bool,
        meta: &ChangeMeta,
    ) -> Result<Plan> {
        for _ in 0..ATTEMPTS {
            let view = self.hub.fresh_view(env).await?;
            check_result(&view, wanted, segments, prune).into_result()?;
            let (mut plan, ops) = plan(&view, wanted, segments, prune, dry_run);
            if dry_run || ops.is_empty() {
                return Ok(plan);
            }
            let references = segments.is_some()
                || wanted.iter().any(has_references)
                || view.flags().iter().any(|f| has_references(f));
            let at = references.then_some(view.version);
            match self.store_write_at(env, at, ops, meta).await {
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
                    | StoreError::SegmentNotFound(_)
                    | StoreError::EnvChanged { .. }
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

/// The fields of `wanted` that differ from `current`, by name (what a plan shows of an update).
pub(super) fn diff(current: &FlagSpec, wanted: &FlagSpec) -> Vec<FieldChange> {
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

/// The reference problems of the environment the apply would leave: those of the document's
/// flags under `flags[i].`, those of flags it keeps under `flags`.
fn check_result(
    view: &EnvView,
    wanted: &[FlagSpec],
    segments: Option<&[Segment]>,
    prune: bool,
) -> ValidationErrors {
    let mut after = After::of(view);
    if prune {
        after.flags.clear();
    }
    if let Some(segments) = segments {
        if prune {
            after.segments.clear();
        }
        after
            .segments
            .extend(segments.iter().map(|s| s.key.as_str()));
    }
    for f in wanted {
        after.flags.insert(f.key.as_str(), f);
    }
    let mut errors = ValidationErrors::default();
    for (i, f) in wanted.iter().enumerate() {
        errors
            .0
            .extend(after.check(f).prefixed(&format!("flags[{i}]")).0);
    }
    let in_document: HashSet<&str> = wanted.iter().map(|f| f.key.as_str()).collect();
    for (key, f) in &after.flags {
        if in_document.contains(key) {
            continue;
        }
        for e in after.check(f).iter() {
            errors.push(
                "flags",
                format!(
                    "flag {key:?} (in the environment, not in the document) would break: {}: {}",
                    e.field, e.message
                ),
            );
        }
    }
    errors
}

/// The segment part of a plan: puts (first in the batch) and deletes (last).
fn plan_segments(
    view: &EnvView,
    wanted: &[Segment],
    prune: bool,
) -> (SegmentPlan, Vec<WriteOp>, Vec<WriteOp>) {
    let mut plan = SegmentPlan::default();
    let (mut puts, mut deletes) = (Vec::new(), Vec::new());
    let mut sorted: Vec<&Segment> = wanted.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for s in sorted {
        match view.snapshot.segment(s.key.as_str()) {
            None => plan.created.push(s.key.to_string()),
            Some(current) if current == s => {
                plan.unchanged.push(s.key.to_string());
                continue;
            }
            Some(_) => plan.updated.push(s.key.to_string()),
        }
        puts.push(WriteOp::PutSegment(s.clone()));
    }
    let in_document: HashSet<&str> = wanted.iter().map(|s| s.key.as_str()).collect();
    for current in view.snapshot.segments() {
        if in_document.contains(current.key.as_str()) {
            continue;
        }
        if prune {
            plan.deleted.push(current.key.to_string());
            deletes.push(WriteOp::DeleteSegment(current.key.clone()));
        } else {
            plan.kept.push(current.key.to_string());
        }
    }
    (plan, puts, deletes)
}

fn plan(
    view: &EnvView,
    wanted: &[FlagSpec],
    segments: Option<&[Segment]>,
    prune: bool,
    dry_run: bool,
) -> (Plan, Vec<WriteOp>) {
    let (segment_plan, mut ops, segment_deletes) = match segments {
        Some(s) => {
            let (p, puts, deletes) = plan_segments(view, s, prune);
            (Some(p), puts, deletes)
        }
        None => (None, Vec::new(), Vec::new()),
    };
    let mut plan = Plan {
        environment: view.environment.to_string(),
        dry_run,
        version: view.version,
        created: Vec::new(),
        updated: Vec::new(),
        deleted: Vec::new(),
        unchanged: Vec::new(),
        kept: Vec::new(),
        segments: segment_plan,
    };
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
    ops.extend(segment_deletes);
    (plan, ops)
}
