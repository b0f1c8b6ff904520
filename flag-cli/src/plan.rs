//! The answer of `POST /environments/{env}/apply`: what is (or would be) created, changed,
//! deleted and left alone, and its readable form.

use serde_json::Value;

use crate::error::{Error, Result};

/// One changed field of a flag.
#[derive(Debug, Clone, PartialEq)]
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
    /// Keys in the environment but not in the file, kept because prune was off (when reported).
    pub kept: Vec<String>,
}

impl Plan {
    /// Reads the server's answer.
    pub fn from_value(v: &Value) -> Result<Plan> {
        if !v.is_object() {
            return Err(Error::Protocol(
                "the apply answer is not a JSON object".into(),
            ));
        }
        Ok(Plan {
            created: keys(v.get("created"))?,
            updated: match v.get("updated") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items.iter().map(updated).collect::<Result<_>>()?,
                Some(_) => return Err(Error::Protocol("`updated` is not a list".into())),
            },
            deleted: keys(v.get("deleted"))?,
            unchanged: keys(v.get("unchanged"))?,
            kept: keys(
                v.get("kept")
                    .or_else(|| v.get("not_in_file"))
                    .or_else(|| v.get("extra")),
            )?,
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

/// Keys from a list of strings or of objects with a `key` (or a `flag` with a `key`).
fn keys(v: Option<&Value>) -> Result<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(key_of).collect(),
        Some(_) => Err(Error::Protocol("a plan list is not a list".into())),
    }
}

fn key_of(v: &Value) -> Result<String> {
    v.as_str()
        .or_else(|| v.get("key").and_then(Value::as_str))
        .or_else(|| v.pointer("/flag/key").and_then(Value::as_str))
        .or_else(|| v.pointer("/after/key").and_then(Value::as_str))
        .or_else(|| v.pointer("/before/key").and_then(Value::as_str))
        .map(str::to_owned)
        .ok_or_else(|| Error::Protocol(format!("a plan entry has no key: {v}")))
}

fn updated(v: &Value) -> Result<Updated> {
    let key = key_of(v)?;
    let list = ["changes", "diff", "fields", "changed"]
        .iter()
        .find_map(|n| v.get(*n));
    let changes = match list {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| FieldChange {
                field: c
                    .get("field")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned(),
                before: c.get("before").cloned().unwrap_or(Value::Null),
                after: c.get("after").cloned().unwrap_or(Value::Null),
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(field, c)| FieldChange {
                field: field.clone(),
                before: c.get("before").cloned().unwrap_or(Value::Null),
                after: c.get("after").cloned().unwrap_or(Value::Null),
            })
            .collect(),
        Some(_) => {
            return Err(Error::Protocol(format!(
                "the changes of {key} are not a list"
            )))
        }
    };
    Ok(Updated { key, changes })
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
            "deleted": [{"key": "c"}],
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
