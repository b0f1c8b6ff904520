//! Promotion: one flag's definition (its [`FlagSpec`]) copied from one environment to another,
//! planned like an apply of that one flag and written in one write.
//!
//! The target keeps its own kill switch unless the caller sets it (a flag new to the target
//! arrives disabled). Segments and prerequisite flags are never copied along: a flag that names
//! ones the target does not have is refused ([`PromoteError::MissingReferences`]).

use flag_sdk::wire::{PromoteAction, Promotion, StoredFlag};
use flag_sdk::{EnvName, Flag, FlagKey, FlagSpec};

use super::apply::diff;
use super::references::{quoted, segments_used, After};
use super::{Service, ServiceError};
use crate::hub::EnvView;
use crate::store::{ChangeEvent, ChangeMeta, StoreError, WriteOp};

/// How often a promotion plans again when a concurrent write got in between plan and write.
const ATTEMPTS: usize = 20;

/// What to promote, and how.
#[derive(Debug, Clone, Copy)]
pub struct Promote<'a> {
    /// The flag's key (the same in both environments).
    pub key: &'a FlagKey,
    /// The environment the definition comes from.
    pub from: &'a EnvName,
    /// The environment written.
    pub to: &'a EnvName,
    /// The target's `enabled` afterwards; `None` keeps the target's own (off for a new flag).
    pub enabled: Option<bool>,
    /// Only when the target's flag is at this version (`If-Match`).
    pub expected: Option<u64>,
    /// Only plan; write nothing.
    pub dry_run: bool,
}

/// Why a promotion was refused.
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    /// `from` is the target itself.
    #[error(
        "`from` names the target environment \"{0}\": a flag is promoted from another environment"
    )]
    SameEnvironment(EnvName),
    /// The flag names segments or prerequisite flags the target does not have.
    #[error("flag {key:?} cannot be promoted to \"{env}\": \"{env}\" has {missing}; create or promote {them} there first (a promotion copies one flag, never what it references)")]
    MissingReferences {
        /// The flag's key.
        key: String,
        /// The target environment.
        env: EnvName,
        /// What is missing, for a person: `no segment "beta" and no flag "a" (a prerequisite)`.
        missing: String,
        /// `it` or `them`.
        them: &'static str,
    },
    /// The promoted flag would not fit the target (a prerequisite's variant it lacks, a cycle,
    /// a flag of the target that needs a variant the promoted flag drops).
    #[error("flag {key:?} cannot be promoted to \"{env}\": {problems}")]
    Inconsistent {
        /// The flag's key.
        key: String,
        /// The target environment.
        env: EnvName,
        /// The problems, `field: message` separated by `; `.
        problems: String,
    },
    /// `If-Match` named a version, and the target has no such flag.
    #[error("flag {key:?} does not exist in environment \"{env}\", so it is not at version {expected} (If-Match): promote without If-Match to create it")]
    TargetMissing {
        /// The flag's key.
        key: String,
        /// The target environment.
        env: EnvName,
        /// The version `If-Match` named.
        expected: u64,
    },
    /// The service's own errors (environment or flag not found, stale version, store failures).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for PromoteError {
    fn from(e: StoreError) -> Self {
        PromoteError::Service(e.into())
    }
}

/// The audit reason of a promotion: `promoted from staging`, then `: <reason>` when one was given.
fn reason(from: &EnvName, given: Option<&str>) -> String {
    match given {
        Some(r) => format!("promoted from {from}: {r}"),
        None => format!("promoted from {from}"),
    }
}

/// Refuses a promoted `spec` that names segments or flags `view` lacks, or that would leave the
/// target inconsistent.
fn check_target(view: &EnvView, spec: &FlagSpec) -> Result<(), PromoteError> {
    let after = After::of(view).with(spec);
    let segments: Vec<&str> = segments_used(spec)
        .into_iter()
        .filter(|s| !after.segments.contains(s))
        .collect();
    let mut flags: Vec<&str> = spec
        .prerequisites
        .iter()
        .map(|p| p.flag.as_str())
        .filter(|f| !after.flags.contains_key(f))
        .collect();
    flags.sort_unstable();
    flags.dedup();
    let plural = |n: usize, one: &str, many: &str| if n == 1 { one } else { many }.to_owned();
    let mut missing = Vec::new();
    if !segments.is_empty() {
        missing.push(format!(
            "no {} {}",
            plural(segments.len(), "segment", "segments"),
            quoted(&segments)
        ));
    }
    if !flags.is_empty() {
        missing.push(format!(
            "no {} {} ({})",
            plural(flags.len(), "flag", "flags"),
            quoted(&flags),
            plural(flags.len(), "a prerequisite", "prerequisites")
        ));
    }
    if !missing.is_empty() {
        return Err(PromoteError::MissingReferences {
            key: spec.key.to_string(),
            env: view.environment.clone(),
            missing: missing.join(" and "),
            them: if segments.len() + flags.len() == 1 {
                "it"
            } else {
                "them"
            },
        });
    }
    let problems = after.check_write(spec);
    if !problems.is_empty() {
        let text: Vec<String> = problems
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        return Err(PromoteError::Inconsistent {
            key: spec.key.to_string(),
            env: view.environment.clone(),
            problems: text.join("; "),
        });
    }
    Ok(())
}

impl Service {
    /// Promotes flag `p.key` from `p.from` to `p.to`: the plan, carried out in one write unless
    /// it is a dry run or changes nothing. `meta`'s reason is recorded after
    /// `promoted from <from>`.
    pub async fn promote(
        &self,
        p: &Promote<'_>,
        meta: &ChangeMeta,
    ) -> Result<Promotion, PromoteError> {
        if p.from == p.to {
            return Err(PromoteError::SameEnvironment(p.to.clone()));
        }
        let source_view = self.hub.fresh_view(p.from).await?;
        let source = source_view
            .snapshot
            .flag(p.key.as_str())
            .ok_or_else(|| ServiceError::FlagNotFound {
                env: p.from.clone(),
                key: p.key.to_string(),
            })?
            .spec
            .clone();
        let meta = ChangeMeta {
            reason: Some(reason(p.from, meta.reason.as_deref())),
            ..meta.clone()
        };
        for _ in 0..ATTEMPTS {
            let view = self.hub.fresh_view(p.to).await?;
            let current = view.snapshot.flag(p.key.as_str());
            match (p.expected, current) {
                (Some(expected), None) => {
                    return Err(PromoteError::TargetMissing {
                        key: p.key.to_string(),
                        env: p.to.clone(),
                        expected,
                    })
                }
                (Some(expected), Some(c)) if c.version != expected => {
                    return Err(ServiceError::Stale {
                        key: p.key.to_string(),
                        expected,
                    }
                    .into())
                }
                _ => {}
            }
            let mut spec = source.clone();
            spec.enabled = p
                .enabled
                .unwrap_or_else(|| current.is_some_and(|c| c.enabled));
            let (action, changes) = match current {
                None => (PromoteAction::Create, Vec::new()),
                Some(c) => {
                    let changes = diff(&c.spec, &spec);
                    let action = if changes.is_empty() {
                        PromoteAction::Unchanged
                    } else {
                        PromoteAction::Update
                    };
                    (action, changes)
                }
            };
            let answer = |flag: Flag| Promotion {
                environment: p.to.to_string(),
                from: p.from.to_string(),
                key: p.key.to_string(),
                action,
                changes: changes.clone(),
                dry_run: p.dry_run,
                flag: StoredFlag {
                    flag,
                    usage: None,
                    stale: None,
                },
            };
            if let (PromoteAction::Unchanged, Some(c)) = (action, current) {
                return Ok(answer(c.clone()));
            }
            check_target(&view, &spec)?;
            if p.dry_run {
                return Ok(answer(Flag {
                    spec,
                    version: view.version + 1,
                    updated_at: Some(meta.at),
                    updated_by: Some(meta.actor.clone()),
                }));
            }
            let after = After::of(&view).with(&spec);
            let at = after.depends_on_others(&spec).then_some(view.version);
            let op = match current {
                None => WriteOp::Create(spec.clone().into()),
                Some(c) => WriteOp::Put {
                    flag: spec.clone().into(),
                    expected: Some(c.version),
                },
            };
            match self.store_write_at(p.to, at, vec![op], &meta).await {
                Ok(written) => {
                    let Some(ChangeEvent::Put { flag }) =
                        written.into_iter().last().map(|c| c.event)
                    else {
                        return Err(ServiceError::Internal(
                            "the store returned no flag for a promotion".into(),
                        )
                        .into());
                    };
                    tracing::info!(environment = %p.to, from = %p.from, key = %p.key,
                        version = flag.version, "flag promoted");
                    return Ok(answer(flag));
                }
                // A concurrent write: plan again against the new state (an `If-Match` is
                // checked again there).
                Err(
                    StoreError::Stale { .. }
                    | StoreError::FlagExists(_)
                    | StoreError::FlagNotFound(_)
                    | StoreError::EnvChanged { .. },
                ) => self.hub.sync(p.to).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::KeptChanging(format!(
            "flag {:?} in \"{}\" kept changing under concurrent writes; try again",
            p.key.as_str(),
            p.to
        ))
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_names_the_source() {
        let staging = EnvName::parse("staging").unwrap();
        assert_eq!(reason(&staging, None), "promoted from staging");
        assert_eq!(
            reason(&staging, Some("release 42")),
            "promoted from staging: release 42"
        );
    }
}
