//! Conditions compiled once per update: regexes built, numbers, versions and instants parsed.

use chrono::{DateTime, Utc};
use regex::Regex;
use rustc_hash::FxHashSet;

use crate::context::{Context, Value};
use crate::model::input::{parse_instant, parse_number, parse_semver};
use crate::model::{limits, Condition, Operator};

/// Builds a regex with the size limit that keeps one flag from exhausting memory.
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(limits::MAX_REGEX_SIZE)
        .build()
        .map_err(|e| format!("{pattern:?} is not a valid regular expression: {e}"))
}

/// Above this many values, `in` / `not_in` use a hash set instead of a scan.
const SET_THRESHOLD: usize = 8;

#[derive(Debug)]
enum Strings {
    Few(Box<[Box<str>]>),
    Many(FxHashSet<Box<str>>),
}

impl Strings {
    fn new(values: &[String]) -> Strings {
        if values.len() > SET_THRESHOLD {
            Strings::Many(values.iter().map(|v| v.as_str().into()).collect())
        } else {
            Strings::Few(values.iter().map(|v| v.as_str().into()).collect())
        }
    }

    #[inline]
    fn contains(&self, s: &str) -> bool {
        match self {
            Strings::Few(v) => v.iter().any(|x| &**x == s),
            Strings::Many(set) => set.contains(s),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Lt,
    Lte,
    Eq,
    Gt,
    Gte,
}

impl Cmp {
    #[inline]
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        matches!(
            (self, ord),
            (Cmp::Lt, Less)
                | (Cmp::Lte, Less | Equal)
                | (Cmp::Eq, Equal)
                | (Cmp::Gt, Greater)
                | (Cmp::Gte, Greater | Equal)
        )
    }
}

#[derive(Debug)]
enum Test {
    In {
        strings: Strings,
        numbers: Box<[f64]>,
    },
    NotIn {
        strings: Strings,
        numbers: Box<[f64]>,
    },
    StartsWith(Box<[Box<str>]>),
    EndsWith(Box<[Box<str>]>),
    Contains(Box<[Box<str>]>),
    Matches(Box<[Regex]>),
    Number(Cmp, Box<[f64]>),
    Semver(Cmp, Box<[semver::Version]>),
    Instant(Cmp, Box<[DateTime<Utc>]>),
}

/// A condition ready to be evaluated.
#[derive(Debug)]
pub(crate) struct Matcher {
    attribute: Box<str>,
    test: Test,
}

fn boxed(values: &[String]) -> Box<[Box<str>]> {
    values.iter().map(|v| v.as_str().into()).collect()
}

fn parsed<T>(
    values: &[String],
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Box<[T]>, String> {
    values.iter().map(|v| parse(v)).collect()
}

impl Matcher {
    /// Compiles a condition. Validation already parsed every value, so this fails only for a
    /// condition that bypassed it, and then the flag is left out of the snapshot.
    pub(crate) fn compile(c: &Condition) -> Result<Matcher, String> {
        use Operator::*;
        let v = c.values();
        let numbers = || -> Box<[f64]> { v.iter().filter_map(|s| parse_number(s).ok()).collect() };
        let test = match c.operator() {
            In => Test::In {
                strings: Strings::new(v),
                numbers: numbers(),
            },
            NotIn => Test::NotIn {
                strings: Strings::new(v),
                numbers: numbers(),
            },
            StartsWith => Test::StartsWith(boxed(v)),
            EndsWith => Test::EndsWith(boxed(v)),
            Contains => Test::Contains(boxed(v)),
            Matches => Test::Matches(parsed(v, compile_regex)?),
            Lt => Test::Number(Cmp::Lt, parsed(v, parse_number)?),
            Lte => Test::Number(Cmp::Lte, parsed(v, parse_number)?),
            Gt => Test::Number(Cmp::Gt, parsed(v, parse_number)?),
            Gte => Test::Number(Cmp::Gte, parsed(v, parse_number)?),
            SemverEq => Test::Semver(Cmp::Eq, parsed(v, parse_semver)?),
            SemverLt => Test::Semver(Cmp::Lt, parsed(v, parse_semver)?),
            SemverLte => Test::Semver(Cmp::Lte, parsed(v, parse_semver)?),
            SemverGt => Test::Semver(Cmp::Gt, parsed(v, parse_semver)?),
            SemverGte => Test::Semver(Cmp::Gte, parsed(v, parse_semver)?),
            Before => Test::Instant(Cmp::Lt, parsed(v, parse_instant)?),
            After => Test::Instant(Cmp::Gt, parsed(v, parse_instant)?),
        };
        Ok(Matcher {
            attribute: c.attribute().into(),
            test,
        })
    }

    /// Whether the context satisfies the condition. A missing attribute never matches.
    #[inline]
    pub(crate) fn matches(&self, ctx: &Context) -> bool {
        let Some(value) = ctx.get(&self.attribute) else {
            return false;
        };
        match (&self.test, value) {
            (Test::NotIn { strings, numbers }, v) => !in_set(strings, numbers, v),
            (Test::In { strings, numbers }, v) => in_set(strings, numbers, v),
            (test, Value::List(items)) => items.iter().any(|s| test.matches_str(s)),
            (test, Value::String(s)) => test.matches_str(s),
            (Test::Number(cmp, vals), Value::Number(n)) => {
                vals.iter().any(|x| cmp_f64(*cmp, *n, *x))
            }
            (Test::Instant(cmp, vals), Value::Number(secs)) => {
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

impl Test {
    #[inline]
    fn matches_str(&self, s: &str) -> bool {
        match self {
            Test::StartsWith(vals) => vals.iter().any(|v| s.starts_with(&**v)),
            Test::EndsWith(vals) => vals.iter().any(|v| s.ends_with(&**v)),
            Test::Contains(vals) => vals.iter().any(|v| s.contains(&**v)),
            Test::Matches(res) => res.iter().any(|r| r.is_match(s)),
            // The attribute is parsed without building an error message: no allocation.
            Test::Number(cmp, vals) => s
                .trim()
                .parse::<f64>()
                .is_ok_and(|n| vals.iter().any(|x| cmp_f64(*cmp, n, *x))),
            Test::Semver(cmp, vals) => semver::Version::parse(s.strip_prefix('v').unwrap_or(s))
                .is_ok_and(|ver| vals.iter().any(|x| cmp.holds(ver.cmp_precedence(x)))),
            Test::Instant(cmp, vals) => DateTime::parse_from_rfc3339(s)
                .is_ok_and(|t| vals.iter().any(|x| cmp.holds(t.with_timezone(&Utc).cmp(x)))),
            Test::In { strings, .. } => strings.contains(s),
            Test::NotIn { strings, .. } => !strings.contains(s),
        }
    }
}
