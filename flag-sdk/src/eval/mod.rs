//! The evaluator: a [`Snapshot`] of flags compiled once per update and evaluated many times,
//! without allocating or locking.

mod matcher;

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::bucket::bucket_with_prefix;
use crate::context::{Context, Value};
use crate::model::Flag;

use matcher::Matcher;

/// Why an evaluation came out as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReasonKind {
    /// The flag is disabled: the kill switch.
    Off,
    /// A rule matched and its percentage decided.
    Rule,
    /// No rule matched; the flag's percentage decided.
    Default,
    /// There is no flag of that key.
    NotFound,
}

/// The reason of an [`Evaluation`]: `{"kind": "rule", "rule": "eu-canary", "bucket": 1234}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    /// What decided.
    pub kind: ReasonKind,
    /// The id of the matching rule, for [`ReasonKind::Rule`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rule: Option<Arc<str>>,
    /// The bucket (`0..=9999`), present whenever the stickiness value was hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 9999))]
    pub bucket: Option<u16>,
}

/// The result of evaluating a flag for a context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evaluation {
    /// Whether the flag is on for the context.
    pub enabled: bool,
    /// Why.
    pub reason: Reason,
}

impl Evaluation {
    fn new(enabled: bool, kind: ReasonKind, rule: Option<Arc<str>>, bucket: Option<u16>) -> Self {
        Evaluation {
            enabled,
            reason: Reason { kind, rule, bucket },
        }
    }

    /// The answer for a key that is not in the snapshot: off.
    pub fn not_found() -> Evaluation {
        Evaluation::new(false, ReasonKind::NotFound, None, None)
    }
}

#[derive(Debug)]
struct CompiledRule {
    id: Arc<str>,
    matchers: Box<[Matcher]>,
    basis_points: u16,
}

/// A flag prepared for evaluation.
#[derive(Debug)]
pub struct CompiledFlag {
    flag: Flag,
    enabled: bool,
    basis_points: u16,
    stickiness: Box<str>,
    /// `salt + ":"`, the fixed start of every hashed input.
    hash_prefix: Box<[u8]>,
    rules: Box<[CompiledRule]>,
}

impl CompiledFlag {
    /// Compiles a flag. A [`Flag`] is always valid and its conditions hold their values
    /// already parsed, so this cannot fail.
    pub fn compile(flag: Flag) -> CompiledFlag {
        let rules = flag
            .rules
            .iter()
            .map(|r| CompiledRule {
                id: r.id.as_str().into(),
                matchers: r.conditions.iter().map(Matcher::compile).collect(),
                basis_points: r.percentage.basis_points(),
            })
            .collect();
        let mut hash_prefix = Vec::with_capacity(flag.salt.len() + 1);
        hash_prefix.extend_from_slice(flag.salt.as_bytes());
        hash_prefix.push(b':');
        CompiledFlag {
            enabled: flag.enabled,
            basis_points: flag.percentage.basis_points(),
            stickiness: flag.stickiness.as_str().into(),
            hash_prefix: hash_prefix.into_boxed_slice(),
            rules,
            flag,
        }
    }

    /// The flag this was compiled from.
    pub fn flag(&self) -> &Flag {
        &self.flag
    }

    /// Evaluates the flag for a context.
    #[inline]
    pub fn evaluate(&self, ctx: &Context) -> Evaluation {
        if !self.enabled {
            return Evaluation::new(false, ReasonKind::Off, None, None);
        }
        for rule in self.rules.iter() {
            if rule.matchers.iter().all(|m| m.matches(ctx)) {
                let (enabled, bucket) = self.rollout(rule.basis_points, ctx);
                return Evaluation::new(enabled, ReasonKind::Rule, Some(rule.id.clone()), bucket);
            }
        }
        let (enabled, bucket) = self.rollout(self.basis_points, ctx);
        Evaluation::new(enabled, ReasonKind::Default, None, bucket)
    }

    /// Whether the flag is on for a context; the same decision as [`evaluate`](Self::evaluate)
    /// without building a reason.
    #[inline]
    pub fn is_enabled(&self, ctx: &Context) -> bool {
        if !self.enabled {
            return false;
        }
        let bp = self
            .rules
            .iter()
            .find(|r| r.matchers.iter().all(|m| m.matches(ctx)))
            .map_or(self.basis_points, |r| r.basis_points);
        self.rollout(bp, ctx).0
    }

    /// `(in rollout, bucket if hashed)`. 0 and 100 percent are decided without hashing.
    #[inline]
    fn rollout(&self, basis_points: u16, ctx: &Context) -> (bool, Option<u16>) {
        if basis_points >= 10_000 {
            return (true, None);
        }
        if basis_points == 0 {
            return (false, None);
        }
        match ctx
            .get(&self.stickiness)
            .and_then(|v| stickiness_bucket(&self.hash_prefix, v))
        {
            Some(bucket) => (bucket < basis_points, Some(bucket)),
            None => (false, None),
        }
    }
}

/// The bucket of a stickiness value; lists cannot be hashed and count as missing.
#[inline]
fn stickiness_bucket(prefix: &[u8], v: &Value) -> Option<u16> {
    match v {
        Value::String(s) => Some(bucket_with_prefix(prefix, s.as_bytes())),
        Value::Bool(b) => Some(bucket_with_prefix(
            prefix,
            if *b { b"true" } else { b"false" },
        )),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            let mut buf = itoa::Buffer::new();
            Some(bucket_with_prefix(prefix, buf.format(*n as i64).as_bytes()))
        }
        Value::Number(n) => {
            // A fractional number is hashed in Rust's shortest round-trip form, on the stack.
            let mut buf = StackWriter::default();
            std::fmt::Write::write_fmt(&mut buf, format_args!("{n}")).ok()?;
            Some(bucket_with_prefix(prefix, buf.as_bytes()))
        }
        Value::List(_) => None,
    }
}

struct StackWriter {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackWriter {
    fn default() -> Self {
        StackWriter {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackWriter {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for StackWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A set of flags compiled for evaluation: the state of one environment at one version.
///
/// Build it once per update and share it (`Arc`); evaluation takes `&self`.
///
/// ```
/// use flag_sdk::{Context, Flag, ReasonKind, Snapshot};
/// let flags = vec![
///     Flag::on("dark_mode").unwrap(),
///     Flag::rollout("new_checkout", 25.0).unwrap(),
/// ];
/// let snap = Snapshot::compile("production", 7, flags);
/// assert!(snap.is_enabled("dark_mode", &Context::new()));
/// let eval = snap.evaluate("new_checkout", &Context::new().user_id("42"));
/// assert_eq!(eval.reason.kind, ReasonKind::Default);
/// assert!(eval.reason.bucket.is_some());
/// assert_eq!(snap.evaluate("missing", &Context::new()).reason.kind, ReasonKind::NotFound);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    environment: Arc<str>,
    version: u64,
    flags: FxHashMap<Box<str>, Arc<CompiledFlag>>,
}

impl Snapshot {
    /// Compiles a set of flags. Every [`Flag`] compiles; of two flags with the same key, the
    /// later one is kept.
    pub fn compile(
        environment: &str,
        version: u64,
        flags: impl IntoIterator<Item = Flag>,
    ) -> Snapshot {
        let mut snap = Snapshot {
            environment: environment.into(),
            version,
            ..Snapshot::default()
        };
        for flag in flags {
            snap.insert(flag);
        }
        snap
    }

    fn insert(&mut self, flag: Flag) {
        let key: Box<str> = flag.key.as_str().into();
        self.flags
            .insert(key, Arc::new(CompiledFlag::compile(flag)));
    }

    /// A new snapshot with one flag added or replaced, at `version`. Other flags are shared.
    pub fn with_put(&self, flag: Flag, version: u64) -> Snapshot {
        let mut next = self.clone();
        next.version = version;
        next.insert(flag);
        next
    }

    /// A new snapshot without one flag, at `version`.
    pub fn with_delete(&self, key: &str, version: u64) -> Snapshot {
        let mut next = self.clone();
        next.version = version;
        next.flags.remove(key);
        next
    }

    /// The environment's name.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The environment's change version this snapshot reflects.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Number of flags.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// True when there is no flag.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// One compiled flag.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&CompiledFlag> {
        self.flags.get(key).map(|f| &**f)
    }

    /// One flag as stored.
    pub fn flag(&self, key: &str) -> Option<&Flag> {
        self.get(key).map(CompiledFlag::flag)
    }

    /// The flags, sorted by key.
    pub fn flags(&self) -> Vec<&Flag> {
        let mut v: Vec<&Flag> = self.flags.values().map(|f| &f.flag).collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    /// Evaluates a flag with its reason. An unknown key is off with reason `not_found`.
    #[inline]
    pub fn evaluate(&self, key: &str, ctx: &Context) -> Evaluation {
        match self.flags.get(key) {
            Some(f) => f.evaluate(ctx),
            None => Evaluation::not_found(),
        }
    }

    /// Whether a flag is on for a context; unknown keys are off.
    #[inline]
    pub fn is_enabled(&self, key: &str, ctx: &Context) -> bool {
        self.flags.get(key).is_some_and(|f| f.is_enabled(ctx))
    }
}
