//! Readable text of what flags serve: variants, splits, prerequisites and conditions, shared
//! by `flags get` / `list`, the edit commands, `plan` and `explain`.

use flag_sdk::{Condition, FlagSpec, Prerequisite, Rule, Serve, Weighted};
use serde_json::Value;

/// Basis points as a percentage without trailing zeros: 5000 -> `50`, 25 -> `0.25`.
pub fn percent(bp: u16) -> String {
    format!("{}", f64::from(bp) / 100.0)
}

/// `split blue 50% / green 50%`.
pub fn split(parts: &[Weighted]) -> String {
    let shares: Vec<String> = parts
        .iter()
        .map(|w| format!("{} {}%", w.variant, percent(w.weight)))
        .collect();
    format!("split {}", shares.join(" / "))
}

/// `variant blue` or `split blue 50% / green 50%`.
pub fn serve(s: &Serve) -> String {
    match s {
        Serve::Variant(v) => format!("variant {v}"),
        Serve::Split(parts) => split(parts),
    }
}

/// The JSON of a serve (`{"variant": ...}` / `{"split": [...]}`) as text; `(none)` for null,
/// and the JSON itself when it is neither.
pub fn serve_json(v: &Value) -> String {
    if v.is_null() {
        return "(none)".into();
    }
    match serde_json::from_value::<Serve>(v.clone()) {
        Ok(s) => serve(&s),
        Err(_) => v.to_string(),
    }
}

/// What contexts that match no rule get: `25%` (a boolean flag's percentage) or the default
/// serve.
pub fn default_of(flag: &FlagSpec) -> String {
    match &flag.default_serve {
        Some(s) => serve(s),
        None => format!("{}%", flag.percentage),
    }
}

/// What a rule serves: `100%` or its serve.
pub fn rule_serves(r: &Rule) -> String {
    match &r.serve {
        Some(s) => serve(s),
        None => format!("{}%", r.percentage),
    }
}

/// `new_checkout is on` / `new_checkout is blue or green`.
pub fn prerequisite(p: &Prerequisite) -> String {
    format!("{} is {}", p.flag, p.variants.join(" or "))
}

/// `email ends_with @example.com`, with `not` and `(case-insensitive)` when set.
pub fn condition(c: &Condition) -> String {
    format!(
        "{}{} {} {}{}",
        if c.negate() { "not " } else { "" },
        c.attribute(),
        c.operator(),
        c.values().join(", "),
        if c.case_insensitive() {
            " (case-insensitive)"
        } else {
            ""
        }
    )
}

/// A value as compact JSON.
pub fn value(v: &Value) -> String {
    v.to_string()
}

/// One line of what a flag serves, for the sentences of the write commands:
/// `25%` for a boolean flag as before; otherwise its type, default and off variant.
pub fn summary(flag: &FlagSpec) -> String {
    if flag.flag_type.is_boolean() && flag.default_serve.is_none() {
        return format!("{}%", flag.percentage);
    }
    let mut s = format!("{}, serves {}", flag.flag_type, default_of(flag));
    if let Some(off) = &flag.off_variant {
        s.push_str(&format!(", off variant {off}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serves_read_well() {
        assert_eq!(percent(5000), "50");
        assert_eq!(percent(25), "0.25");
        assert_eq!(percent(3333), "33.33");
        assert_eq!(serve_json(&json!({"variant": "blue"})), "variant blue");
        assert_eq!(
            serve_json(&json!({"split": [{"variant": "blue", "weight": 5000},
                {"variant": "green", "weight": 5000}]})),
            "split blue 50% / green 50%"
        );
        assert_eq!(serve_json(&Value::Null), "(none)");
        assert_eq!(serve_json(&json!(5)), "5");
    }
}
