//! The answer of `POST /environments/{env}/apply`: what is (or would be) created, changed,
//! deleted and left alone, and its readable form.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// One changed field of a flag.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FieldChange {
    /// The field's path (`percentage`, `rules`).
    pub field: String,
    /// Its value in the environment.
    pub before: Value,
    /// Its value in the file.
    pub after: Value,
}

/// A flag that is (or would be) changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Updated {
    /// The flag's key.
    pub key: String,
    /// What changes.
    pub changes: Vec<FieldChange>,
}

/// A sync plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Keys created.
    pub created: Vec<String>,
    /// Flags changed.
    pub updated: Vec<Updated>,
    /// Keys deleted (only with prune).
    pub deleted: Vec<String>,
    /// Keys already as in the file.
    pub unchanged: Vec<String>,
    /// Keys in the environment but not in the file, kept because prune was off.
    pub kept: Vec<String>,
}

impl Plan {
    /// Reads the server's answer.
    pub fn from_value(v: &Value) -> Result<Plan> {
        let answer = Answer::deserialize(v)
            .map_err(|e| Error::Protocol(format!("the apply answer is not a plan: {e}")))?;
        Ok(Plan {
            created: answer.created,
            updated: answer
                .updated
                .into_iter()
                .map(|u| Updated {
                    key: u.key,
                    changes: u.changes,
                })
                .collect(),
            deleted: answer.deleted,
            unchanged: answer.unchanged,
            kept: answer.kept,
        })
    }

    /// True when applying would change something.
    pub fn has_drift(&self) -> bool {
        !(self.created.is_empty() && self.updated.is_empty() && self.deleted.is_empty())
    }

    /// `2 to create, 1 to change, 0 to delete, 5 unchanged`.
    pub fn counts(&self) -> String {
        format!(
            "{} created, {} changed, {} deleted, {} unchanged",
            self.created.len(),
            self.updated.len(),
            self.deleted.len(),
            self.unchanged.len()
        )
    }

    /// The diff: `+ key`, `~ key` with `field: before -> after` lines, `- key`.
    pub fn lines(&self) -> Vec<String> {
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

/// The server's plan (contract: created, updated with field diffs, deleted, unchanged).
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    created: Vec<String>,
    #[serde(default)]
    updated: Vec<AnswerUpdate>,
    #[serde(default)]
    deleted: Vec<String>,
    #[serde(default)]
    unchanged: Vec<String>,
    #[serde(default)]
    kept: Vec<String>,
}

#[derive(Deserialize)]
struct AnswerUpdate {
    key: String,
    #[serde(default)]
    changes: Vec<FieldChange>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_prints_a_plan() {
        let plan = Plan::from_value(&json!({
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
        let rules = Plan::from_value(&json!({"updated": [{"key": "b", "changes": [{
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
        let none = Plan::from_value(
            &json!({"created": [], "updated": [], "deleted": [], "unchanged": ["d"]}),
        )
        .unwrap();
        assert!(!none.has_drift());
    }
}
