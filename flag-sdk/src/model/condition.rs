//! Validation of one condition: its attribute, its operator and values parsed for it, and
//! the options `negate` and `case_insensitive`.

use super::input::ConditionInput;
use super::limits::*;
use super::values::Values;
use super::{Condition, FlagKey, Operator};
use crate::error::ValidationErrors;

/// Validates one condition; `path` is its field path (empty for a lone condition).
pub(crate) fn validate_condition(
    c: &ConditionInput,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<Condition> {
    let before = errors.len();
    let field = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    check_attribute(errors, &field("attribute"), &c.attribute);
    let operator = Operator::parse(&c.operator);
    if operator.is_none() {
        let known: Vec<&str> = Operator::ALL.iter().map(|o| o.as_str()).collect();
        errors.push(
            field("operator"),
            format!(
                "unknown operator {:?}; expected one of {}",
                c.operator,
                known.join(", ")
            ),
        );
    }
    if c.values.is_empty() {
        errors.push(field("values"), "must hold at least one value");
    }
    if c.values.len() > MAX_VALUES {
        errors.push(
            field("values"),
            format!("at most {MAX_VALUES} values are allowed"),
        );
    }
    if let Some(op) = operator {
        if c.case_insensitive && !op.has_case() {
            errors.push(
                field("case_insensitive"),
                format!("{op} does not compare text: case_insensitive is for in, not_in, starts_with, ends_with and contains"),
            );
        }
    }
    let segments = operator.is_some_and(Operator::is_segment);
    let mut values = Vec::with_capacity(c.values.len().min(MAX_VALUES));
    let mut parsed = operator.map(|op| Values::new(op, c.values.len().min(MAX_VALUES)));
    for (i, v) in c.values.iter().enumerate().take(MAX_VALUES) {
        let vpath = format!("{}[{i}]", field("values"));
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                errors.push(vpath, "must be a string or a number");
                continue;
            }
        };
        if text.len() > MAX_STRING {
            errors.push(vpath, format!("must be at most {MAX_STRING} bytes"));
            continue;
        }
        if segments {
            if let Err(m) = FlagKey::parse(text.as_str()) {
                errors.push(vpath, format!("a segment key {m}"));
                continue;
            }
        }
        if let Some(parsed) = parsed.as_mut() {
            let folded = if c.case_insensitive {
                std::borrow::Cow::Owned(text.to_lowercase())
            } else {
                std::borrow::Cow::Borrowed(text.as_str())
            };
            if let Err(m) = parsed.push(&folded) {
                errors.push(vpath, m);
                continue;
            }
        }
        values.push(text);
    }
    match (operator, parsed) {
        (Some(operator), Some(parsed)) if errors.len() == before => Some(Condition {
            attribute: c.attribute.clone(),
            operator,
            values,
            negate: c.negate,
            case_insensitive: c.case_insensitive,
            parsed,
        }),
        _ => None,
    }
}

pub(crate) fn check_len(errors: &mut ValidationErrors, path: &str, s: &str, max: usize) {
    if s.len() > max {
        errors.push(path, format!("must be at most {max} bytes"));
    }
}

pub(crate) fn check_attribute(errors: &mut ValidationErrors, path: &str, name: &str) {
    if name.is_empty() {
        errors.push(path, "must not be empty");
    } else {
        check_len(errors, path, name, MAX_STRING);
    }
}
