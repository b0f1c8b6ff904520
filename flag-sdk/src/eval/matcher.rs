//! Conditions ready for evaluation, and the tests they make of a context's attributes. The
//! values were parsed once, by validation; compiling only copies them next to the attribute.

use chrono::{DateTime, Utc};

use crate::context::{Context, Value};
use crate::model::values::{Cmp, Strings, Values};
use crate::model::Condition;

use super::Lookup;

/// A condition ready to be evaluated.
#[derive(Debug)]
pub(crate) struct Matcher {
    attribute: Box<str>,
    test: Values,
    negate: bool,
    /// The values were lowercased by validation; the attribute is lowercased to compare.
    case_insensitive: bool,
}

impl Matcher {
    /// Compiles a condition: its values are already parsed.
    pub(crate) fn compile(c: &Condition) -> Matcher {
        Matcher {
            attribute: c.attribute().into(),
            test: c.parsed().clone(),
            negate: c.negate(),
            case_insensitive: c.case_insensitive(),
        }
    }

    /// Whether the context satisfies the condition: the test, inverted when negated.
    #[inline]
    pub(crate) fn matches(&self, ctx: &Context, lookup: &Lookup<'_>) -> bool {
        self.test(ctx, lookup) != self.negate
    }

    /// The test itself. A missing attribute never matches, but for segments, whose
    /// conditions may still admit the context.
    #[inline]
    fn test(&self, ctx: &Context, lookup: &Lookup<'_>) -> bool {
        let value = ctx.get(&self.attribute);
        if let Values::Segments(inside, keys) = &self.test {
            let member = keys.iter().any(|k| {
                lookup
                    .segments
                    .get(&**k)
                    .is_some_and(|s| s.contains(value, ctx))
            });
            return member == *inside;
        }
        let Some(value) = value else {
            return false;
        };
        if self.case_insensitive {
            return self.test_folded(value);
        }
        self.test_value(value)
    }

    /// Compares the lowercased text of the attribute (this allocates, only for conditions
    /// marked `case_insensitive`).
    #[cold]
    fn test_folded(&self, value: &Value) -> bool {
        match value {
            Value::String(s) => self.test_value(&Value::String(s.to_lowercase())),
            Value::List(items) => self.test_value(&Value::List(
                items.iter().map(|s| s.to_lowercase()).collect(),
            )),
            other => self.test_value(other),
        }
    }

    #[inline]
    fn test_value(&self, value: &Value) -> bool {
        match (&self.test, value) {
            (Values::NotIn { strings, numbers }, v) => !in_set(strings, numbers, v),
            (Values::In { strings, numbers }, v) => in_set(strings, numbers, v),
            (test, Value::List(items)) => items.iter().any(|s| matches_str(test, s)),
            (test, Value::String(s)) => matches_str(test, s),
            (Values::Number(cmp, vals), Value::Number(n)) => {
                vals.iter().any(|x| cmp_f64(*cmp, *n, *x))
            }
            (Values::Instant(cmp, vals), Value::Number(secs)) => {
                DateTime::<Utc>::from_timestamp(*secs as i64, 0)
                    .is_some_and(|t| vals.iter().any(|x| cmp.holds(t.cmp(x))))
            }
            _ => false,
        }
    }
}

#[inline]
fn cmp_f64(cmp: Cmp, a: f64, b: f64) -> bool {
    a.partial_cmp(&b).is_some_and(|o| cmp.holds(o))
}

#[inline]
fn in_set(strings: &Strings, numbers: &[f64], v: &Value) -> bool {
    match v {
        Value::String(s) => strings.contains(s),
        Value::List(items) => items.iter().any(|s| strings.contains(s)),
        Value::Number(n) => numbers.contains(n),
        Value::Bool(b) => strings.contains(if *b { "true" } else { "false" }),
    }
}

/// Whether a string attribute passes a test.
#[inline]
fn matches_str(test: &Values, s: &str) -> bool {
    match test {
        Values::StartsWith(vals) => vals.iter().any(|v| s.starts_with(&**v)),
        Values::EndsWith(vals) => vals.iter().any(|v| s.ends_with(&**v)),
        Values::Contains(vals) => vals.iter().any(|v| s.contains(&**v)),
        Values::Matches(res) => res.iter().any(|r| r.is_match(s)),
        // The attribute is parsed without building an error message: no allocation.
        Values::Number(cmp, vals) => s
            .trim()
            .parse::<f64>()
            .is_ok_and(|n| vals.iter().any(|x| cmp_f64(*cmp, n, *x))),
        Values::Semver(cmp, vals) => semver::Version::parse(s.strip_prefix('v').unwrap_or(s))
            .is_ok_and(|ver| vals.iter().any(|x| cmp.holds(ver.cmp_precedence(x)))),
        Values::Instant(cmp, vals) => DateTime::parse_from_rfc3339(s)
            .is_ok_and(|t| vals.iter().any(|x| cmp.holds(t.with_timezone(&Utc).cmp(x)))),
        Values::In { strings, .. } => strings.contains(s),
        Values::NotIn { strings, .. } => !strings.contains(s),
        Values::Segments(..) => false,
    }
}
