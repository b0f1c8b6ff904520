//! References between flags (prerequisites) and from flags to segments (`in_segment`,
//! `not_in_segment`), checked against the environment as it would be after a write.

use std::collections::{BTreeMap, BTreeSet};

use flag_sdk::{check_references, FlagSpec, ValidationErrors};

use crate::hub::EnvView;

/// An environment as it would be after a write: flags and segment keys by key.
pub(super) struct After<'a> {
    pub flags: BTreeMap<&'a str, &'a FlagSpec>,
    pub segments: BTreeSet<&'a str>,
}

impl<'a> After<'a> {
    /// The environment as `view` holds it.
    pub fn of(view: &'a EnvView) -> After<'a> {
        After {
            flags: view
                .snapshot
                .flags()
                .into_iter()
                .map(|f| (f.key.as_str(), &f.spec))
                .collect(),
            segments: view
                .snapshot
                .segments()
                .into_iter()
                .map(|s| s.key.as_str())
                .collect(),
        }
    }

    /// With `spec` written.
    pub fn with(mut self, spec: &'a FlagSpec) -> After<'a> {
        self.flags.insert(spec.key.as_str(), spec);
        self
    }

    /// The problems of one flag's references, with the flag's field paths.
    pub fn check(&self, spec: &'a FlagSpec) -> ValidationErrors {
        let find = |k: &str| self.flags.get(k).copied();
        let segment_exists = |k: &str| self.segments.contains(k);
        check_references(spec, &find, &segment_exists)
    }

    /// The flags (other than `key` itself) with a prerequisite on `key`, sorted.
    pub fn dependents(&self, key: &str) -> Vec<&'a str> {
        self.flags
            .values()
            .filter(|f| {
                f.key.as_str() != key && f.prerequisites.iter().any(|p| p.flag.as_str() == key)
            })
            .map(|f| f.key.as_str())
            .collect()
    }

    /// The problems a write of `spec` causes: its own references, and the prerequisites of
    /// other flags on it that it no longer satisfies (a variant they name is gone), reported
    /// under `variants`.
    pub fn check_write(&self, spec: &'a FlagSpec) -> ValidationErrors {
        let mut errors = self.check(spec);
        for d in self.dependents(spec.key.as_str()) {
            let Some(dep) = self.flags.get(d) else {
                continue;
            };
            for e in self.check(dep).iter() {
                if e.field.contains(".variants[") && names_prerequisite(dep, &e.field, spec) {
                    errors.push(
                        "variants",
                        format!("flag {d:?} needs it ({}): {}", e.field, e.message),
                    );
                }
            }
        }
        errors
    }

    /// Whether a write of `spec` depends on the rest of the environment (so must be made at
    /// the version it was checked against).
    pub fn depends_on_others(&self, spec: &FlagSpec) -> bool {
        has_references(spec) || !self.dependents(spec.key.as_str()).is_empty()
    }
}

/// Whether the error at `field` (`prerequisites[i]...`) of `dep` concerns `target`.
fn names_prerequisite(dep: &FlagSpec, field: &str, target: &FlagSpec) -> bool {
    field
        .strip_prefix("prerequisites[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| dep.prerequisites.get(i))
        .is_some_and(|p| p.flag == target.key)
}

/// Whether a flag names other flags or segments.
pub(super) fn has_references(spec: &FlagSpec) -> bool {
    !spec.prerequisites.is_empty() || !segments_used(spec).is_empty()
}

/// The segment keys a flag's conditions name.
pub(super) fn segments_used(spec: &FlagSpec) -> BTreeSet<&str> {
    spec.rules
        .iter()
        .flat_map(|r| r.conditions.iter())
        .filter(|c| c.operator().is_segment())
        .flat_map(|c| c.values().iter().map(String::as_str))
        .collect()
}

/// The flags of `view` whose conditions name segment `key`, sorted.
pub(super) fn segment_users<'a>(
    flags: impl IntoIterator<Item = &'a FlagSpec>,
    key: &str,
) -> Vec<&'a str> {
    let mut users: Vec<&str> = flags
        .into_iter()
        .filter(|f| segments_used(f).contains(key))
        .map(|f| f.key.as_str())
        .collect();
    users.sort_unstable();
    users
}

/// `"a", "b"` for a message.
pub(super) fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("{k:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
