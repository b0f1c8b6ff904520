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
                out.push(format!(
                    "    {}: {} -> {}",
                    c.field,
                    show(&c.before),
                    show(&c.after)
                ));
            }
        }
        for k in &self.deleted {
            out.push(format!("- {k}"));
        }
        out
    }
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
        let none = Plan::from_value(
            &json!({"created": [], "updated": [], "deleted": [], "unchanged": ["d"]}),
        )
        .unwrap();
        assert!(!none.has_drift());
    }
}
