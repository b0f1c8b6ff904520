//! A flag compiled for evaluation: its variants with their values ready to hand out, and what
//! each rule and the default decide, as bucket ranges.

use std::sync::Arc;

use crate::context::Context;
use crate::model::{limits::MAX_PREREQUISITE_DEPTH, Flag, FlagType, Serve, OFF, ON};

use super::matcher::Matcher;
use super::reason::{Evaluation, ReasonKind};
use super::stickiness::stickiness_bucket;
use super::Lookup;

/// A variant ready to be served.
#[derive(Debug)]
pub(crate) struct CompiledVariant {
    pub(crate) key: Arc<str>,
    pub(crate) value: Arc<serde_json::Value>,
    /// The value of a string variant, shared without allocating.
    pub(crate) text: Option<Arc<str>>,
}

/// What a rule or the default decides.
#[derive(Debug)]
enum Decision {
    /// A boolean flag's percentage, in basis points: variant 0 (`on`) when in rollout.
    Percentage(u16),
    /// Always this variant.
    Variant(u16),
    /// `(end of the cumulative range, variant)`, in the listed order.
    Split(Box<[(u16, u16)]>),
}

#[derive(Debug)]
struct CompiledRule {
    id: Arc<str>,
    matchers: Box<[Matcher]>,
    decision: Decision,
}

#[derive(Debug)]
struct CompiledPrerequisite {
    flag: Box<str>,
    variants: Box<[Box<str>]>,
}

/// The outcome of one flag, without building anything: which variant, and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome<'a> {
    pub(crate) variant: Option<u16>,
    pub(crate) kind: ReasonKind,
    pub(crate) rule: Option<&'a Arc<str>>,
    pub(crate) bucket: Option<u16>,
}

/// A flag prepared for evaluation.
#[derive(Debug)]
pub struct CompiledFlag {
    flag: Flag,
    pub(super) enabled: bool,
    pub(super) flag_type: FlagType,
    pub(super) variants: Box<[CompiledVariant]>,
    /// What the flag serves when off; a boolean flag's is `off` (index 1).
    off: Option<u16>,
    prerequisites: Box<[CompiledPrerequisite]>,
    rules: Box<[CompiledRule]>,
    default: Decision,
    stickiness: Box<str>,
    /// `salt + ":"`, the fixed start of every hashed input.
    hash_prefix: Box<[u8]>,
    /// Whether the flag is on, when that cannot depend on the context (disabled, or no rules
    /// or prerequisites and a default that does not hash): the hot path's shortcut.
    constant: Option<bool>,
}

impl CompiledFlag {
    /// Compiles a flag. A [`Flag`] is always valid and its conditions hold their values
    /// already parsed, so this cannot fail.
    pub fn compile(flag: Flag) -> CompiledFlag {
        let variants: Box<[CompiledVariant]> = if flag.flag_type.is_boolean() {
            [(ON, true), (OFF, false)]
                .into_iter()
                .map(|(k, v)| CompiledVariant {
                    key: k.into(),
                    value: Arc::new(serde_json::Value::Bool(v)),
                    text: None,
                })
                .collect()
        } else {
            flag.variants
                .iter()
                .map(|v| CompiledVariant {
                    key: v.key.as_str().into(),
                    text: v.value.as_str().map(Arc::from),
                    value: Arc::new(v.value.clone()),
                })
                .collect()
        };
        let index = |name: &str| {
            variants
                .iter()
                .position(|v| &*v.key == name)
                .map(|i| i as u16)
        };
        let decide = |percentage: crate::Percentage, serve: &Option<Serve>| match serve {
            None => Decision::Percentage(percentage.basis_points()),
            Some(Serve::Variant(v)) => Decision::Variant(index(v).unwrap_or(0)),
            Some(Serve::Split(parts)) => {
                let mut end = 0u16;
                let ranges: Vec<(u16, u16)> = parts
                    .iter()
                    .filter(|p| p.weight > 0)
                    .map(|p| {
                        end = end.saturating_add(p.weight);
                        (end, index(&p.variant).unwrap_or(0))
                    })
                    .collect();
                match ranges.as_slice() {
                    // One variant with all the weight: no need to hash.
                    [(_, only)] => Decision::Variant(*only),
                    _ => Decision::Split(ranges.into_boxed_slice()),
                }
            }
        };
        let rules = flag
            .rules
            .iter()
            .map(|r| CompiledRule {
                id: r.id.as_str().into(),
                matchers: r.conditions.iter().map(Matcher::compile).collect(),
                decision: decide(r.percentage, &r.serve),
            })
            .collect();
        let default = decide(flag.percentage, &flag.default_serve);
        let off = match flag.flag_type {
            FlagType::Boolean => Some(1),
            _ => flag.off_variant.as_deref().and_then(index),
        };
        let prerequisites = flag
            .prerequisites
            .iter()
            .map(|p| CompiledPrerequisite {
                flag: p.flag.as_str().into(),
                variants: p.variants.iter().map(|v| v.as_str().into()).collect(),
            })
            .collect();
        let mut hash_prefix = Vec::with_capacity(flag.salt.len() + 1);
        hash_prefix.extend_from_slice(flag.salt.as_bytes());
        hash_prefix.push(b':');
        let constant = match (&flag.flag_type, &default) {
            (FlagType::Boolean, _) if !flag.enabled => Some(false),
            (FlagType::Boolean, _) if !flag.rules.is_empty() || !flag.prerequisites.is_empty() => {
                None
            }
            (FlagType::Boolean, Decision::Percentage(bp)) if *bp >= 10_000 => Some(true),
            (FlagType::Boolean, Decision::Percentage(0)) => Some(false),
            (FlagType::Boolean, Decision::Variant(v)) => Some(*v == 0),
            (FlagType::Boolean, _) => None,
            // A flag of another type is "on" when enabled.
            _ => Some(flag.enabled),
        };
        CompiledFlag {
            constant,
            enabled: flag.enabled,
            flag_type: flag.flag_type,
            variants,
            off,
            prerequisites,
            rules,
            default,
            stickiness: flag.stickiness.as_str().into(),
            hash_prefix: hash_prefix.into_boxed_slice(),
            flag,
        }
    }

    /// The flag this was compiled from.
    pub fn flag(&self) -> &Flag {
        &self.flag
    }

    /// The flag's type.
    pub fn flag_type(&self) -> FlagType {
        self.flag_type
    }

    /// Evaluates the flag for a context, on its own: a prerequisite cannot be found and a
    /// segment has no members. Use [`Snapshot::evaluate`](super::Snapshot::evaluate) for a
    /// flag with prerequisites or segment conditions.
    pub fn evaluate(&self, ctx: &Context) -> Evaluation {
        self.evaluate_in(ctx, &Lookup::empty())
    }

    /// Whether the flag is on for a context, on its own (see [`evaluate`](Self::evaluate)).
    pub fn is_enabled(&self, ctx: &Context) -> bool {
        self.is_on(ctx, &Lookup::empty())
    }

    /// Whether the flag is on: the same answer as [`enabled_of`](Self::enabled_of) of
    /// [`decide`](Self::decide), without building a reason (the hot path).
    #[inline]
    pub(crate) fn is_on(&self, ctx: &Context, lookup: &Lookup<'_>) -> bool {
        if let Some(on) = self.constant {
            return on;
        }
        if !self.prerequisites.is_empty() && !self.prerequisites_hold(ctx, lookup, 0) {
            return false;
        }
        let decision = self
            .rules
            .iter()
            .find(|r| r.matchers.iter().all(|m| m.matches(ctx, lookup)))
            .map_or(&self.default, |r| &r.decision);
        match decision {
            Decision::Percentage(bp) if *bp >= 10_000 => true,
            Decision::Percentage(0) => false,
            Decision::Percentage(bp) => self.rollout(*bp, ctx).0,
            other => self.apply(other, ctx).0 == Some(0),
        }
    }

    /// Decides the variant. `depth` counts the prerequisites followed to get here.
    #[inline]
    pub(crate) fn decide<'a>(
        &'a self,
        ctx: &Context,
        lookup: &Lookup<'_>,
        depth: usize,
    ) -> Outcome<'a> {
        let mut out = Outcome {
            variant: self.off,
            kind: ReasonKind::Off,
            rule: None,
            bucket: None,
        };
        if !self.enabled {
            return out;
        }
        if !self.prerequisites.is_empty() && !self.prerequisites_hold(ctx, lookup, depth) {
            out.kind = ReasonKind::PrerequisiteFailed;
            return out;
        }
        for rule in self.rules.iter() {
            if rule.matchers.iter().all(|m| m.matches(ctx, lookup)) {
                out.rule = Some(&rule.id);
                (out.variant, out.bucket) = self.apply(&rule.decision, ctx);
                out.kind = match (&rule.decision, out.bucket) {
                    (Decision::Split(_), Some(_)) => ReasonKind::Split,
                    _ => ReasonKind::Rule,
                };
                return out;
            }
        }
        (out.variant, out.bucket) = self.apply(&self.default, ctx);
        out.kind = match (&self.default, out.bucket) {
            (Decision::Split(_), Some(_)) => ReasonKind::Split,
            _ => ReasonKind::Default,
        };
        out
    }

    fn prerequisites_hold(&self, ctx: &Context, lookup: &Lookup<'_>, depth: usize) -> bool {
        if depth >= MAX_PREREQUISITE_DEPTH {
            return false;
        }
        self.prerequisites.iter().all(|p| {
            lookup.flags.get(&*p.flag).is_some_and(|f| {
                let served = f.decide(ctx, lookup, depth + 1).variant;
                served
                    .and_then(|i| f.variants.get(usize::from(i)))
                    .is_some_and(|v| p.variants.iter().any(|want| **want == *v.key))
            })
        })
    }

    /// `(variant, bucket if hashed)`. 0 and 100 percent are decided without hashing; a split
    /// for a context without the stickiness value serves its first variant.
    #[inline]
    fn apply(&self, decision: &Decision, ctx: &Context) -> (Option<u16>, Option<u16>) {
        match decision {
            Decision::Variant(v) => (Some(*v), None),
            Decision::Percentage(bp) if *bp >= 10_000 => (Some(0), None),
            Decision::Percentage(0) => (Some(1), None),
            Decision::Percentage(bp) => match self.bucket(ctx) {
                Some(b) => (Some(if b < *bp { 0 } else { 1 }), Some(b)),
                None => (Some(1), None),
            },
            Decision::Split(ranges) => match self.bucket(ctx) {
                Some(b) => {
                    let v = ranges
                        .iter()
                        .find(|(end, _)| b < *end)
                        .or(ranges.last())
                        .map(|(_, v)| *v);
                    (v, Some(b))
                }
                None => (ranges.first().map(|(_, v)| *v), None),
            },
        }
    }

    #[inline]
    fn bucket(&self, ctx: &Context) -> Option<u16> {
        ctx.get(&self.stickiness)
            .and_then(|v| stickiness_bucket(&self.hash_prefix, v))
    }

    /// The evaluation of the flag, with a direct path for a boolean flag decided by
    /// percentages (the common case, as cheap as before variants existed).
    #[inline]
    pub(crate) fn evaluate_in(&self, ctx: &Context, lookup: &Lookup<'_>) -> Evaluation {
        if self.flag_type.is_boolean() && self.prerequisites.is_empty() {
            if !self.enabled {
                return Evaluation::new(false, ReasonKind::Off, None, None);
            }
            let rule = self
                .rules
                .iter()
                .find(|r| r.matchers.iter().all(|m| m.matches(ctx, lookup)));
            match (rule, &self.default) {
                (Some(rule), _) => {
                    if let Decision::Percentage(bp) = rule.decision {
                        let (on, bucket) = self.rollout(bp, ctx);
                        return Evaluation::new(
                            on,
                            ReasonKind::Rule,
                            Some(rule.id.clone()),
                            bucket,
                        );
                    }
                }
                (None, Decision::Percentage(bp)) => {
                    let (on, bucket) = self.rollout(*bp, ctx);
                    return Evaluation::new(on, ReasonKind::Default, None, bucket);
                }
                (None, _) => {}
            }
        }
        self.evaluation(self.decide(ctx, lookup, 0))
    }

    /// `(on, bucket if hashed)` of a boolean percentage.
    #[inline]
    fn rollout(&self, bp: u16, ctx: &Context) -> (bool, Option<u16>) {
        match bp {
            10_000.. => (true, None),
            0 => (false, None),
            _ => match self.bucket(ctx) {
                Some(b) => (b < bp, Some(b)),
                None => (false, None),
            },
        }
    }

    /// Builds the evaluation of an outcome.
    #[inline]
    pub(crate) fn evaluation(&self, out: Outcome<'_>) -> Evaluation {
        let mut eval = Evaluation::new(
            self.enabled_of(&out),
            out.kind,
            out.rule.cloned(),
            out.bucket,
        );
        if !self.flag_type.is_boolean() {
            if let Some(v) = self.variant_of(&out) {
                eval.variant = Some(v.key.clone());
                eval.value = Some(v.value.clone());
            }
        }
        eval
    }
}
