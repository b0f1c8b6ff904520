//! Typed flags: variants, splits, off variants and prerequisites through create, the edit
//! commands, get/list, plan, export/apply and explain.

use std::path::Path;

use serde_json::json;

use crate::helpers::Cli;

pub(crate) const ENV: [&str; 2] = ["--env", "production"];

pub(crate) fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_owned()
}

/// The flags of the issue's example: a boolean gate and a string flag behind it with a rule
/// that serves a variant and a rule that serves a split.
pub(crate) const TYPED: &str = r##"
flags:
- key: new_checkout
  enabled: true
  percentage: 100
  rules:
  - id: blocked
    conditions: [{attribute: country, operator: in, values: [XX]}]
    percentage: 0
- key: checkout_button
  enabled: true
  rules:
  - id: staff
    conditions: [{attribute: email, operator: ends_with, values: ["@EXAMPLE.com"], case_insensitive: true}]
    serve: {variant: green}
  - id: beta
    conditions: [{attribute: country, operator: in, values: [US], negate: true}]
    serve:
      split:
      - {variant: blue, weight: 5000}
      - {variant: green, weight: 5000}
  type: string
  variants:
  - {key: blue, value: "#0050ff"}
  - {key: green, value: "#00a050"}
  prerequisites:
  - {flag: new_checkout, variants: ["on"]}
  default_serve: {variant: blue}
  off_variant: blue
"##;

#[tokio::test]
async fn a_string_flag_is_created_with_a_split_edited_and_shown() {
    let cli = Cli::start().await;
    let created = cli
        .run(&[
            "flags",
            "create",
            "checkout_button",
            "--type",
            "string",
            "--variant",
            "blue=\"#0050ff\"",
            "--variant",
            "green=#00a050",
            "--split",
            "blue=50,green=50",
            "--off-variant",
            "blue",
            "--enabled",
            "-o",
            "json",
            ENV[0],
            ENV[1],
        ])
        .await;
    let flag = created.ok().json();
    assert_eq!(flag["type"], "string");
    assert_eq!(
        flag["variants"],
        json!([{"key": "blue", "value": "#0050ff"}, {"key": "green", "value": "#00a050"}])
    );
    assert_eq!(
        flag["default_serve"],
        json!({"split": [{"variant": "blue", "weight": 5000}, {"variant": "green", "weight": 5000}]})
    );
    assert_eq!(flag["off_variant"], "blue");
    assert!(flag.get("percentage").is_none(), "{flag}");

    // Shown: get and list, table and JSON.
    let got = cli
        .run(&["flags", "get", "checkout_button", ENV[0], ENV[1]])
        .await;
    let text = &got.ok().stdout;
    for want in [
        "type:        string",
        "default:     split blue 50% / green 50%",
        "off_variant: blue",
        "variants:\n  blue   \"#0050ff\"\n  green  \"#00a050\"",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
    let json_get = cli
        .run(&[
            "flags",
            "get",
            "checkout_button",
            "-o",
            "json",
            ENV[0],
            ENV[1],
        ])
        .await;
    assert_eq!(json_get.ok().json()["default_serve"], flag["default_serve"]);
    let list = cli.run(&["flags", "list", ENV[0], ENV[1]]).await;
    let line = list
        .ok()
        .stdout
        .lines()
        .find(|l| l.starts_with("checkout_button"))
        .unwrap()
        .to_owned();
    assert!(
        line.contains("string") && line.contains("split blue 50% / green 50%"),
        "{line}"
    );

    // Edits.
    let served = cli
        .run(&[
            "flags",
            "set-default",
            "checkout_button",
            "--variant",
            "green",
            ENV[0],
            ENV[1],
        ])
        .await;
    assert!(
        served
            .ok()
            .stdout
            .contains("string, serves variant green, off variant blue"),
        "{served:#?}"
    );
    let v = cli
        .run(&[
            "flags",
            "variants",
            "checkout_button",
            "--set",
            "blue=#0000ff",
            "--set",
            "red=\"#ff0000\"",
            "-o",
            "json",
            ENV[0],
            ENV[1],
        ])
        .await;
    assert_eq!(
        v.ok().json()["variants"],
        json!([{"key": "blue", "value": "#0000ff"}, {"key": "green", "value": "#00a050"},
               {"key": "red", "value": "#ff0000"}])
    );
    cli.run(&[
        "flags",
        "off-variant",
        "checkout_button",
        "red",
        ENV[0],
        ENV[1],
    ])
    .await
    .ok();
    cli.run(&[
        "flags",
        "serve",
        "checkout_button",
        "--split",
        "blue=20,green=80",
        ENV[0],
        ENV[1],
    ])
    .await
    .ok();
    cli.run(&[
        "flags",
        "variants",
        "checkout_button",
        "--remove",
        "red",
        ENV[0],
        ENV[1],
    ])
    .await
    .code(1);
    cli.run(&[
        "flags",
        "off-variant",
        "checkout_button",
        "--clear",
        ENV[0],
        ENV[1],
    ])
    .await
    .ok();
    cli.run(&[
        "flags",
        "variants",
        "checkout_button",
        "--remove",
        "red",
        ENV[0],
        ENV[1],
    ])
    .await
    .ok();
    cli.run(&["flags", "create", "gate", "--enabled", ENV[0], ENV[1]])
        .await
        .ok();
    cli.run(&[
        "flags",
        "prerequisites",
        "checkout_button",
        "--set",
        "gate=on",
        ENV[0],
        ENV[1],
    ])
    .await
    .ok();
    let now = cli.flag("production", "checkout_button").await;
    assert_eq!(
        now["default_serve"],
        json!({"split": [{"variant": "blue", "weight": 2000}, {"variant": "green", "weight": 8000}]})
    );
    assert_eq!(
        now["variants"],
        json!([{"key": "blue", "value": "#0000ff"}, {"key": "green", "value": "#00a050"}])
    );
    assert!(now.get("off_variant").is_none(), "{now}");
    assert_eq!(
        now["prerequisites"],
        json!([{"flag": "gate", "variants": ["on"]}])
    );
    let shown = cli
        .run(&["flags", "get", "checkout_button", ENV[0], ENV[1]])
        .await;
    assert!(
        shown.ok().stdout.contains("prerequisites:\n  gate is on"),
        "{shown:#?}"
    );

    // A number flag takes JSON values; a boolean flag a split of on and off.
    let n = cli
        .run(&[
            "flags",
            "create",
            "max_items",
            "--type",
            "number",
            "--variant",
            "few=5",
            "--variant",
            "many=50",
            "--default-serve",
            "few",
            "-o",
            "json",
            ENV[0],
            ENV[1],
        ])
        .await;
    assert_eq!(n.ok().json()["variants"][1]["value"], 50);
    let b = cli
        .run(&[
            "flags",
            "serve",
            "gate",
            "--split",
            "on=25,off=75",
            ENV[0],
            ENV[1],
        ])
        .await;
    assert!(
        b.ok()
            .stdout
            .contains("boolean, serves split on 25% / off 75%"),
        "{b:#?}"
    );
}

#[tokio::test]
async fn bad_typed_input_is_refused_and_nothing_is_written() {
    let cli = Cli::start().await;
    let base = [
        "flags",
        "create",
        "button",
        "--type",
        "string",
        "--variant",
        "blue=#00f",
        "--variant",
        "green=#0f0",
    ];
    let mut args = base.to_vec();
    args.extend(["--split", "blue=50,green=40", ENV[0], ENV[1]]);
    let run = cli.run(&args).await;
    run.code(1);
    assert!(run.stderr.contains("sums to 90%, not 100%"), "{run:#?}");

    let mut args = base.to_vec();
    args.extend(["--default-serve", "red", ENV[0], ENV[1]]);
    let run = cli.run(&args).await;
    run.code(1);
    assert!(
        run.stderr.contains("--default-serve red: unknown variant")
            && run.stderr.contains("blue, green"),
        "{run:#?}"
    );
    let mut args = base.to_vec();
    args.extend([ENV[0], ENV[1]]);
    let run = cli.run(&args).await;
    run.code(1);
    assert!(run.stderr.contains("needs --default-serve"), "{run:#?}");
    let run = cli
        .run(&[
            "flags",
            "create",
            "n",
            "--type",
            "number",
            "--variant",
            "a=five",
            "--default-serve",
            "a",
            ENV[0],
            ENV[1],
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("is JSON"), "{run:#?}");
    let listed = cli
        .run(&["flags", "list", "-o", "json", ENV[0], ENV[1]])
        .await;
    assert_eq!(listed.ok().json()["flags"], json!([]));

    // Edits of an existing flag: the server refuses an unknown variant, with its field path.
    let mut args = base.to_vec();
    args.extend(["--default-serve", "blue", ENV[0], ENV[1]]);
    cli.run(&args).await.ok();
    let before = cli.flag("production", "button").await;
    let run = cli
        .run(&[
            "flags",
            "serve",
            "button",
            "--variant",
            "red",
            ENV[0],
            ENV[1],
        ])
        .await;
    run.code(1);
    assert!(
        run.stderr.contains("default_serve") && run.stderr.contains("red"),
        "{run:#?}"
    );
    let run = cli
        .run(&[
            "flags",
            "serve",
            "button",
            "--split",
            "blue=60,green=60",
            ENV[0],
            ENV[1],
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("sums to 120%"), "{run:#?}");
    let run = cli
        .run(&[
            "flags", "variants", "button", "--remove", "nope", ENV[0], ENV[1],
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("no such variant"), "{run:#?}");
    let run = cli
        .run(&[
            "flags",
            "serve",
            "button",
            "--rule",
            "nope",
            "--variant",
            "blue",
            ENV[0],
            ENV[1],
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("no rule \"nope\""), "{run:#?}");
    assert_eq!(cli.flag("production", "button").await, before);
}

#[tokio::test]
async fn typed_flags_round_trip_and_plan_shows_split_changes() {
    let cli = Cli::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = path(dir.path(), "typed.yaml");
    std::fs::write(&src, TYPED).unwrap();
    cli.run(&["apply", "-f", &src, ENV[0], ENV[1]]).await.ok();

    // Export, apply to another environment: no drift, the same bytes.
    let first = path(dir.path(), "production.yaml");
    cli.run(&["export", "-f", &first, ENV[0], ENV[1]])
        .await
        .ok();
    let plan = cli.run(&["plan", "-f", &first, ENV[0], ENV[1]]).await;
    assert!(plan.ok().stdout.contains("no changes"), "{plan:#?}");
    cli.run(&["apply", "-f", &first, "--env", "development"])
        .await
        .ok();
    let second = path(dir.path(), "development.yaml");
    cli.run(&["export", "-f", &second, "--env", "development"])
        .await
        .ok();
    let text = std::fs::read_to_string(&first).unwrap();
    assert_eq!(text, std::fs::read_to_string(&second).unwrap());
    assert!(
        text.contains("type: string") && text.contains("weight: 5000"),
        "{text}"
    );
    let as_json = path(dir.path(), "production.json");
    cli.run(&["export", "-f", &as_json, ENV[0], ENV[1]])
        .await
        .ok();
    let plan = cli
        .run(&["plan", "-f", &as_json, "--env", "development"])
        .await;
    assert!(plan.ok().stdout.contains("no changes"), "{plan:#?}");

    // Edit the split, the default and a value: plan shows them readably, exit 2.
    let edited = text
        .replacen("weight: 5000", "weight: 2000", 1)
        .replacen("weight: 5000", "weight: 8000", 1)
        .replace(
            "default_serve:\n    variant: blue",
            "default_serve:\n    variant: green",
        )
        .replace("'#0050ff'", "'#0000ff'");
    assert_ne!(edited, text);
    std::fs::write(&first, &edited).unwrap();
    let plan = cli.run(&["plan", "-f", &first, ENV[0], ENV[1]]).await;
    plan.code(2);
    for want in [
        "~ checkout_button",
        "    rules.beta.serve: split blue 50% / green 50% -> split blue 20% / green 80%",
        "    default_serve: variant blue -> variant green",
        "    variants.blue.value: \"#0050ff\" -> \"#0000ff\"",
    ] {
        assert!(plan.stdout.contains(want), "{want:?} in {plan:#?}");
    }
    cli.run(&["apply", "-f", &first, ENV[0], ENV[1]]).await.ok();
    cli.run(&["plan", "-f", &first, ENV[0], ENV[1]]).await.ok();

    // A rule's serve changed from the command line is drift against the file.
    let served = cli
        .run(&[
            "flags",
            "serve",
            "checkout_button",
            "--rule",
            "beta",
            "--split",
            "blue=30,green=70",
            ENV[0],
            ENV[1],
        ])
        .await;
    assert!(
        served
            .ok()
            .stdout
            .contains("rule beta serves split blue 30% / green 70%"),
        "{served:#?}"
    );
    let plan = cli.run(&["plan", "-f", &first, ENV[0], ENV[1]]).await;
    assert!(
        plan.code(2).stdout.contains(
            "    rules.beta.serve: split blue 30% / green 70% -> split blue 20% / green 80%"
        ),
        "{plan:#?}"
    );
}
