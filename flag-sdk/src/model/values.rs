//! A condition's values parsed for its operator: regexes built, numbers, semantic versions and
//! instants parsed, `in` sets hashed. Validation parses them once and the [`Condition`]
//! keeps them, so compiling a snapshot cannot fail and parses nothing again.
//!
//! [`Condition`]: super::Condition

use chrono::{DateTime, Utc};
use regex::Regex;
use rustc_hash::FxHashSet;

use super::limits::MAX_REGEX_SIZE;
use super::Operator;

/// Builds a regex with the size limit that keeps one flag from exhausting memory.
fn compile_regex(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_SIZE)
        .build()
        .map_err(|e| format!("{pattern:?} is not a valid regular expression: {e}"))
}

fn parse_number(v: &str) -> Result<f64, String> {
    match v.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(format!("{v:?} is not a number")),
    }
}

fn parse_semver(v: &str) -> Result<semver::Version, String> {
    semver::Version::parse(v.strip_prefix('v').unwrap_or(v))
        .map_err(|e| format!("{v:?} is not a semantic version (like 2.3.0): {e}"))
}

pub(crate) fn parse_instant(v: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{v:?} is not an RFC 3339 instant (like 2026-11-28T17:00:00Z): {e}"))
}

/// Above this many values, `in` / `not_in` use a hash set instead of a scan.
const SET_THRESHOLD: usize = 8;

/// The strings of an `in` / `not_in` condition.
#[derive(Debug, Clone)]
pub(crate) enum Strings {
    /// Few: scanned.
    Few(Vec<Box<str>>),
    /// Many: hashed.
    Many(FxHashSet<Box<str>>),
}

impl Strings {
    /// No strings yet.
    pub(crate) fn with_capacity(capacity: usize) -> Strings {
        Strings::Few(Vec::with_capacity(capacity.min(SET_THRESHOLD)))
    }

    pub(crate) fn push(&mut self, s: &str) {
        match self {
            Strings::Few(v) if v.len() < SET_THRESHOLD => v.push(s.into()),
            Strings::Few(v) => {
                let mut set: FxHashSet<Box<str>> = std::mem::take(v).into_iter().collect();
                set.insert(s.into());
                *self = Strings::Many(set);
            }
            Strings::Many(set) => {
                set.insert(s.into());
            }
        }
    }

    /// Whether `s` is one of the strings.
    #[inline]
    pub(crate) fn contains(&self, s: &str) -> bool {
        match self {
            Strings::Few(v) => v.iter().any(|x| &**x == s),
            Strings::Many(set) => set.contains(s),
        }
    }
}

/// How an ordered attribute compares with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Lt,
    Lte,
    Eq,
    Gt,
    Gte,
}

impl Cmp {
    /// Whether `attribute.cmp(value)` satisfies the comparison.
    #[inline]
    pub(crate) fn holds(self, ord: std::cmp::Ordering) -> bool {
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

/// A condition's values, parsed for its operator (one variant per kind of test).
#[derive(Debug, Clone)]
pub(crate) enum Values {
    /// `in`: the strings, and those that are numbers, as numbers.
    In {
        strings: Strings,
        numbers: Vec<f64>,
    },
    /// `not_in`, with the same values as `in`.
    NotIn {
        strings: Strings,
        numbers: Vec<f64>,
    },
    StartsWith(Vec<Box<str>>),
    EndsWith(Vec<Box<str>>),
    Contains(Vec<Box<str>>),
    Matches(Vec<Regex>),
    Number(Cmp, Vec<f64>),
    Semver(Cmp, Vec<semver::Version>),
    /// `before` is [`Cmp::Lt`], `after` [`Cmp::Gt`].
    Instant(Cmp, Vec<DateTime<Utc>>),
    /// `in_segment` / `not_in_segment`: the segments' keys; `true` for `in_segment`.
    Segments(bool, Vec<Box<str>>),
}

impl Values {
    /// No values yet, for an operator.
    pub(crate) fn new(op: Operator, capacity: usize) -> Values {
        use Operator::*;
        let set = || Strings::Few(Vec::with_capacity(capacity.min(SET_THRESHOLD)));
        match op {
            In => Values::In {
                strings: set(),
                numbers: Vec::new(),
            },
            NotIn => Values::NotIn {
                strings: set(),
                numbers: Vec::new(),
            },
            StartsWith => Values::StartsWith(Vec::with_capacity(capacity)),
            EndsWith => Values::EndsWith(Vec::with_capacity(capacity)),
            Contains => Values::Contains(Vec::with_capacity(capacity)),
            Matches => Values::Matches(Vec::with_capacity(capacity)),
            Lt => Values::Number(Cmp::Lt, Vec::with_capacity(capacity)),
            Lte => Values::Number(Cmp::Lte, Vec::with_capacity(capacity)),
            Gt => Values::Number(Cmp::Gt, Vec::with_capacity(capacity)),
            Gte => Values::Number(Cmp::Gte, Vec::with_capacity(capacity)),
            SemverEq => Values::Semver(Cmp::Eq, Vec::with_capacity(capacity)),
            SemverLt => Values::Semver(Cmp::Lt, Vec::with_capacity(capacity)),
            SemverLte => Values::Semver(Cmp::Lte, Vec::with_capacity(capacity)),
            SemverGt => Values::Semver(Cmp::Gt, Vec::with_capacity(capacity)),
            SemverGte => Values::Semver(Cmp::Gte, Vec::with_capacity(capacity)),
            Before => Values::Instant(Cmp::Lt, Vec::with_capacity(capacity)),
            After => Values::Instant(Cmp::Gt, Vec::with_capacity(capacity)),
            Eq => Values::Number(Cmp::Eq, Vec::with_capacity(capacity)),
            InSegment => Values::Segments(true, Vec::with_capacity(capacity)),
            NotInSegment => Values::Segments(false, Vec::with_capacity(capacity)),
        }
    }

    /// Parses one value and adds it, or explains why it does not parse for the operator.
    pub(crate) fn push(&mut self, v: &str) -> Result<(), String> {
        match self {
            Values::In { strings, numbers } | Values::NotIn { strings, numbers } => {
                strings.push(v);
                numbers.extend(parse_number(v).ok());
            }
            Values::StartsWith(s)
            | Values::EndsWith(s)
            | Values::Contains(s)
            | Values::Segments(_, s) => s.push(v.into()),
            Values::Matches(res) => res.push(compile_regex(v)?),
            Values::Number(_, ns) => ns.push(parse_number(v)?),
            Values::Semver(_, vs) => vs.push(parse_semver(v)?),
            Values::Instant(_, ts) => ts.push(parse_instant(v)?),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(op: Operator, vals: &[&str]) -> Result<Values, String> {
        let mut values = Values::new(op, vals.len());
        for v in vals {
            values.push(v)?;
        }
        Ok(values)
    }

    #[test]
    fn values_are_parsed_for_their_operator() {
        assert!(matches!(
            parse(Operator::Gte, &["1.5", " 2 "]),
            Ok(Values::Number(Cmp::Gte, ref n)) if n == &[1.5, 2.0]
        ));
        assert!(parse(Operator::Lt, &["inf"]).is_err());
        assert!(matches!(
            parse(Operator::SemverLt, &["v2.3.0"]),
            Ok(Values::Semver(Cmp::Lt, ref v)) if v == &[semver::Version::new(2, 3, 0)]
        ));
        assert!(matches!(
            parse(Operator::After, &["2026-11-28T17:00:00+01:00"]),
            Ok(Values::Instant(Cmp::Gt, ref t)) if t[0].to_rfc3339() == "2026-11-28T16:00:00+00:00"
        ));
        let err = parse(Operator::Matches, &["(unclosed"]).unwrap_err();
        assert!(
            err.starts_with("\"(unclosed\" is not a valid regular expression"),
            "{err}"
        );
    }

    #[test]
    fn in_sets_keep_numbers_and_hash_when_large() {
        let Ok(Values::In { strings, numbers }) = parse(Operator::In, &["a", "7"]) else {
            panic!("in");
        };
        assert!(matches!(strings, Strings::Few(_)));
        assert!(strings.contains("7") && !strings.contains("b"));
        assert_eq!(numbers, [7.0]);
        let many: Vec<String> = (0..=SET_THRESHOLD).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let Ok(Values::NotIn { strings, .. }) = parse(Operator::NotIn, &many) else {
            panic!("not_in");
        };
        assert!(matches!(strings, Strings::Many(_)));
        assert!(strings.contains("0") && strings.contains(&SET_THRESHOLD.to_string()));
    }
}
