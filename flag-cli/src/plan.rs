//! The readable form of the answer of `POST /environments/{env}/apply` ([`Plan`]): what is (or
//! would be) created, changed, deleted and left alone.

pub use flag_sdk::wire::Plan;
use serde_json::Value;

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
                for field in ["conditions", "percentage"] {
                    let (b, a) = (&old[field], &r[field]);
                    if a != b {
                        out.push(format!(
                            "    rules.{rid}.{field}: {} -> {}",
                            show(b),
                            show(a)
                        ));
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
        let none =
            from_value(&json!({"created": [], "updated": [], "deleted": [], "unchanged": ["d"]}))
                .unwrap();
        assert!(!none.has_drift());
    }
}
