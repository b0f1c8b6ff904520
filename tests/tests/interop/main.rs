//! Interoperability with OpenFeature SDKs nobody here wrote (issue 11, point 3): the Python
//! SDK with its OFREP provider and the JavaScript server SDK with its OFREP provider evaluate
//! boolean, string, number and object flags with targeting rules and splits against a real
//! server, and for every case of a table their value, variant and reason equal what the Rust
//! SDK computes locally from the same snapshot.
//!
//! `.ci/interop.sh` installs the clients (a virtual environment under `target/`, `npm ci` in
//! `tests/interop/js`) and runs this with `FLAG_INTEROP_REQUIRED=1`. Without the clients (a
//! plain `cargo test`) the test says so and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use flag_sdk::{Context, Flag, ReasonKind, Serve, Snapshot, Value as Attr};
use flag_tests::app::{StoreChoice, TestApp};
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn flags() -> Vec<Value> {
    let country = |id: &str, c: &str, serve: Value| json!({"id": id, "conditions": [{"attribute": "country", "operator": "in", "values": [c]}], "serve": serve});
    let split = |a: &str, b: &str| json!({"split": [{"variant": a, "weight": 5000}, {"variant": b, "weight": 5000}]});
    vec![
        json!({"key": "bool_rollout", "enabled": true, "percentage": 50,
               "rules": [{"id": "staff", "conditions": [{"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}], "percentage": 100},
                         {"id": "eu", "conditions": [{"attribute": "country", "operator": "in", "values": ["DE", "FR"]}], "percentage": 30}]}),
        json!({"key": "bool_static", "enabled": true, "percentage": 100}),
        json!({"key": "bool_off", "enabled": false, "percentage": 100}),
        json!({"key": "color", "type": "string", "enabled": true,
               "variants": [{"key": "blue", "value": "#0050ff"}, {"key": "green", "value": "#00a050"}],
               "rules": [country("de", "DE", json!({"variant": "green"}))],
               "default_serve": split("blue", "green")}),
        json!({"key": "limit", "type": "number", "enabled": true,
               "variants": [{"key": "small", "value": 10}, {"key": "large", "value": 100}],
               "rules": [{"id": "pro", "conditions": [{"attribute": "plan", "operator": "in", "values": ["pro"]}], "serve": {"variant": "large"}}],
               "default_serve": {"variant": "small"}}),
        json!({"key": "ratio", "type": "number", "enabled": true,
               "variants": [{"key": "low", "value": 0.25}, {"key": "high", "value": 0.75}],
               "default_serve": split("low", "high")}),
        json!({"key": "config", "type": "json", "enabled": true,
               "variants": [{"key": "v1", "value": {"items": 20, "theme": "light"}}, {"key": "v2", "value": {"items": 50, "tags": ["a", "b"]}}],
               "rules": [country("fr", "FR", split("v1", "v2"))],
               "default_serve": {"variant": "v1"}}),
        json!({"key": "config_off", "type": "json", "enabled": false,
               "variants": [{"key": "on", "value": {"x": 1}}, {"key": "safe", "value": {"x": 0}}],
               "default_serve": {"variant": "on"}, "off_variant": "safe"}),
    ]
}

fn contexts() -> Vec<Value> {
    let mut out = vec![
        json!({}),
        json!({"country": "DE"}),
        json!({"targetingKey": "staff-1", "email": "ana@example.com"}),
        json!({"targetingKey": "user-1", "country": "FR", "plan": "pro"}),
        json!({"targetingKey": "user-2", "country": "US", "plan": "free", "beta": true, "age": 41}),
    ];
    for i in 0..12 {
        let country = ["DE", "FR", "US"][i % 3];
        out.push(json!({"targetingKey": format!("u{i}"), "country": country}));
    }
    out
}

/// (flag, OpenFeature type, default)
fn kinds() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("bool_rollout", "boolean", json!(false)),
        ("bool_static", "boolean", json!(false)),
        ("bool_off", "boolean", json!(true)),
        ("color", "string", json!("default")),
        ("limit", "integer", json!(1)),
        ("ratio", "float", json!(0.5)),
        ("config", "object", json!({"default": true})),
        ("config_off", "object", json!({"default": true})),
    ]
}

/// What the Rust SDK says, in OpenFeature's terms (the mapping of contract section 4, OFREP).
fn expected(snap: &Snapshot, key: &str, ctx: &Value) -> Value {
    let flag = snap.flag(key).expect("flag");
    let mut context = Context::new();
    let mut targeting_key = None;
    for (name, v) in ctx.as_object().expect("object") {
        match (name.as_str(), v) {
            ("targetingKey", Value::String(s)) => targeting_key = Some(s.clone()),
            (_, Value::String(s)) => context.insert(name.clone(), Attr::String(s.clone())),
            (_, Value::Bool(b)) => context.insert(name.clone(), Attr::Bool(*b)),
            (_, Value::Number(n)) => {
                context.insert(name.clone(), Attr::Number(n.as_f64().unwrap()))
            }
            _ => panic!("unexpected attribute {name}"),
        }
    }
    if let Some(tk) = targeting_key {
        context.insert(flag.stickiness.clone(), Attr::String(tk));
    }
    let e = snap.evaluate(key, &context);
    let is_static = flag.rules.is_empty()
        && flag.prerequisites.is_empty()
        && match &flag.default_serve {
            None => matches!(flag.percentage.basis_points(), 0 | 10_000..),
            Some(Serve::Variant(_)) => true,
            Some(Serve::Split(p)) => p.iter().filter(|p| p.weight > 0).count() <= 1,
        };
    let reason = match e.reason.kind {
        ReasonKind::Off => "DISABLED",
        ReasonKind::Split => "SPLIT",
        _ if e.reason.bucket.is_some() => "SPLIT",
        ReasonKind::Rule | ReasonKind::PrerequisiteFailed => "TARGETING_MATCH",
        ReasonKind::Default if is_static => "STATIC",
        ReasonKind::Default => "DEFAULT",
        other => panic!("unexpected reason {other:?}"),
    };
    let (value, variant) = if flag.flag_type.is_boolean() {
        (
            json!(e.enabled),
            json!(if e.enabled { "on" } else { "off" }),
        )
    } else {
        (
            e.value.as_deref().cloned().expect("a value"),
            json!(e.variant.as_deref().expect("a variant")),
        )
    };
    json!({"value": value, "variant": variant, "reason": reason, "error": null})
}

fn run(cmd: &mut Command) -> Vec<Value> {
    let out = cmd.output().expect("the client starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("the client prints a JSON array")
}

/// Numbers compare as numbers (Python and JavaScript may print 10 as 10 or 10.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_javascript_clients_agree_with_the_rust_sdk() {
    let root = root();
    let python = std::env::var_os("FLAG_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/interop-venv/bin/python"));
    let js = root.join("tests/interop/js");
    let have = python.exists() && js.join("node_modules/@openfeature/ofrep-provider").exists();
    if !have {
        assert!(
            std::env::var_os("FLAG_INTEROP_REQUIRED").is_none(),
            "the interop clients are not installed (run .ci/interop.sh)"
        );
        eprintln!("interop clients not installed: skipped (run .ci/interop.sh)");
        return;
    }

    let app = TestApp::spawn(StoreChoice::Embedded).await;
    for f in flags() {
        app.create_flag("production", &f).await;
    }
    let key = app.sdk_key("production").await;
    let body: Value = app.sdk_flags(&key).await.json().await.expect("snapshot");
    let parsed: Vec<Flag> = body["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| Flag::from_value(f.clone()).expect("a flag"))
        .collect();
    let snap = Snapshot::compile("production", body["version"].as_u64().unwrap(), parsed);

    let mut cases = Vec::new();
    let mut want = Vec::new();
    for ctx in contexts() {
        for (flag, kind, default) in kinds() {
            want.push(expected(&snap, flag, &ctx));
            cases.push(json!({"flag": flag, "type": kind, "default": default, "context": ctx}));
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cases.json");
    std::fs::write(&path, serde_json::to_vec(&cases).unwrap()).unwrap();
    let base = app.url("");
    let base = base.trim_end_matches('/').to_owned();

    let clients = [
        (
            "python",
            run(Command::new(&python)
                .arg(root.join("tests/interop/python/interop.py"))
                .args([&base, &key])
                .arg(&path)),
        ),
        (
            "javascript",
            run(Command::new("node")
                .current_dir(&js)
                .arg("interop.mjs")
                .args([&base, &key])
                .arg(&path)),
        ),
    ];
    let mut reasons = std::collections::BTreeSet::new();
    for (name, got) in &clients {
        assert_eq!(got.len(), want.len(), "{name}: one answer per case");
        for ((case, want), got) in cases.iter().zip(&want).zip(got) {
            assert!(same(want, got), "{name}: {case}\n want {want}\n  got {got}");
            reasons.insert(want["reason"].as_str().unwrap().to_owned());
        }
    }
    // The table exercises every reason a client can see.
    for r in ["DISABLED", "SPLIT", "TARGETING_MATCH", "STATIC", "DEFAULT"] {
        assert!(reasons.contains(r), "no case answers {r}");
    }
    eprintln!(
        "interop: {} cases x 2 clients agree with the Rust SDK",
        cases.len()
    );
}
