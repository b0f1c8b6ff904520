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

/// A string flag whose default serves a split over variants `v0`, `v1`, ... with `weights`.
fn split(salt: &str, weights: &[u16]) -> Snapshot {
    let variants: Vec<_> = (0..weights.len())
        .map(|i| json!({"key": format!("v{i}"), "value": format!("value-{i}")}))
        .collect();
    let parts: Vec<_> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| json!({"variant": format!("v{i}"), "weight": w}))
        .collect();
    let flag = Flag::from_value(json!({
        "key": "f", "type": "string", "enabled": true, "salt": salt,
        "variants": variants, "default_serve": {"split": parts},
    }))
    .unwrap();
    Snapshot::compile("test", 1, [flag])
}

/// Three weights summing to 10,000.
fn three_weights() -> impl Strategy<Value = [u16; 3]> {
    (0u16..=10_000, 0u16..=10_000).prop_map(|(a, b)| {
        let (low, high) = (a.min(b), a.max(b));
        [low, high - low, 10_000 - high]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn split_assignment_is_sticky(id in ".{0,40}", weights in three_weights(), salt in "[a-z]{0,12}") {
        let ctx = Context::new().user_id(id);
        let snap = split(&salt, &weights);
        let first = snap.evaluate("f", &ctx);
        prop_assert!(first.variant.is_some());
        prop_assert_eq!(&snap.evaluate("f", &ctx), &first);
        // Compiled afresh (another instance, a restart): the same variant and bucket.
        prop_assert_eq!(split(&salt, &weights).evaluate("f", &ctx), first);
    }

    /// Moving weight between two neighbouring variants of a split moves users only between
    /// those two: every other variant keeps exactly its users.
    #[test]
    fn moving_weight_moves_users_only_between_the_two_variants(
        id in "[a-z0-9-]{1,24}",
        weights in three_weights(),
        from in 0usize..3,
        up in any::<bool>(),
        share in 0u16..=10_000,
    ) {
        let to = if up { (from + 1) % 3 } else { (from + 2) % 3 };
        // Neighbours in the listed order (0-1, 1-2); 0-2 are not neighbours.
        prop_assume!(from.abs_diff(to) == 1);
        let moved = (u32::from(weights[from]) * u32::from(share) / 10_000) as u16;
        let mut after = weights;
        after[from] -= moved;
        after[to] += moved;
        let ctx = Context::new().user_id(id);
        let before = split("s", &weights).variant("f", &ctx).unwrap();
        let now = split("s", &after).variant("f", &ctx).unwrap();
        let names = [format!("v{from}"), format!("v{to}")];
        if before != now {
            prop_assert!(names.iter().any(|n| **n == *before), "{} left {}", id_of(&ctx), before);
            prop_assert!(names.iter().any(|n| **n == *now), "{} joined {}", id_of(&ctx), now);
            // And only in the direction of the move.
            prop_assert_eq!(&*before, names[0].as_str());
        }
    }

    /// A boolean percentage answers exactly as it always did: on iff the bucket is below the
    /// basis points (0 is nobody, 100 everybody), whatever the flag's other new fields.
    #[test]
    fn percentage_flags_answer_as_before(id in ".{0,40}", bp in basis_points(), salt in "[a-z_]{1,12}") {
        let snap = rollout("f", &salt, f64::from(bp) / 100.0);
        let ctx = Context::new().user_id(id.clone());
        let expected = match bp {
            0 => false,
            10_000 => true,
            _ => flag_sdk::bucket(&salt, &id) < bp,
        };
        prop_assert_eq!(snap.is_enabled("f", &ctx), expected);
        prop_assert_eq!(snap.evaluate("f", &ctx).enabled, expected);
        let served = snap.variant("f", &ctx);
        prop_assert_eq!(served.as_deref(), Some(if expected { "on" } else { "off" }));
    }
}

fn id_of(ctx: &Context) -> String {
    match ctx.get("user_id") {
        Some(flag_sdk::Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}
