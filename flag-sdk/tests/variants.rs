//! Typed flags: variants, what rules and the default serve, off variants, prerequisites,
//! segments, and the richer conditions (negate, case_insensitive, eq).

use flag_sdk::{Context, Flag, FlagSpec, ReasonKind, Segment, Snapshot};
use serde_json::{json, Value};

fn flag(doc: Value) -> Flag {
    Flag::from_value(doc).unwrap()
}

fn errors(doc: Value) -> Vec<(String, String)> {
    Flag::from_value(doc)
        .unwrap_err()
        .iter()
        .map(|e| (e.field.clone(), e.message.clone()))
        .collect()
}

fn fields(doc: Value) -> Vec<String> {
    errors(doc).into_iter().map(|(f, _)| f).collect()
}

/// The issue's example flag, with its segment and prerequisite.
fn checkout() -> Snapshot {
    Snapshot::compile_with_segments("production", 1, checkout_flags(), [beta_testers()])
}

fn checkout_flags() -> Vec<Flag> {
    let button = flag(json!({
        "key": "checkout_button", "type": "string", "enabled": true,
        "variants": [{"key": "blue", "value": "#0050ff"}, {"key": "green", "value": "#00a050"}],
        "prerequisites": [{"flag": "new_checkout", "variants": ["on"]}],
        "rules": [
            {"id": "staff", "conditions": [{"attribute": "email", "operator": "ends_with",
                "values": ["@EXAMPLE.com"], "case_insensitive": true}],
             "serve": {"variant": "green"}},
            {"id": "beta", "conditions": [
                {"attribute": "user_id", "operator": "in_segment", "values": ["beta-testers"]},
                {"attribute": "country", "operator": "in", "values": ["US"], "negate": true}],
             "serve": {"split": [{"variant": "blue", "weight": 5000}, {"variant": "green", "weight": 5000}]}}],
        "default_serve": {"variant": "blue"},
        "off_variant": "blue",
        "stickiness": "user_id", "salt": "checkout_button",
    }));
    let gate = flag(json!({"key": "new_checkout", "enabled": true, "rules": [
        {"id": "blocked", "percentage": 0, "conditions": [
            {"attribute": "country", "operator": "in", "values": ["XX"]}]}]}));
    vec![button, gate]
}

fn beta_testers() -> Segment {
    Segment::from_value(json!({
        "key": "beta-testers", "included": ["u1", "u2"], "excluded": ["u3"],
        "conditions": [{"attribute": "plan", "operator": "in", "values": ["beta"]}],
    }))
    .unwrap()
}

#[test]
fn the_issue_example_serves_variants_with_reasons() {
    let snap = checkout();
    // Staff, case-insensitively.
    let staff = snap.evaluate(
        "checkout_button",
        &Context::new().user_id("s").set("email", "ann@example.COM"),
    );
    assert_eq!(
        serde_json::to_value(&staff).unwrap(),
        json!({"enabled": true, "variant": "green", "value": "#00a050",
               "reason": {"kind": "rule", "rule": "staff"}})
    );
    // A beta tester outside the US: the split decides, by bucket.
    let ctx = Context::new().user_id("u1").set("country", "DE");
    let beta = snap.evaluate("checkout_button", &ctx);
    let bucket = flag_sdk::bucket("checkout_button", "u1");
    assert_eq!(beta.reason.kind, ReasonKind::Split);
    assert_eq!(beta.reason.rule.as_deref(), Some("beta"));
    assert_eq!(beta.reason.bucket, Some(bucket));
    let expected = if bucket < 5000 { "blue" } else { "green" };
    assert_eq!(beta.variant.as_deref(), Some(expected));
    assert_eq!(
        &*snap.string_value("checkout_button", &ctx, "x"),
        if expected == "blue" {
            "#0050ff"
        } else {
            "#00a050"
        }
    );
    // In the US the negated condition fails: the default.
    let us = snap.evaluate(
        "checkout_button",
        &Context::new().user_id("u1").set("country", "US"),
    );
    assert_eq!(us.reason.kind, ReasonKind::Default);
    assert_eq!(us.variant.as_deref(), Some("blue"));
    // The prerequisite fails for country XX: the off variant, still enabled (typed flag).
    let blocked = snap.evaluate(
        "checkout_button",
        &Context::new().user_id("u1").set("country", "XX"),
    );
    assert_eq!(blocked.reason.kind, ReasonKind::PrerequisiteFailed);
    assert!(blocked.enabled);
    assert_eq!(blocked.variant.as_deref(), Some("blue"));
}

#[test]
fn segment_membership_follows_included_excluded_then_conditions() {
    let snap = checkout();
    let in_beta = |ctx: &Context| {
        snap.evaluate("checkout_button", &ctx.clone().set("country", "DE"))
            .reason
            .rule
            .as_deref()
            == Some("beta")
    };
    assert!(in_beta(&Context::new().user_id("u2")), "included");
    assert!(
        !in_beta(&Context::new().user_id("u3").set("plan", "beta")),
        "excluded beats conditions"
    );
    assert!(
        in_beta(&Context::new().user_id("u9").set("plan", "beta")),
        "by its conditions"
    );
    assert!(!in_beta(&Context::new().user_id("u9").set("plan", "free")));
    // Without the attribute, the conditions may still admit the context.
    let no_id = snap.evaluate(
        "checkout_button",
        &Context::new().set("plan", "beta").set("country", "DE"),
    );
    assert_eq!(no_id.reason.rule.as_deref(), Some("beta"));
    // A split without the stickiness value serves its first variant, unhashed.
    assert_eq!(no_id.variant.as_deref(), Some("blue"));
    assert_eq!(no_id.reason.bucket, None);
    // A segment that changes changes the answer; one that is gone admits nobody.
    let wider = Segment::from_value(json!({"key": "beta-testers", "included": ["u9"]})).unwrap();
    let snap2 = snap.with_segment_put(wider, 2);
    assert_eq!(
        snap2
            .evaluate(
                "checkout_button",
                &Context::new().user_id("u9").set("country", "DE")
            )
            .reason
            .rule
            .as_deref(),
        Some("beta")
    );
    let snap3 = snap2.with_segment_delete("beta-testers", 3);
    assert!(snap3.segment("beta-testers").is_none());
    assert_eq!(
        snap3
            .evaluate(
                "checkout_button",
                &Context::new().user_id("u9").set("country", "DE")
            )
            .reason
            .kind,
        ReasonKind::Default
    );
}

#[test]
fn a_disabled_typed_flag_serves_its_off_variant_or_nothing() {
    let doc = json!({"key": "limit", "type": "number", "enabled": false,
        "variants": [{"key": "low", "value": 10}, {"key": "high", "value": 100}],
        "default_serve": {"variant": "high"}, "off_variant": "low"});
    let snap = Snapshot::compile("t", 1, [flag(doc.clone())]);
    let e = snap.evaluate("limit", &Context::new());
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"enabled": false, "variant": "low", "value": 10, "reason": {"kind": "off"}})
    );
    assert_eq!(snap.number_value("limit", &Context::new(), 1.0), 10.0);
    let mut no_off = doc;
    no_off.as_object_mut().unwrap().remove("off_variant");
    let snap = Snapshot::compile("t", 1, [flag(no_off)]);
    let e = snap.evaluate("limit", &Context::new());
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"enabled": false, "reason": {"kind": "off"}})
    );
    assert_eq!(snap.number_value("limit", &Context::new(), 1.0), 1.0);
    assert_eq!(snap.variant("limit", &Context::new()), None);
}

#[test]
fn typed_getters_answer_the_default_for_another_type() {
    let snap = Snapshot::compile(
        "t",
        1,
        [
            flag(json!({"key": "s", "type": "string", "enabled": true,
            "variants": [{"key": "a", "value": "text"}], "default_serve": {"variant": "a"}})),
            flag(json!({"key": "j", "type": "json", "enabled": true,
            "variants": [{"key": "a", "value": {"limits": [1, 2]}}], "default_serve": {"variant": "a"}})),
            Flag::on("b").unwrap(),
        ],
    );
    let ctx = Context::new();
    assert_eq!(&*snap.string_value("s", &ctx, "d"), "text");
    assert_eq!(snap.number_value("s", &ctx, 7.0), 7.0);
    assert_eq!(&*snap.string_value("j", &ctx, "d"), "d");
    assert_eq!(
        snap.json_value("j", &ctx, Value::Null),
        json!({"limits": [1, 2]})
    );
    assert_eq!(snap.json_value("b", &ctx, Value::Null), json!(true));
    assert_eq!(snap.variant("b", &ctx).as_deref(), Some("on"));
    assert_eq!(
        snap.evaluate_as("s", &ctx, flag_sdk::FlagType::Number)
            .reason
            .kind,
        ReasonKind::Error
    );
    assert_eq!(
        snap.evaluate_as("s", &ctx, flag_sdk::FlagType::String)
            .variant
            .as_deref(),
        Some("a")
    );
    // is_enabled of a typed flag: enabled (not whether it serves "on").
    assert!(snap.is_enabled("s", &ctx));
}

#[test]
fn boolean_flags_may_serve_on_and_off_and_keep_their_json() {
    let old = json!({"key": "b", "description": "", "enabled": true, "rules": [
        {"id": "r", "conditions": [], "percentage": 30}], "percentage": 5,
        "stickiness": "user_id", "salt": "b", "tags": [], "owner": null, "expires_at": null});
    let spec = FlagSpec::from_value(old.clone()).unwrap();
    assert_eq!(
        spec.to_value(),
        old,
        "a flag written before variants keeps its exact JSON"
    );
    let split = flag(json!({"key": "b", "enabled": true,
        "default_serve": {"split": [{"variant": "on", "weight": 2500}, {"variant": "off", "weight": 7500}]}}));
    let pct = Flag::rollout("b", 25.0).unwrap();
    let (a, b) = (
        Snapshot::compile("t", 1, [split]),
        Snapshot::compile("t", 1, [pct]),
    );
    for i in 0..500 {
        let ctx = Context::new().user_id(format!("user-{i}"));
        assert_eq!(a.is_enabled("b", &ctx), b.is_enabled("b", &ctx), "user-{i}");
        assert_eq!(a.variant("b", &ctx), b.variant("b", &ctx));
    }
}

#[test]
fn invalid_typed_flags_are_refused_with_field_paths() {
    let base = |extra: Value| {
        let mut doc = json!({"key": "f", "type": "string",
            "variants": [{"key": "a", "value": "x"}, {"key": "b", "value": "y"}],
            "default_serve": {"variant": "a"}});
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        doc
    };
    assert_eq!(
        fields(base(json!({"variants": [{"key": "a", "value": 3}]}))),
        ["variants[0].value"]
    );
    assert_eq!(
        fields(base(
            json!({"variants": [{"key": "a", "value": "x"}, {"key": "a", "value": "y"}]})
        )),
        ["variants[1].key"]
    );
    assert_eq!(
        fields(base(json!({"default_serve": {"variant": "c"}}))),
        ["default_serve.variant"]
    );
    assert_eq!(
        fields(base(json!({"default_serve": {"split": [
        {"variant": "a", "weight": 5000}, {"variant": "b", "weight": 4000}]}}))),
        ["default_serve.split"]
    );
    assert_eq!(fields(base(json!({"percentage": 50}))), ["default_serve"]);
    assert_eq!(fields(base(json!({"off_variant": "zz"}))), ["off_variant"]);
    assert_eq!(
        fields(base(json!({"rules": [{"id": "r", "percentage": 20}]}))),
        ["rules[0].serve"]
    );
    assert_eq!(
        fields(base(
            json!({"rules": [{"id": "r", "serve": {"variant": "a", "split": []}}]})
        )),
        ["rules[0].serve"]
    );
    assert_eq!(
        fields(json!({"key": "f", "type": "string", "default_serve": {"variant": "a"}})),
        ["variants", "default_serve.variant"]
    );
    assert_eq!(
        fields(json!({"key": "f", "variants": [{"key": "a", "value": true}]})),
        ["variants"]
    );
    assert_eq!(
        fields(json!({"key": "f", "off_variant": "on"})),
        ["off_variant"]
    );
    assert_eq!(
        fields(json!({"key": "f", "prerequisites": [{"flag": "f", "variants": ["on"]}]})),
        ["prerequisites[0].flag"]
    );
    assert_eq!(
        fields(json!({"key": "f", "prerequisites": [{"flag": "g", "variants": []}]})),
        ["prerequisites[0].variants"]
    );
    assert_eq!(fields(json!({"key": "f", "type": "text"})), ["type"]);
    // Condition options.
    let cond = |c: Value| json!({"key": "f", "rules": [{"id": "r", "conditions": [c]}]});
    assert_eq!(
        fields(cond(
            json!({"attribute": "n", "operator": "gt", "values": [1], "case_insensitive": true})
        )),
        ["rules[0].conditions[0].case_insensitive"]
    );
    assert_eq!(
        fields(cond(
            json!({"attribute": "n", "operator": "eq", "values": ["one"]})
        )),
        ["rules[0].conditions[0].values[0]"]
    );
    assert_eq!(
        fields(cond(
            json!({"attribute": "n", "operator": "in_segment", "values": ["-bad"]})
        )),
        ["rules[0].conditions[0].values[0]"]
    );
    let (_, message) = &errors(base(json!({"default_serve": {"variant": "c"}})))[0];
    assert!(message.contains("a, b"), "{message}");
}

#[test]
fn references_are_checked_against_the_environment() {
    let a = FlagSpec::from_value(json!({"key": "a", "prerequisites": [{"flag": "b", "variants": ["on", "blue"]}],
        "rules": [{"id": "r", "conditions": [{"attribute": "user_id", "operator": "in_segment", "values": ["s1", "s2"]}]}]})).unwrap();
    let b = FlagSpec::from_value(json!({"key": "b"})).unwrap();
    let flags = [&a, &b];
    let find = |k: &str| flags.iter().copied().find(|f| f.key.as_str() == k);
    let errors = flag_sdk::check_references(&a, &find, &|s| s == "s1");
    let paths: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        paths,
        [
            "rules[0].conditions[0].values[1]",
            "prerequisites[0].variants[1]"
        ]
    );
    // A chain deeper than 8 is refused; 8 is allowed.
    let chain: Vec<FlagSpec> = (0..10)
        .map(|i| {
            let mut doc = json!({"key": format!("c{i}")});
            if i < 9 {
                doc["prerequisites"] = json!([{"flag": format!("c{}", i + 1), "variants": ["on"]}]);
            }
            FlagSpec::from_value(doc).unwrap()
        })
        .collect();
    let find = |k: &str| chain.iter().find(|f| f.key.as_str() == k);
    assert!(flag_sdk::check_references(&chain[1], &find, &|_| true).is_empty());
    let deep = flag_sdk::check_references(&chain[0], &find, &|_| true);
    assert!(
        deep.iter()
            .next()
            .unwrap()
            .message
            .contains("deeper than 8"),
        "{deep:?}"
    );
}

/// Cases of Unleash's client specification that could not be expressed before: negated
/// constraints, case-insensitive matching, numeric equality, segments.
#[test]
fn unleash_style_cases_are_expressible() {
    let gate = |c: Value, ctx: Context| {
        let f = flag(json!({"key": "f", "enabled": true, "percentage": 0,
            "rules": [{"id": "r", "percentage": 100, "conditions": [c]}]}));
        Snapshot::compile("t", 1, [f]).is_enabled("f", &ctx)
    };
    let c = |attr: &str, v: &str| Context::new().set(attr, v);
    // Negation (Unleash `inverted: true`), including a missing attribute.
    assert!(gate(
        json!({"attribute": "env", "operator": "in", "values": ["prod"], "negate": true}),
        c("env", "dev")
    ));
    assert!(!gate(
        json!({"attribute": "env", "operator": "in", "values": ["prod"], "negate": true}),
        c("env", "prod")
    ));
    assert!(gate(
        json!({"attribute": "env", "operator": "in", "values": ["prod"], "negate": true}),
        Context::new()
    ));
    assert!(!gate(
        json!({"attribute": "email", "operator": "ends_with", "values": ["@a.com"], "negate": true}),
        c("email", "x@a.com")
    ));
    assert!(gate(
        json!({"attribute": "v", "operator": "semver_gt", "values": ["2.0.0"], "negate": true}),
        c("v", "1.9.0")
    ));
    // Case-insensitive string operators and sets.
    assert!(gate(
        json!({"attribute": "email", "operator": "ends_with", "values": ["@Example.COM"], "case_insensitive": true}),
        c("email", "ann@example.com")
    ));
    assert!(!gate(
        json!({"attribute": "email", "operator": "ends_with", "values": ["@Example.COM"]}),
        c("email", "ann@example.com")
    ));
    assert!(gate(
        json!({"attribute": "name", "operator": "starts_with", "values": ["ÄB"], "case_insensitive": true}),
        c("name", "äbc")
    ));
    assert!(gate(
        json!({"attribute": "name", "operator": "contains", "values": ["MID"], "case_insensitive": true}),
        c("name", "a-mid-b")
    ));
    assert!(gate(
        json!({"attribute": "country", "operator": "in", "values": ["de", "fr"], "case_insensitive": true}),
        c("country", "DE")
    ));
    assert!(!gate(
        json!({"attribute": "country", "operator": "not_in", "values": ["de"], "case_insensitive": true}),
        c("country", "De")
    ));
    assert!(gate(
        json!({"attribute": "tags", "operator": "in", "values": ["BETA"], "case_insensitive": true}),
        Context::new().set("tags", vec!["alpha", "beta"])
    ));
    // Numeric equality, of numbers and of numeric text.
    assert!(gate(
        json!({"attribute": "n", "operator": "eq", "values": [5]}),
        Context::new().set("n", 5)
    ));
    assert!(gate(
        json!({"attribute": "n", "operator": "eq", "values": ["5.0"]}),
        c("n", "5")
    ));
    assert!(!gate(
        json!({"attribute": "n", "operator": "eq", "values": [5]}),
        Context::new().set("n", 5.1)
    ));
    assert!(gate(
        json!({"attribute": "n", "operator": "eq", "values": [5], "negate": true}),
        Context::new().set("n", 6)
    ));
    // Segments: not_in_segment, and a segment of numbers matched by a number attribute.
    let seg = Segment::from_value(json!({"key": "vip", "included": ["7", "1.5"]})).unwrap();
    let f = flag(
        json!({"key": "f", "enabled": true, "percentage": 0, "rules": [{"id": "r", "percentage": 100,
        "conditions": [{"attribute": "account", "operator": "not_in_segment", "values": ["vip"]}]}]}),
    );
    let snap = Snapshot::compile_with_segments("t", 1, [f], [seg]);
    assert!(!snap.is_enabled("f", &Context::new().set("account", 7)));
    assert!(!snap.is_enabled("f", &Context::new().set("account", 1.5)));
    assert!(snap.is_enabled("f", &Context::new().set("account", 8)));
    assert!(
        snap.is_enabled("f", &Context::new()),
        "no attribute, no conditions: not in the segment"
    );
}

#[test]
fn prerequisites_chain_and_fail_closed() {
    let snap = Snapshot::compile(
        "t",
        1,
        [
            flag(
                json!({"key": "a", "enabled": true, "prerequisites": [{"flag": "b", "variants": ["on"]}]}),
            ),
            flag(
                json!({"key": "b", "enabled": true, "prerequisites": [{"flag": "c", "variants": ["big"]}]}),
            ),
            flag(json!({"key": "c", "type": "string", "enabled": true,
            "variants": [{"key": "big", "value": "B"}, {"key": "small", "value": "S"}],
            "rules": [{"id": "smalls", "conditions": [{"attribute": "size", "operator": "in", "values": ["s"]}],
                       "serve": {"variant": "small"}}],
            "default_serve": {"variant": "big"}})),
            flag(
                json!({"key": "orphan", "enabled": true, "prerequisites": [{"flag": "gone", "variants": ["on"]}]}),
            ),
        ],
    );
    assert!(snap.is_enabled("a", &Context::new()));
    let small = Context::new().set("size", "s");
    assert!(!snap.is_enabled("a", &small));
    assert_eq!(
        snap.evaluate("a", &small).reason.kind,
        ReasonKind::PrerequisiteFailed
    );
    assert_eq!(
        snap.evaluate("orphan", &Context::new()).reason.kind,
        ReasonKind::PrerequisiteFailed
    );
    // On its own, a flag cannot find its prerequisites: it fails closed.
    assert!(!snap.get("a").unwrap().is_enabled(&Context::new()));
}

/// The hot path (`is_enabled`, with its shortcut for flags that cannot depend on the context)
/// agrees with `evaluate` for every kind of flag.
#[test]
fn is_enabled_agrees_with_evaluate() {
    let mut flags: Vec<Flag> = checkout_flags();
    flags.extend([
        Flag::on("on").unwrap(),
        Flag::off("off").unwrap(),
        Flag::rollout("zero", 0.0).unwrap(),
        Flag::rollout("half", 50.0).unwrap(),
        flag(json!({"key": "serves_on", "enabled": true, "default_serve": {"variant": "on"}})),
        flag(json!({"key": "serves_off", "enabled": true, "default_serve": {"variant": "off"}})),
        flag(json!({"key": "bool_split", "enabled": true, "default_serve": {"split": [
            {"variant": "off", "weight": 3000}, {"variant": "on", "weight": 7000}]}})),
        flag(json!({"key": "gated", "enabled": true, "prerequisites": [{"flag": "half", "variants": ["on"]}]})),
        flag(json!({"key": "ruled", "enabled": true, "percentage": 0, "rules": [{"id": "de",
            "conditions": [{"attribute": "country", "operator": "in", "values": ["DE"]}],
            "serve": {"split": [{"variant": "on", "weight": 5000}, {"variant": "off", "weight": 5000}]}}]})),
    ]);
    let keys: Vec<String> = flags.iter().map(|f| f.key.to_string()).collect();
    let snap = Snapshot::compile_with_segments("t", 1, flags, [beta_testers()]);
    for i in 0..300 {
        let mut ctx = Context::new().set("country", if i % 3 == 0 { "DE" } else { "US" });
        if i % 7 != 0 {
            ctx = ctx.user_id(format!("u{i}"));
        }
        for key in &keys {
            assert_eq!(
                snap.is_enabled(key, &ctx),
                snap.evaluate(key, &ctx).enabled,
                "{key} for context {i}"
            );
            assert_eq!(
                snap.get(key).unwrap().is_enabled(&ctx),
                snap.get(key).unwrap().evaluate(&ctx).enabled,
                "{key} on its own for context {i}"
            );
        }
    }
}

/// Nine layers of twenty flags, each requiring all twenty of the next layer: 20^8 paths, but
/// each flag is looked at once per depth, so the check is immediate.
#[test]
fn a_wide_prerequisite_graph_is_checked_without_walking_every_path() {
    let layers = 9;
    let width = 20;
    let specs: Vec<FlagSpec> = (0..layers)
        .flat_map(|l| (0..width).map(move |w| (l, w)))
        .map(|(l, w)| {
            let mut doc = json!({"key": format!("l{l}w{w}")});
            if l + 1 < layers {
                doc["prerequisites"] = json!((0..width)
                    .map(|n| json!({"flag": format!("l{}w{n}", l + 1), "variants": ["on"]}))
                    .collect::<Vec<_>>());
            }
            FlagSpec::from_value(doc).unwrap()
        })
        .collect();
    let find = |k: &str| specs.iter().find(|f| f.key.as_str() == k);
    let top = FlagSpec::from_value(json!({"key": "top",
        "prerequisites": [{"flag": "l0w0", "variants": ["on"]}]}))
    .unwrap();
    let errors = flag_sdk::check_references(&top, &find, &|_| true);
    let deep = errors.iter().next().expect("a chain of 9 is too deep");
    assert!(deep.message.contains("deeper than 8"), "{deep:?}");
    assert!(flag_sdk::check_references(&specs[0], &find, &|_| true).is_empty());
}
