//! One flag's OFREP answer, `{key, value, variant, reason, metadata}`, written directly (the
//! bulk answer is a hot path, like `/sdk/evaluate`).
//!
//! Reasons, from our [`ReasonKind`] and the flag:
//! - `DISABLED`: the flag is off. The value is what the flag serves when off: `false` (variant
//!   `off`) for a boolean flag, the off variant's value for another type; a flag of another
//!   type without an off variant answers no `value` and no `variant` (OFREP's "code default",
//!   as flagd answers a disabled flag).
//! - `SPLIT`: the bucket decided (a percentage strictly between 0 and 100, or a split), in a
//!   matched rule or by default.
//! - `TARGETING_MATCH`: a matched rule decided without hashing; also a failed prerequisite
//!   (the targeting of another flag decided; our metadata says `prerequisite_failed`).
//! - `STATIC`: a flag with no rules and no prerequisites whose default cannot depend on the
//!   context (0 or 100 percent, one variant).
//! - `DEFAULT`: otherwise when the default decided without hashing.
//!
//! `metadata` holds our own reason flat (OFREP metadata values are scalars):
//! `{"kind": "split", "rule": "beta", "bucket": 7021}`.

use flag_sdk::{CompiledFlag, Evaluation, OpenFeatureReason};

use super::super::sdk::write_str;

/// Writes the answer for a flag that exists.
pub fn write_answer(out: &mut Vec<u8>, key: &str, flag: &CompiledFlag, e: &Evaluation) {
    out.extend_from_slice(b"{\"key\":");
    write_str(out, key);
    if flag.flag_type().is_boolean() {
        out.extend_from_slice(if e.enabled {
            b",\"value\":true,\"variant\":\"on\"".as_slice()
        } else {
            b",\"value\":false,\"variant\":\"off\""
        });
    } else {
        if let Some(value) = &e.value {
            out.extend_from_slice(b",\"value\":");
            // Writing a JSON value into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, &**value);
        }
        if let Some(variant) = &e.variant {
            out.extend_from_slice(b",\"variant\":");
            write_str(out, variant);
        }
    }
    out.extend_from_slice(b",\"reason\":\"");
    out.extend_from_slice(OpenFeatureReason::of(flag.flag(), e).as_str().as_bytes());
    out.extend_from_slice(b"\",\"metadata\":{\"kind\":\"");
    out.extend_from_slice(e.reason.kind.as_str().as_bytes());
    out.push(b'"');
    if let Some(rule) = &e.reason.rule {
        out.extend_from_slice(b",\"rule\":");
        write_str(out, rule);
    }
    if let Some(bucket) = e.reason.bucket {
        out.extend_from_slice(b",\"bucket\":");
        out.extend_from_slice(itoa::Buffer::new().format(bucket).as_bytes());
    }
    out.extend_from_slice(b"}}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use flag_sdk::{Context, Flag, Snapshot};
    use serde_json::json;

    fn answer(flag: serde_json::Value, ctx: &Context) -> serde_json::Value {
        let flag = Flag::from_value(flag).unwrap();
        let key = flag.key.to_string();
        let snap = Snapshot::compile("production", 1, vec![flag]);
        let mut out = Vec::new();
        write_answer(
            &mut out,
            &key,
            snap.get(&key).unwrap(),
            &snap.evaluate(&key, ctx),
        );
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn reasons_follow_the_flag() {
        let user = Context::new().user_id("42");
        let none = Context::new();
        let a = answer(
            json!({"key": "a", "enabled": true, "percentage": 100}),
            &none,
        );
        assert_eq!(
            a,
            json!({"key": "a", "value": true, "variant": "on", "reason": "STATIC", "metadata": {"kind": "default"}})
        );
        let a = answer(json!({"key": "a", "enabled": false}), &none);
        assert_eq!(a["reason"], "DISABLED");
        assert_eq!(a["value"], false);
        let a = answer(
            json!({"key": "a", "enabled": true, "percentage": 50}),
            &user,
        );
        assert_eq!(a["reason"], "SPLIT");
        assert!(a["metadata"]["bucket"].is_u64());
        let a = answer(
            json!({"key": "a", "enabled": true, "percentage": 50}),
            &none,
        );
        assert_eq!(a["reason"], "DEFAULT");
        let rules = json!([{"id": "de", "conditions": [{"attribute": "country", "operator": "in", "values": ["DE"]}], "percentage": 100}]);
        let a = answer(
            json!({"key": "a", "enabled": true, "rules": rules}),
            &Context::new().set("country", "DE"),
        );
        assert_eq!(a["reason"], "TARGETING_MATCH");
        assert_eq!(a["metadata"], json!({"kind": "rule", "rule": "de"}));
        let a = answer(json!({"key": "a", "enabled": true, "rules": rules}), &none);
        assert_eq!(a["reason"], "DEFAULT");
        let typed = json!({"key": "c", "type": "string", "enabled": false,
            "variants": [{"key": "blue", "value": "#00f"}], "default_serve": {"variant": "blue"}});
        let a = answer(typed, &none);
        assert_eq!(
            a,
            json!({"key": "c", "reason": "DISABLED", "metadata": {"kind": "off"}})
        );
    }
}
