//! The evaluator: a [`Snapshot`] of flags and segments compiled once per update and
//! evaluated many times, without allocating or locking.

mod flag;
mod matcher;
mod reason;
mod segment;
mod served;
mod stickiness;

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::context::Context;
use crate::model::{Flag, FlagType, Segment};

pub use flag::CompiledFlag;
pub(crate) use flag::Outcome;
pub use reason::{Evaluation, OpenFeatureReason, Reason, ReasonKind, StringValue};
use segment::CompiledSegment;

type Flags = FxHashMap<Box<str>, Arc<CompiledFlag>>;
type Segments = FxHashMap<Box<str>, Arc<CompiledSegment>>;

/// What an evaluation may look up besides the flag itself: other flags (prerequisites) and
/// the segments.
pub(crate) struct Lookup<'a> {
    flags: &'a Flags,
    segments: &'a Segments,
}

impl Lookup<'_> {
    /// Nothing to look up: no prerequisite is found, no segment has members.
    pub(crate) fn empty() -> Lookup<'static> {
        static EMPTY: std::sync::OnceLock<(Flags, Segments)> = std::sync::OnceLock::new();
        let (flags, segments) = EMPTY.get_or_init(Default::default);
        Lookup { flags, segments }
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
    flags: Flags,
    segments: Segments,
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

    /// Compiles a set of flags and the environment's segments.
    pub fn compile_with_segments(
        environment: &str,
        version: u64,
        flags: impl IntoIterator<Item = Flag>,
        segments: impl IntoIterator<Item = Segment>,
    ) -> Snapshot {
        let mut snap = Snapshot::compile(environment, version, flags);
        for segment in segments {
            snap.insert_segment(segment);
        }
        snap
    }

    fn insert_segment(&mut self, segment: Segment) {
        let key: Box<str> = segment.key.as_str().into();
        self.segments
            .insert(key, Arc::new(CompiledSegment::compile(segment)));
    }

    /// A new snapshot with one segment added or replaced, at `version`.
    pub fn with_segment_put(&self, segment: Segment, version: u64) -> Snapshot {
        let mut next = self.clone();
        next.version = version;
        next.insert_segment(segment);
        next
    }

    /// A new snapshot without one segment, at `version`.
    pub fn with_segment_delete(&self, key: &str, version: u64) -> Snapshot {
        let mut next = self.clone();
        next.version = version;
        next.segments.remove(key);
        next
    }

    /// One segment.
    pub fn segment(&self, key: &str) -> Option<&Segment> {
        self.segments.get(key).map(|s| &s.segment)
    }

    /// The segments, sorted by key.
    pub fn segments(&self) -> Vec<&Segment> {
        let mut v: Vec<&Segment> = self.segments.values().map(|s| &s.segment).collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
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
        let mut v: Vec<&Flag> = self.flags.values().map(|f| f.flag()).collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    fn lookup(&self) -> Lookup<'_> {
        Lookup {
            flags: &self.flags,
            segments: &self.segments,
        }
    }

    /// Evaluates a flag with its reason, variant and value. An unknown key is off with reason
    /// `not_found`.
    #[inline]
    pub fn evaluate(&self, key: &str, ctx: &Context) -> Evaluation {
        match self.flags.get(key) {
            Some(f) => f.evaluate_in(ctx, &self.lookup()),
            None => Evaluation::not_found(),
        }
    }

    /// Evaluates a flag that the caller expects to be of type `expected`: a flag of another
    /// type answers `enabled: false` with reason `error` (the caller uses its default).
    pub fn evaluate_as(&self, key: &str, ctx: &Context, expected: FlagType) -> Evaluation {
        match self.flags.get(key) {
            Some(f) if f.flag_type() != expected => {
                Evaluation::new(false, ReasonKind::Error, None, None)
            }
            Some(f) => f.evaluate_in(ctx, &self.lookup()),
            None => Evaluation::not_found(),
        }
    }

    /// Whether a flag is on for a context; unknown keys are off. For a flag that is not
    /// boolean: whether it is enabled.
    #[inline]
    pub fn is_enabled(&self, key: &str, ctx: &Context) -> bool {
        self.flags
            .get(key)
            .is_some_and(|f| f.is_on(ctx, &self.lookup()))
    }

    /// Whether a flag is on, `None` for an unknown key: the hot path of the client.
    #[cfg(feature = "client")]
    #[inline]
    pub(crate) fn is_on_known(&self, key: &str, ctx: &Context) -> Option<bool> {
        self.flags.get(key).map(|f| f.is_on(ctx, &self.lookup()))
    }

    /// The flag's answer and, when it exists, whether it counts as on; for counting
    /// evaluations without a second lookup.
    #[cfg(feature = "client")]
    #[inline]
    pub(crate) fn decide_known<R>(
        &self,
        key: &str,
        ctx: &Context,
        answer: impl FnOnce(&CompiledFlag, Outcome<'_>) -> R,
    ) -> Option<(R, bool)> {
        let f = self.flags.get(key)?;
        let out = f.decide(ctx, &self.lookup(), 0);
        let on = f.enabled_of(&out);
        Some((answer(f, out), on))
    }

    /// The key of the variant a flag serves a context (`on` / `off` for a boolean flag);
    /// `None` for an unknown key or when the flag serves nothing. Shares the key: no
    /// allocation.
    ///
    /// ```
    /// use flag_sdk::{Context, Flag, Snapshot};
    /// let snap = Snapshot::compile("production", 1, [Flag::on("dark_mode").unwrap()]);
    /// assert_eq!(snap.variant("dark_mode", &Context::new()).as_deref(), Some("on"));
    /// ```
    #[inline]
    pub fn variant(&self, key: &str, ctx: &Context) -> Option<Arc<str>> {
        self.served(key, ctx, |f, out| f.variant_key_of(&out))
    }

    /// The value of a string flag for a context, or `default` (unknown key, another type,
    /// nothing served). Does not allocate.
    #[inline]
    pub fn string_value<'d>(&self, key: &str, ctx: &Context, default: &'d str) -> StringValue<'d> {
        self.served(key, ctx, |f, out| f.text_of(&out))
            .map_or(StringValue::Default(default), StringValue::Served)
    }

    /// The value of a number flag for a context, or `default`.
    ///
    /// ```
    /// use flag_sdk::{Context, Flag, Snapshot};
    /// let flag = Flag::from_json(br#"{"key": "max_items", "type": "number", "enabled": true,
    ///     "variants": [{"key": "small", "value": 10}, {"key": "large", "value": 50}],
    ///     "default_serve": {"variant": "large"}}"#).unwrap();
    /// let snap = Snapshot::compile("production", 1, [flag]);
    /// assert_eq!(snap.number_value("max_items", &Context::new(), 20.0), 50.0);
    /// ```
    #[inline]
    pub fn number_value(&self, key: &str, ctx: &Context, default: f64) -> f64 {
        self.served(key, ctx, |f, out| f.number_of(&out))
            .unwrap_or(default)
    }

    /// The value of any flag as JSON (a boolean flag's is `true` or `false`), or `default`.
    pub fn json_value(
        &self,
        key: &str,
        ctx: &Context,
        default: serde_json::Value,
    ) -> serde_json::Value {
        self.served(key, ctx, |f, out| f.json_of(&out))
            .unwrap_or(default)
    }

    /// What a flag serves a context, read by `pick`; `None` for an unknown key.
    #[inline]
    fn served<R>(
        &self,
        key: &str,
        ctx: &Context,
        pick: impl FnOnce(&CompiledFlag, Outcome<'_>) -> Option<R>,
    ) -> Option<R> {
        let f = self.flags.get(key)?;
        pick(f, f.decide(ctx, &self.lookup(), 0))
    }
}
