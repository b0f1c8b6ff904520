//! A segment compiled for membership tests: its lists hashed, its conditions ready.

use crate::context::{Context, Value};
use crate::model::values::Strings;
use crate::model::Segment;

use super::matcher::Matcher;
use super::stickiness::text_matches;
use super::Lookup;

/// A segment ready for membership tests.
#[derive(Debug)]
pub(crate) struct CompiledSegment {
    pub(crate) segment: Segment,
    included: Strings,
    excluded: Strings,
    matchers: Box<[Matcher]>,
}

impl CompiledSegment {
    pub(crate) fn compile(segment: Segment) -> CompiledSegment {
        let set = |values: &[String]| {
            let mut s = Strings::with_capacity(values.len());
            for v in values {
                s.push(v);
            }
            s
        };
        CompiledSegment {
            included: set(&segment.included),
            excluded: set(&segment.excluded),
            matchers: segment.conditions.iter().map(Matcher::compile).collect(),
            segment,
        }
    }

    /// Whether a context is in the segment: `value` (the referencing condition's attribute)
    /// is included; or else it is not excluded and the segment's conditions all match.
    #[inline]
    pub(crate) fn contains(&self, value: Option<&Value>, ctx: &Context) -> bool {
        if let Some(v) = value {
            if text_matches(v, &|s| self.included.contains(s)) {
                return true;
            }
            if text_matches(v, &|s| self.excluded.contains(s)) {
                return false;
            }
        }
        // A segment's conditions name no segment, so an empty lookup serves.
        !self.matchers.is_empty()
            && self
                .matchers
                .iter()
                .all(|m| m.matches(ctx, &Lookup::empty()))
    }
}
