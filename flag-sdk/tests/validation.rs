//! Validation reports every problem, each with its field path; good input round-trips.

use flag_sdk::{Flag, FlagInput};
use serde_json::json;

fn fields(doc: serde_json::Value) -> Vec<(String, String)> {
    Flag::from_value(doc)
        .expect_err("invalid")
        .iter()
        .map(|e| (e.field.clone(), e.message.clone()))
        .collect()
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let errors = fields(json!({
        "key": "bad key!",
        "percentage": 12.345,
        "stickiness": "",
        "expires_at": "tomorrow",
        "tags": ["ok", ""],
        "rules": [
            {"id": "ok", "percentage": 100, "conditions": [
                {"attribute": "country", "operator": "in", "values": ["DE"]}]},
            {"id": "ok", "percentage": 101, "conditions": [
                {"attribute": "v", "operator": "semver_gte", "values": ["two"]},
                {"attribute": "email", "operator": "matches", "values": ["(unclosed"]},
                {"attribute": "n", "operator": "gt", "values": ["ten", true]},
                {"attribute": "t", "operator": "after", "values": ["2026-13-01"]},
                {"attribute": "x", "operator": "equals", "values": ["a"]},
                {"attribute": "", "operator": "in", "values": []}]},
        ],
    }));
    let paths: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    for expected in [
        "key",
        "percentage",
        "stickiness",
        "expires_at",
        "tags[1]",
        "rules[1].id",
        "rules[1].percentage",
        "rules[1].conditions[0].values[0]",
        "rules[1].conditions[1].values[0]",
        "rules[1].conditions[2].values[0]",
        "rules[1].conditions[2].values[1]",
        "rules[1].conditions[3].values[0]",
        "rules[1].conditions[4].operator",
        "rules[1].conditions[5].attribute",
        "rules[1].conditions[5].values",
    ] {
        assert!(
            paths.contains(&expected),
            "missing {expected} in {errors:?}"
        );
    }
    let message = |path: &str| {
        errors
            .iter()
            .find(|(f, _)| f == path)
            .map(|(_, m)| m.clone())
            .unwrap()
    };
    assert_eq!(message("rules[1].percentage"), "must be between 0 and 100");
    assert!(message("rules[1].id").contains("duplicate"));
    assert!(message("rules[1].conditions[1].values[0]").contains("regular expression"));
    assert!(
        message("rules[1].conditions[4].operator").contains("semver_gte"),
        "lists the operators"
    );
}

#[test]
fn type_errors_and_unknown_fields_name_their_path() {
    let e = fields(json!({"key": "a", "rules": [{"id": "r", "percentage": "ten"}]}));
    assert_eq!(e[0].0, "rules[0].percentage");
    let e = fields(json!({"key": "a", "colour": "red"}));
    assert!(e[0].1.contains("unknown field `colour`"), "{e:?}");
    let e = fields(json!({"enabled": true}));
    assert!(e[0].1.contains("missing field `key`"), "{e:?}");
    let bad = Flag::from_json(b"{\"key\": \"a\",").unwrap_err();
    assert_eq!(bad.len(), 1);
    let trailing = Flag::from_json(b"{\"key\": \"a\"} {}").unwrap_err();
    assert!(trailing.to_string().contains("trailing"), "{trailing}");
}

#[test]
fn sizes_are_limited() {
    let many_rules: Vec<_> = (0..101).map(|i| json!({"id": format!("r{i}")})).collect();
    let e = fields(json!({"key": "a", "rules": many_rules}));
    assert!(
        e.iter().any(|(f, m)| f == "rules" && m.contains("100")),
        "{e:?}"
    );
    let e = fields(json!({"key": "a", "rules": [{"id": "r", "conditions":
        [{"attribute": "a", "operator": "in", "values": vec!["x"; 1001]}]}]}));
    assert!(
        e.iter().any(|(f, _)| f == "rules[0].conditions[0].values"),
        "{e:?}"
    );
    let e = fields(json!({"key": "a", "description": "x".repeat(5000)}));
    assert_eq!(e[0].0, "description");
    let e = fields(json!({"key": "a", "rules": [{"id": "r", "conditions":
        [{"attribute": "a", "operator": "matches", "values": ["(a{1000}){1000}"]}]}]}));
    assert_eq!(
        e[0].0, "rules[0].conditions[0].values[0]",
        "regex size limit"
    );
}

#[test]
fn defaults_and_round_trip() {
    let flag = Flag::from_json(br#"{"key": "new_checkout"}"#).unwrap();
    assert!(!flag.enabled, "new flags ship dark");
    assert_eq!(flag.percentage.basis_points(), 10_000);
    assert_eq!(flag.salt, "new_checkout");
    assert_eq!(flag.stickiness, "user_id");

    let doc = json!({
        "key": "new_checkout", "description": "New checkout flow", "enabled": true,
        "rules": [{"id": "eu-canary", "percentage": 0.25, "conditions": [
            {"attribute": "country", "operator": "in", "values": ["DE", "FR"]},
            {"attribute": "app_version", "operator": "semver_gte", "values": ["2.3.0"]},
            {"attribute": "age", "operator": "gte", "values": [18]}]}],
        "percentage": 5, "stickiness": "user_id", "salt": "s", "tags": ["checkout"],
        "owner": "team-payments", "expires_at": "2027-01-01T00:00:00Z",
        "version": 7, "updated_at": "2026-11-28T17:00:00Z", "updated_by": "admin",
    });
    let flag = Flag::from_value(doc).unwrap();
    assert_eq!(flag.version, 0, "server-set fields are ignored on input");
    let value = serde_json::to_value(&flag).unwrap();
    assert_eq!(value["rules"][0]["percentage"], json!(0.25));
    assert_eq!(value["rules"][0]["conditions"][2]["values"], json!(["18"]));
    assert_eq!(value["percentage"], json!(5));
    let back: Flag = serde_json::from_value(value).unwrap();
    assert_eq!(back, flag);
    assert_eq!(FlagInput::from(&flag).validate().unwrap(), flag);
}
