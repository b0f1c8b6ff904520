//! From the JSON values flags serve to OpenFeature's values.

use open_feature::{EvaluationError, EvaluationErrorCode, StructValue, Value};

fn mismatch(message: String) -> EvaluationError {
    EvaluationError::builder()
        .code(EvaluationErrorCode::TypeMismatch)
        .message(message)
        .build()
}

/// A number flag's value as an `i64`: it must be a whole number that fits, else
/// `TYPE_MISMATCH` (the caller asked for an integer of a flag serving `2.5`).
pub(crate) fn integer(key: &str, value: &serde_json::Value) -> Result<i64, EvaluationError> {
    if let Some(i) = value.as_i64() {
        return Ok(i);
    }
    // -2^63 ..= 2^63 exclusive of the top: every whole f64 in it is an i64.
    const RANGE: std::ops::Range<f64> = -9.223_372_036_854_776e18..9.223_372_036_854_776e18;
    match value.as_f64() {
        Some(f) if f.fract() == 0.0 && RANGE.contains(&f) => Ok(f as i64),
        _ => Err(mismatch(format!(
            "flag {key} serves {value}, which is not an integer that fits in an i64"
        ))),
    }
}

/// A JSON flag's object value as a [`StructValue`]; any other JSON value is `TYPE_MISMATCH`.
/// OpenFeature has no null: a field whose value is `null` is left out; a `null` in an array is
/// `TYPE_MISMATCH`.
pub(crate) fn structure(
    key: &str,
    value: &serde_json::Value,
) -> Result<StructValue, EvaluationError> {
    match value {
        serde_json::Value::Object(_) => match to_value(value) {
            Some(Value::Struct(s)) => Ok(s),
            _ => Err(mismatch(format!(
                "flag {key} serves an object with a null in an array, which OpenFeature cannot represent"
            ))),
        },
        other => Err(mismatch(format!(
            "flag {key} serves {}, not an object",
            kind_of(other)
        ))),
    }
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `None` for a null (outside an object, where it is skipped).
fn to_value(value: &serde_json::Value) -> Option<Value> {
    Some(match value {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => {
            Value::Array(items.iter().map(to_value).collect::<Option<Vec<_>>>()?)
        }
        serde_json::Value::Object(fields) => {
            let mut out = StructValue::default();
            for (name, field) in fields {
                match field {
                    serde_json::Value::Null => {}
                    _ => out.add_field(name.as_str(), to_value(field)?),
                }
            }
            Value::Struct(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_must_be_whole_and_fit() {
        assert_eq!(integer("k", &json!(10)).unwrap(), 10);
        assert_eq!(integer("k", &json!(10.0)).unwrap(), 10);
        assert_eq!(integer("k", &json!(-3)).unwrap(), -3);
        assert!(integer("k", &json!(2.5)).is_err());
        assert!(integer("k", &json!(1e19)).is_err());
        assert!(integer("k", &json!("10")).is_err());
    }

    #[test]
    fn objects_become_structures() {
        let s = structure(
            "k",
            &json!({"rps": 100, "ratio": 0.5, "name": "x", "on": true,
            "tags": ["a", 1], "inner": {"deep": 1}, "gone": null}),
        )
        .unwrap();
        assert_eq!(s.fields["rps"], Value::Int(100));
        assert_eq!(s.fields["ratio"], Value::Float(0.5));
        assert_eq!(s.fields["name"], Value::String("x".into()));
        assert_eq!(s.fields["on"], Value::Bool(true));
        assert_eq!(
            s.fields["tags"],
            Value::Array(vec![Value::String("a".into()), Value::Int(1)])
        );
        assert_eq!(
            s.fields["inner"].as_struct().unwrap().fields["deep"],
            Value::Int(1)
        );
        assert!(!s.fields.contains_key("gone"));
        assert!(structure("k", &json!([1])).is_err());
        assert!(structure("k", &json!({"a": [null]})).is_err());
    }
}
