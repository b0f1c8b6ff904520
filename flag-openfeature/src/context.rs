//! From an OpenFeature evaluation context to a flag-sdk [`Context`].

use std::sync::Arc;

use flag_sdk::Context;
use open_feature::{EvaluationContext, EvaluationContextFieldValue};

/// Builds the flag-sdk [`Context`] for a flag whose stickiness attribute is `stickiness`.
///
/// - the targeting key becomes the value of `stickiness` (`user_id` unless the flag says
///   otherwise), so splits and percentages hash it; it wins over a custom field of the same
///   name. Without a targeting key the flag still evaluates: a flag that hashes serves what it
///   serves to a context without the stickiness value (out of any rollout below 100, a split's
///   first variant).
/// - custom fields become attributes: strings, booleans, integers and floats as they are
///   (integers as numbers), a date-time as its RFC 3339 text in UTC (for the `before` / `after`
///   operators), and a structure holding a `Vec<String>` as a list of strings (for `in`,
///   `contains`…). Any other structure is left out: a condition on it does not match, exactly
///   like a missing attribute.
///
/// ```
/// use open_feature::EvaluationContext;
/// let of = EvaluationContext::default()
///     .with_targeting_key("42")
///     .with_custom_field("country", "DE")
///     .with_custom_field("age", 37);
/// let ctx = flag_openfeature::to_context(&of, "user_id");
/// assert_eq!(ctx.get("user_id").and_then(|v| v.as_str()), Some("42"));
/// assert_eq!(ctx.get("country").and_then(|v| v.as_str()), Some("DE"));
/// assert_eq!(ctx.get("age"), Some(&flag_sdk::Value::Number(37.0)));
/// ```
pub fn to_context(context: &EvaluationContext, stickiness: &str) -> Context {
    let mut ctx = Context::new();
    for (name, value) in &context.custom_fields {
        match value {
            EvaluationContextFieldValue::String(s) => ctx.insert(name.as_str(), s.as_str()),
            EvaluationContextFieldValue::Bool(b) => ctx.insert(name.as_str(), *b),
            EvaluationContextFieldValue::Int(i) => ctx.insert(name.as_str(), *i as f64),
            EvaluationContextFieldValue::Float(f) => ctx.insert(name.as_str(), *f),
            EvaluationContextFieldValue::DateTime(t) => {
                if let Some(text) = rfc3339(t.unix_timestamp(), t.nanosecond()) {
                    ctx.insert(name.as_str(), text);
                }
            }
            EvaluationContextFieldValue::Struct(any) => {
                if let Some(list) = list_of(any) {
                    ctx.insert(name.as_str(), list);
                }
            }
        }
    }
    if let Some(key) = &context.targeting_key {
        ctx.insert(stickiness, key.as_str());
    }
    ctx
}

fn rfc3339(seconds: i64, nanos: u32) -> Option<String> {
    chrono::DateTime::from_timestamp(seconds, nanos)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

fn list_of(any: &Arc<dyn std::any::Any + Send + Sync>) -> Option<Vec<String>> {
    if let Some(list) = any.downcast_ref::<Vec<String>>() {
        return Some(list.clone());
    }
    any.downcast_ref::<Vec<&'static str>>()
        .map(|list| list.iter().map(|s| (*s).to_owned()).collect())
}
