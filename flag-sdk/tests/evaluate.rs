//! The evaluator, operator by operator, and the reasons it gives.

use flag_sdk::{Context, Flag, ReasonKind, Snapshot};
use serde_json::{json, Value};

/// A flag off by default and on (100%) through one rule with one condition.
fn gate(attribute: &str, operator: &str, values: Value) -> Snapshot {
    let flag = Flag::from_value(json!({
        "key": "f", "enabled": true, "percentage": 0,
        "rules": [{"id": "r", "percentage": 100,
                   "conditions": [{"attribute": attribute, "operator": operator, "values": values}]}],
    }))
    .unwrap();
    Snapshot::compile("test", 1, [flag])
}

#[test]
fn operators() {
    // (operator, values, attribute value, expected match)
    let cases: Vec<(&str, Value, flag_sdk::Value, bool)> = vec![
        ("in", json!(["DE", "FR"]), "DE".into(), true),
        ("in", json!(["DE", "FR"]), "US".into(), false),
        ("in", json!(["42"]), 42.into(), true),
        ("in", json!(["true"]), true.into(), true),
        ("in", json!(["beta"]), vec!["alpha", "beta"].into(), true),
        (
            "in",
            json!((0..50).map(|i| format!("c{i}")).collect::<Vec<_>>()),
            "c37".into(),
            true,
        ),
        (
            "in",
            json!((0..50).map(|i| format!("c{i}")).collect::<Vec<_>>()),
            "c50".into(),
            false,
        ),
        ("not_in", json!(["DE", "FR"]), "US".into(), true),
        ("not_in", json!(["DE", "FR"]), "DE".into(), false),
        (
            "not_in",
            json!(["beta"]),
            vec!["alpha", "beta"].into(),
            false,
        ),
        ("starts_with", json!(["app-"]), "app-7".into(), true),
        ("starts_with", json!(["app-"]), "web-7".into(), false),
        (
            "ends_with",
            json!(["@example.com"]),
            "ann@example.com".into(),
            true,
        ),
        (
            "ends_with",
            json!(["@example.com"]),
            "ann@example.org".into(),
            false,
        ),
        ("contains", json!(["check"]), "new_checkout".into(), true),
        ("contains", json!(["check"]), "new_cart".into(), false),
        ("matches", json!(["^user-[0-9]+$"]), "user-12".into(), true),
        ("matches", json!(["^user-[0-9]+$"]), "user-x".into(), false),
        ("lt", json!([10]), 9.5.into(), true),
        ("lt", json!(["10"]), "10".into(), false),
        ("lte", json!([10]), 10.into(), true),
        ("gt", json!([10]), 11.into(), true),
        ("gt", json!([10]), "not a number".into(), false),
        ("gte", json!([10]), 9.into(), false),
        ("semver_eq", json!(["2.3.0"]), "2.3.0".into(), true),
        ("semver_eq", json!(["2.3.0"]), "v2.3.0".into(), true),
        ("semver_lt", json!(["2.3.0"]), "2.3.0-beta.1".into(), true),
        ("semver_lte", json!(["2.3.0"]), "2.3.1".into(), false),
        ("semver_gt", json!(["2.3.0"]), "2.10.0".into(), true),
        ("semver_gte", json!(["2.3.0"]), "2.3.0".into(), true),
        ("semver_gte", json!(["2.3.0"]), "garbage".into(), false),
        (
            "before",
            json!(["2026-12-01T00:00:00Z"]),
            "2026-11-30T23:59:59Z".into(),
            true,
        ),
        (
            "before",
            json!(["2026-12-01T00:00:00Z"]),
            "2026-12-01T01:00:00+02:00".into(),
            true,
        ),
        (
            "after",
            json!(["2026-12-01T00:00:00Z"]),
            "2026-12-01T00:00:01Z".into(),
            true,
        ),
        (
            "after",
            json!(["2026-12-01T00:00:00Z"]),
            1_700_000_000.into(),
            false,
        ),
        (
            "after",
            json!(["2026-12-01T00:00:00Z"]),
            "yesterday".into(),
            false,
        ),
    ];
    for (op, values, attr, expected) in cases {
        let snap = gate("a", op, values.clone());
        let ctx = Context::new().set("a", attr.clone());
        let eval = snap.evaluate("f", &ctx);
        assert_eq!(eval.enabled, expected, "{op} {values} against {attr:?}");
        assert_eq!(
            snap.is_enabled("f", &ctx),
            expected,
            "is_enabled: {op} {values} against {attr:?}"
        );
        let kind = if expected {
            ReasonKind::Rule
        } else {
            ReasonKind::Default
        };
        assert_eq!(eval.reason.kind, kind, "{op} {values} against {attr:?}");
    }
}

#[test]
fn rules_are_tried_in_order_and_all_conditions_must_match() {
    let flag = Flag::from_value(json!({
        "key": "new_checkout", "enabled": true, "percentage": 0,
        "rules": [
            {"id": "staff", "percentage": 100,
             "conditions": [{"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]},
            {"id": "eu-canary", "percentage": 100,
             "conditions": [{"attribute": "country", "operator": "in", "values": ["DE", "FR"]},
                            {"attribute": "app_version", "operator": "semver_gte", "values": ["2.3.0"]}]},
            {"id": "everyone-else", "percentage": 0, "conditions": []},
        ],
    }))
    .unwrap();
    let snap = Snapshot::compile("production", 3, [flag]);
    let rule_of = |ctx: &Context| {
        snap.evaluate("new_checkout", ctx)
            .reason
            .rule
            .map(|r| r.to_string())
    };

    let staff_in_de = Context::new()
        .set("email", "a@example.com")
        .set("country", "DE")
        .set("app_version", "2.4.0");
    assert_eq!(rule_of(&staff_in_de).as_deref(), Some("staff"));
    let eu = Context::new()
        .set("country", "FR")
        .set("app_version", "2.3.1");
    assert_eq!(rule_of(&eu).as_deref(), Some("eu-canary"));
    assert!(snap.is_enabled("new_checkout", &eu));
    let old_app = Context::new()
        .set("country", "FR")
        .set("app_version", "2.2.9");
    assert_eq!(rule_of(&old_app).as_deref(), Some("everyone-else"));
    assert!(!snap.is_enabled("new_checkout", &old_app));
}

#[test]
fn reasons_serialize_as_the_contract_says() {
    let flag = Flag::from_value(json!({
        "key": "f", "enabled": true, "percentage": 0,
        "rules": [{"id": "eu-canary", "percentage": 25,
                   "conditions": [{"attribute": "country", "operator": "in", "values": ["DE"]}]}],
    }))
    .unwrap();
    let snap = Snapshot::compile("p", 1, [flag]);
    let ctx = Context::new().user_id("42").set("country", "DE");
    let eval = snap.evaluate("f", &ctx);
    let bucket = flag_sdk::bucket("f", "42");
    assert_eq!(
        serde_json::to_value(&eval).unwrap(),
        json!({"enabled": bucket < 2500, "reason": {"kind": "rule", "rule": "eu-canary", "bucket": bucket}})
    );
    assert_eq!(
        serde_json::to_value(snap.evaluate("nope", &ctx)).unwrap(),
        json!({"enabled": false, "reason": {"kind": "not_found"}})
    );
    let default = snap.evaluate("f", &Context::new().user_id("42"));
    assert_eq!(
        serde_json::to_value(default).unwrap(),
        json!({"enabled": false, "reason": {"kind": "default"}})
    );
}

#[test]
fn stickiness_can_be_any_attribute_and_numbers_hash_as_text() {
    let flag = Flag::from_value(
        json!({"key": "f", "enabled": true, "percentage": 50, "stickiness": "account"}),
    )
    .unwrap();
    let snap = Snapshot::compile("p", 1, [flag]);
    for i in 0..200 {
        let as_number = snap.evaluate("f", &Context::new().set("account", i));
        let as_text = snap.evaluate("f", &Context::new().set("account", i.to_string()));
        assert_eq!(as_number, as_text);
        assert_eq!(
            as_text.reason.bucket,
            Some(flag_sdk::bucket("f", &i.to_string()))
        );
    }
    // user_id is not the stickiness attribute here: a context with only user_id is out.
    assert!(!snap.is_enabled("f", &Context::new().user_id("1")));
}

#[test]
fn updates_replace_and_delete_single_flags() {
    let snap = Snapshot::compile("p", 1, [Flag::on("a").unwrap(), Flag::off("b").unwrap()]);
    let next = snap.with_put(Flag::on("b").unwrap(), 2).with_delete("a", 3);
    assert_eq!(next.version(), 3);
    assert!(next.is_enabled("b", &Context::new()));
    assert_eq!(
        next.evaluate("a", &Context::new()).reason.kind,
        ReasonKind::NotFound
    );
    // The original is untouched.
    assert!(snap.is_enabled("a", &Context::new()));
    assert!(!snap.is_enabled("b", &Context::new()));
    let keys: Vec<&str> = next.flags().iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["b"]);
}
