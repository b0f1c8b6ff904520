//! Properties of bucketing and evaluation that every release must keep.

use flag_sdk::{Context, Flag, Operator, ReasonKind, Snapshot};
use proptest::prelude::*;
use serde_json::json;

fn rollout(key: &str, salt: &str, percentage: f64) -> Snapshot {
    let flag = Flag::from_value(json!({
        "key": key, "enabled": true, "salt": salt, "percentage": percentage
    }))
    .unwrap();
    Snapshot::compile("test", 1, [flag])
}

/// Percentages with at most two decimals, as basis points.
fn basis_points() -> impl Strategy<Value = u16> {
    0u16..=10_000
}

fn operator() -> impl Strategy<Value = Operator> {
    proptest::sample::select(Operator::ALL.to_vec())
}

/// A value that is valid for the operator.
fn value_for(op: Operator) -> &'static str {
    use Operator::*;
    match op {
        Lt | Lte | Gt | Gte | Eq => "10",
        SemverEq | SemverLt | SemverLte | SemverGt | SemverGte => "2.3.0",
        Before | After => "2026-01-01T00:00:00Z",
        Matches => "^a.*",
        _ => "a",
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sticky(id in ".{0,40}", bp in basis_points(), country in "[A-Z]{2}") {
        let snap = rollout("f", "f", f64::from(bp) / 100.0);
        let ctx = Context::new().user_id(id.clone()).set("country", country);
        let first = snap.evaluate("f", &ctx);
        for _ in 0..3 {
            prop_assert_eq!(&snap.evaluate("f", &ctx), &first);
        }
        // A snapshot compiled afresh (another process, another SDK) agrees.
        let again = rollout("f", "f", f64::from(bp) / 100.0);
        prop_assert_eq!(again.evaluate("f", &ctx), first.clone());
        prop_assert_eq!(snap.is_enabled("f", &ctx), first.enabled);
    }

    #[test]
    fn raising_a_percentage_never_turns_anyone_off(id in ".{0,40}", a in basis_points(), b in basis_points()) {
        let (low, high) = (a.min(b), a.max(b));
        let ctx = Context::new().user_id(id);
        let at_low = rollout("f", "salt", f64::from(low) / 100.0).is_enabled("f", &ctx);
        let at_high = rollout("f", "salt", f64::from(high) / 100.0).is_enabled("f", &ctx);
        prop_assert!(!at_low || at_high, "on at {} bp but off at {} bp", low, high);
    }

    #[test]
    fn the_kill_switch_beats_every_rule(
        id in "[a-z0-9]{1,12}",
        ops in proptest::collection::vec(operator(), 0..5),
        rule_bp in basis_points(),
        bp in basis_points(),
    ) {
        let rules: Vec<_> = ops.iter().enumerate().map(|(i, op)| json!({
            "id": format!("r{i}"), "percentage": f64::from(rule_bp) / 100.0,
            "conditions": [{"attribute": "a", "operator": op.as_str(), "values": [value_for(*op)]}],
        })).collect();
        let mut doc = json!({"key": "f", "enabled": true, "percentage": f64::from(bp) / 100.0, "rules": rules});
        let ctx = Context::new().user_id(id).set("a", "a").set("b", 5);
        doc["enabled"] = json!(false);
        let off = Snapshot::compile("t", 1, [Flag::from_value(doc).unwrap()]);
        let eval = off.evaluate("f", &ctx);
        prop_assert!(!eval.enabled);
        prop_assert_eq!(eval.reason.kind, ReasonKind::Off);
        prop_assert!(!off.is_enabled("f", &ctx));
    }

    #[test]
    fn a_missing_attribute_never_matches(
        op in operator().prop_filter("segments may admit a context by their conditions", |op| !op.is_segment()),
        other in "[a-z]{1,8}",
    ) {
        // One rule on attribute "country" at 100%, the flag itself at 0%: the rule is the only
        // way to be on. A context without "country" must not match it, whatever the operator
        // (not_in included).
        let flag = Flag::from_value(json!({
            "key": "f", "enabled": true, "percentage": 0,
            "rules": [{"id": "r", "percentage": 100, "conditions": [
                {"attribute": "country", "operator": op.as_str(), "values": [value_for(op)]}]}],
        })).unwrap();
        let snap = Snapshot::compile("t", 1, [flag]);
        let ctx = Context::new().user_id("1").set(other, "a");
        let eval = snap.evaluate("f", &ctx);
        prop_assert_eq!(eval.reason.kind, ReasonKind::Default);
        prop_assert!(!eval.enabled);
    }
}

fn share_enabled(snap: &Snapshot, key: &str, n: u32) -> f64 {
    let on = (0..n)
        .filter(|i| snap.is_enabled(key, &Context::new().user_id(format!("user-{i}"))))
        .count();
    on as f64 * 100.0 / f64::from(n)
}

#[test]
fn the_share_enabled_is_the_percentage() {
    for p in [1.0, 10.0, 37.5, 50.0, 99.0] {
        let share = share_enabled(&rollout("f", "uniformity", p), "f", 100_000);
        assert!(
            (share - p).abs() <= 0.5,
            "{p}% rollout enabled {share}% of 100,000 ids"
        );
    }
}

#[test]
fn zero_is_nobody_and_hundred_is_everybody_even_without_stickiness() {
    let none = rollout("f", "f", 0.0);
    let all = rollout("f", "f", 100.0);
    for i in 0..1000 {
        let ctx = Context::new().user_id(i.to_string());
        assert!(!none.is_enabled("f", &ctx));
        assert!(all.is_enabled("f", &ctx));
    }
    assert!(all.is_enabled("f", &Context::new()));
    // Below 100, a context without the stickiness attribute is out.
    assert!(!rollout("f", "f", 99.99).is_enabled("f", &Context::new()));
}

#[test]
fn two_salts_bucket_independently() {
    let a = rollout("a", "salt-a", 50.0);
    let b = rollout("b", "salt-b", 50.0);
    let n = 100_000;
    let both = (0..n)
        .filter(|i| {
            let ctx = Context::new().user_id(format!("user-{i}"));
            a.is_enabled("a", &ctx) && b.is_enabled("b", &ctx)
        })
        .count();
    let overlap = both as f64 * 100.0 / f64::from(n);
    assert!(
        (overlap - 25.0).abs() <= 1.0,
        "overlap of two 50% rollouts is {overlap}%"
    );
}
