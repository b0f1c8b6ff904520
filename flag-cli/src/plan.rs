//! The readable form of the answer of `POST /environments/{env}/apply` ([`Plan`]): what is (or
//! would be) created, changed, deleted and left alone.

pub use flag_sdk::wire::Plan;
use serde_json::Value;

use crate::show;

/// The readable form of a [`Plan`].
pub trait PlanText {
    /// `2 created, 1 changed, 0 deleted, 5 unchanged`.
    fn counts(&self) -> String;
    /// One line per change: `+ key`, `~ key` with its field changes, `- key`.
    fn lines(&self) -> Vec<String>;
}

impl PlanText for Plan {
    fn counts(&self) -> String {
        format!(
            "{} created, {} changed, {} deleted, {} unchanged",
            self.created.len(),
            self.updated.len(),
            self.deleted.len(),
            self.unchanged.len()
        )
    }

    fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for k in &self.created {
            out.push(format!("+ {k}"));
        }
        for u in &self.updated {
            out.push(format!("~ {}", u.key));
            for c in &u.changes {
                match (c.field.as_str(), &c.before, &c.after) {
                    ("rules", Value::Array(before), Value::Array(after)) => {
                        out.extend(rule_lines(before, after));
                    }
                    ("default_serve", b, a) => out.push(format!(
                        "    default_serve: {} -> {}",
                        show::serve_json(b),
                        show::serve_json(a)
                    )),
                    ("variants", b, a) => out.extend(variant_lines(b, a)),
                    ("prerequisites", b, a) => out.push(format!(
                        "    prerequisites: {} -> {}",
                        prerequisites(b),
                        prerequisites(a)
                    )),
                    _ => out.push(format!(
                        "    {}: {} -> {}",
                        c.field,
                        show(&c.before),
                        show(&c.after)
                    )),
                }
            }
        }
        for k in &self.deleted {
            out.push(format!("- {k}"));
        }
        out
    }
}

/// A rules change, rule by rule (matched by id): `rules.staff.percentage: 100 -> 50`,
/// `rules: + eu-canary`, `rules: - beta`, and the order when only it changed.
fn rule_lines(before: &[Value], after: &[Value]) -> Vec<String> {
    let id = |r: &Value| {
        r.get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    let find = |rules: &[Value], wanted: &str| rules.iter().find(|r| id(r) == wanted).cloned();
    let mut out = Vec::new();
    for r in before {
        if find(after, &id(r)).is_none() {
            out.push(format!("    rules: - {} {}", id(r), r));
        }
    }
    for r in after {
        let rid = id(r);
        match find(before, &rid) {
            None => out.push(format!("    rules: + {rid} {r}")),
            Some(old) => {
                for field in ["conditions", "percentage", "serve"] {
                    let (b, a) = (&old[field], &r[field]);
                    if a != b {
                        let (b, a) = if field == "serve" {
                            (show::serve_json(b), show::serve_json(a))
                        } else {
                            (show(b), show(a))
                        };
                        out.push(format!("    rules.{rid}.{field}: {b} -> {a}"));
                    }
                }
            }
        }
    }
    let order = |rules: &[Value]| rules.iter().map(id).collect::<Vec<_>>();
    let (ob, oa) = (order(before), order(after));
    let common = |o: &[String], other: &[String]| {
        o.iter()
            .filter(|i| other.contains(i))
            .cloned()
            .collect::<Vec<_>>()
    };
    if common(&ob, &oa) != common(&oa, &ob) {
        out.push(format!(
            "    rules order: {} -> {}",
            ob.join(", "),
            oa.join(", ")
        ));
    }
    out
}

/// A variants change, variant by variant (matched by key): `variants.blue.value: "#0050ff" ->
/// "#0000ff"`, `variants: + red "#ff0000"`, `variants: - green`, and the order when only it
/// changed.
fn variant_lines(before: &Value, after: &Value) -> Vec<String> {
    let list = |v: &Value| -> Vec<(String, Value)> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        let key = x.get("key").and_then(Value::as_str).unwrap_or("?");
                        (
                            key.to_owned(),
                            x.get("value").cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (before, after) = (list(before), list(after));
    let find = |l: &[(String, Value)], k: &str| l.iter().find(|(key, _)| key == k).cloned();
    let mut out = Vec::new();
    for (k, v) in &before {
        if find(&after, k).is_none() {
            out.push(format!("    variants: - {k} {}", show::value(v)));
        }
    }
    for (k, v) in &after {
        match find(&before, k) {
            None => out.push(format!("    variants: + {k} {}", show::value(v))),
            Some((_, old)) if old != *v => out.push(format!(
                "    variants.{k}.value: {} -> {}",
                show::value(&old),
                show::value(v)
            )),
            Some(_) => {}
        }
    }
    let keys = |l: &[(String, Value)], other: &[(String, Value)]| {
        l.iter()
            .filter(|(k, _)| other.iter().any(|(o, _)| o == k))
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    let (kb, ka) = (keys(&before, &after), keys(&after, &before));
    if kb != ka {
        out.push(format!(
            "    variants order: {} -> {}",
            kb.join(", "),
            ka.join(", ")
        ));
    }
    out
}

/// `new_checkout is on, beta is blue or green`, or `(none)`.
fn prerequisites(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let flag = p.get("flag").and_then(Value::as_str).unwrap_or("?");
                    let variants: Vec<&str> = p
                        .get("variants")
                        .and_then(Value::as_array)
                        .map(|vs| vs.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    format!("{flag} is {}", variants.join(" or "))
                })
                .collect()
        })
        .unwrap_or_default();
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The plan in `partial`, the members it leaves out empty.
    fn from_value(partial: &Value) -> Result<Plan, serde_json::Error> {
        let mut full = json!({"environment": "e", "dry_run": true, "version": 0, "created": [],
            "updated": [], "deleted": [], "unchanged": [], "kept": []});
        if let (Value::Object(full), Value::Object(partial)) = (&mut full, partial) {
            full.extend(partial.clone());
        }
        serde_json::from_value(full)
    }

    #[test]
    fn reads_and_prints_a_plan() {
        let plan = from_value(&json!({
            "created": ["a"],
            "updated": [{"key": "b", "changes": [{"field": "percentage", "before": 5, "after": 25}]}],
            "deleted": ["c"],
            "unchanged": ["d"]
        }))
        .unwrap();
        assert!(plan.has_drift());
        assert_eq!(
            plan.lines(),
            ["+ a", "~ b", "    percentage: 5 -> 25", "- c"]
        );
        let rules = from_value(&json!({"updated": [{"key": "b", "changes": [{
            "field": "rules",
            "before": [{"id": "x", "percentage": 100, "conditions": []},
                       {"id": "y", "percentage": 5, "conditions": []}],
            "after": [{"id": "y", "percentage": 50, "conditions": []},
                      {"id": "z", "percentage": 1, "conditions": []}]
        }]}]}))
        .unwrap();
        assert_eq!(
            rules.lines(),
            [
                "~ b",
                r#"    rules: - x {"conditions":[],"id":"x","percentage":100}"#,
                "    rules.y.percentage: 5 -> 50",
                r#"    rules: + z {"conditions":[],"id":"z","percentage":1}"#,
            ]
        );
        let x = json!({"id": "x", "percentage": 1, "conditions": []});
        let y = json!({"id": "y", "percentage": 1, "conditions": []});
        assert_eq!(
            rule_lines(&[x.clone(), y.clone()], &[y, x]),
            ["    rules order: x, y -> y, x"]
        );
        let typed = from_value(&json!({"updated": [{"key": "button", "changes": [
            {"field": "default_serve", "before": {"variant": "blue"}, "after": {"variant": "green"}},
            {"field": "percentage", "before": 100, "after": null},
            {"field": "rules",
             "before": [{"id": "beta", "conditions": [], "serve": {"split": [
                 {"variant": "blue", "weight": 5000}, {"variant": "green", "weight": 5000}]}}],
             "after": [{"id": "beta", "conditions": [], "serve": {"split": [
                 {"variant": "blue", "weight": 2000}, {"variant": "green", "weight": 8000}]}}]},
            {"field": "variants",
             "before": [{"key": "blue", "value": "#0050ff"}, {"key": "green", "value": "#00a050"}],
             "after": [{"key": "blue", "value": "#0000ff"}, {"key": "red", "value": "#ff0000"}]},
            {"field": "prerequisites", "before": null,
             "after": [{"flag": "new_checkout", "variants": ["on"]}]}
        ]}]}))
        .unwrap();
        assert_eq!(
            typed.lines(),
            [
                "~ button",
                "    default_serve: variant blue -> variant green",
                "    percentage: 100 -> (none)",
                "    rules.beta.serve: split blue 50% / green 50% -> split blue 20% / green 80%",
                "    variants: - green \"#00a050\"",
                "    variants.blue.value: \"#0050ff\" -> \"#0000ff\"",
                "    variants: + red \"#ff0000\"",
                "    prerequisites: (none) -> new_checkout is on",
            ]
        );
        let none =
            from_value(&json!({"created": [], "updated": [], "deleted": [], "unchanged": ["d"]}))
                .unwrap();
        assert!(!none.has_drift());
    }
}
