//! A JSON merge patch (RFC 7386) of a flag, with the two rules its alternatives need: what a
//! flag serves by default is `percentage` *or* `default_serve`, so giving one drops the other;
//! and a `default_serve` is replaced whole (`{"variant": "green"}` over a split is a variant,
//! not a variant and a split).

use serde_json::Value;

use super::{FlagInput, FlagSpec};
use crate::error::ValidationErrors;

impl FlagSpec {
    /// Applies a merge patch to the spec and reads the result as input, ready to validate
    /// (`FlagInput::validate`); the result is not validated here so that the caller can check
    /// the key first.
    ///
    /// ```
    /// use flag_sdk::FlagSpec;
    /// let spec = FlagSpec::from_json(br#"{"key": "f", "enabled": true, "percentage": 25}"#).unwrap();
    /// let patched = spec
    ///     .merge_patch(&serde_json::json!({"default_serve": {"variant": "on"}}))
    ///     .unwrap()
    ///     .validate()
    ///     .unwrap();
    /// assert!(patched.default_serve.is_some());
    /// ```
    pub fn merge_patch(&self, patch: &Value) -> Result<FlagInput, ValidationErrors> {
        let mut doc = self.to_value();
        if let (Some(doc), Some(patch)) = (doc.as_object_mut(), patch.as_object()) {
            for (given, other) in [
                ("percentage", "default_serve"),
                ("default_serve", "percentage"),
            ] {
                if patch.get(given).is_some_and(|v| !v.is_null()) {
                    doc.remove(other);
                    if given == "default_serve" {
                        doc.remove(given);
                    }
                }
            }
        }
        json_patch::merge(&mut doc, patch);
        FlagInput::from_value(doc)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn alternatives_replace_each_other_and_serves_are_replaced_whole() {
        let split = FlagSpec::from_value(json!({"key": "f", "type": "string", "enabled": true,
            "variants": [{"key": "a", "value": "x"}, {"key": "b", "value": "y"}],
            "default_serve": {"split": [{"variant": "a", "weight": 5000}, {"variant": "b", "weight": 5000}]}}))
        .unwrap();
        let one = split
            .merge_patch(&json!({"default_serve": {"variant": "b"}}))
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(one.default_serve, Some(crate::Serve::Variant("b".into())));
        let pct = FlagSpec::from_value(json!({"key": "g", "percentage": 25})).unwrap();
        let served = pct
            .merge_patch(&json!({"default_serve": {"variant": "on"}}))
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(
            served.default_serve,
            Some(crate::Serve::Variant("on".into()))
        );
        let back = served
            .merge_patch(&json!({"percentage": 10}))
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!((back.default_serve, back.percentage.as_f64()), (None, 10.0));
        // Plain RFC 7386 elsewhere: null removes (back to the default), objects merge.
        let cleared = pct
            .merge_patch(&json!({"percentage": null, "description": "d"}))
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(
            (cleared.percentage.as_f64(), cleared.description.as_str()),
            (100.0, "d")
        );
    }
}
