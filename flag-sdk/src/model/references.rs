//! What one flag can only be checked against the rest of its environment: that its
//! prerequisites exist, have the variants named and form no cycle (nor a chain deeper than
//! [`MAX_PREREQUISITE_DEPTH`](super::limits::MAX_PREREQUISITE_DEPTH)), and that the segments its
//! conditions name exist.

use super::limits::MAX_PREREQUISITE_DEPTH;
use super::variants::{OFF, ON};
use super::{FlagSpec, FlagType};
use crate::error::ValidationErrors;

/// Checks a flag's references against its environment as it would be after the write:
/// `flag(key)` finds the other flags (this one included), `segment_exists(key)` the segments.
/// Problems are reported with the flag's own field paths (`prerequisites[0].flag`,
/// `rules[1].conditions[0].values[0]`).
///
/// ```
/// use flag_sdk::{check_references, FlagSpec};
/// let a = FlagSpec::from_json(br#"{"key": "a", "prerequisites": [{"flag": "b", "variants": ["on"]}]}"#).unwrap();
/// let b = FlagSpec::from_json(br#"{"key": "b", "prerequisites": [{"flag": "a", "variants": ["on"]}]}"#).unwrap();
/// let find = |k: &str| [&a, &b].into_iter().find(|f| f.key.as_str() == k);
/// let errors = check_references(&a, &find, &|_| false);
/// assert_eq!(errors.iter().next().unwrap().field, "prerequisites[0].flag");
/// ```
pub fn check_references<'a>(
    flag: &'a FlagSpec,
    find: &dyn Fn(&str) -> Option<&'a FlagSpec>,
    segment_exists: &dyn Fn(&str) -> bool,
) -> ValidationErrors {
    let mut errors = ValidationErrors::default();
    for (i, rule) in flag.rules.iter().enumerate() {
        for (j, c) in rule.conditions.iter().enumerate() {
            if !c.operator().is_segment() {
                continue;
            }
            for (k, v) in c.values().iter().enumerate() {
                if !segment_exists(v) {
                    errors.push(
                        format!("rules[{i}].conditions[{j}].values[{k}]"),
                        format!("no segment {v:?} in this environment"),
                    );
                }
            }
        }
    }
    for (i, p) in flag.prerequisites.iter().enumerate() {
        let path = format!("prerequisites[{i}]");
        let Some(target) = find(p.flag.as_str()) else {
            errors.push(
                format!("{path}.flag"),
                format!("no flag {:?} in this environment", p.flag.as_str()),
            );
            continue;
        };
        for (j, v) in p.variants.iter().enumerate() {
            if !has_variant(target, v) {
                errors.push(
                    format!("{path}.variants[{j}]"),
                    format!("flag {:?} has no variant {v:?}", p.flag.as_str()),
                );
            }
        }
        if let Some(chain) = cycle_or_depth(flag, p.flag.as_str(), find) {
            errors.push(format!("{path}.flag"), chain);
        }
    }
    errors
}

fn has_variant(flag: &FlagSpec, variant: &str) -> bool {
    match flag.flag_type {
        FlagType::Boolean => variant == ON || variant == OFF,
        _ => flag.variants.iter().any(|v| v.key == variant),
    }
}

/// Walks the prerequisites from `start` (a prerequisite of `flag`): a path back to `flag` is a
/// cycle, a chain longer than the limit is too deep. Explains the first one found.
fn cycle_or_depth<'a>(
    flag: &'a FlagSpec,
    start: &str,
    find: &dyn Fn(&str) -> Option<&'a FlagSpec>,
) -> Option<String> {
    // Depth-first over (key, chain so far); chains are short (bounded by the depth limit), and
    // a flag reached again at the same depth has the same future, so each (flag, depth) is
    // expanded once: wide graphs cost flags × depth, not every path.
    let mut stack: Vec<Vec<&str>> = vec![vec![flag.key.as_str(), start]];
    let mut expanded = std::collections::HashSet::new();
    while let Some(chain) = stack.pop() {
        let last = chain[chain.len() - 1];
        if last == flag.key.as_str() {
            return Some(format!(
                "prerequisites form a cycle: {}",
                chain.join(" -> ")
            ));
        }
        if chain.len() - 1 > MAX_PREREQUISITE_DEPTH {
            return Some(format!(
                "prerequisites nest deeper than {MAX_PREREQUISITE_DEPTH}: {}",
                chain.join(" -> ")
            ));
        }
        if !expanded.insert((last, chain.len())) {
            continue;
        }
        let Some(next) = find(last) else { continue };
        for p in &next.prerequisites {
            let mut longer = chain.clone();
            longer.push(p.flag.as_str());
            stack.push(longer);
        }
    }
    None
}
