//! Flags-as-code: export, plan and apply, and their round trip.

use std::path::Path;

use crate::helpers::Cli;

const SOURCE: &str = r#"
flags:
- key: new_checkout
  description: New checkout flow
  owner: team-payments
  tags: [checkout]
  enabled: true
  percentage: 5
  rules:
  - id: staff
    conditions:
    - {attribute: email, operator: ends_with, values: ["@example.com"]}
    percentage: 100
  - id: eu-canary
    conditions:
    - {attribute: country, operator: in, values: [DE, FR]}
    - {attribute: app_version, operator: semver_gte, values: ["2.3.0"]}
    percentage: 25
- key: dark_mode
  enabled: false
  percentage: 100
  stickiness: device_id
  salt: dm-2026
  expires_at: "2027-01-01T00:00:00Z"
- key: search_v2
  enabled: true
  percentage: 0.25
"#;

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_exported_file_reproduces_the_environment_and_plan_apply_follow_edits() {
    let cli = Cli::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = path(dir.path(), "source.yaml");
    std::fs::write(&src, SOURCE).unwrap();

    // Seed development from a hand-written file.
    let applied = cli
        .run(&[
            "apply",
            "-f",
            &src,
            "--env",
            "development",
            "--reason",
            "seed",
        ])
        .await;
    applied.ok();
    for key in ["+ dark_mode", "+ new_checkout", "+ search_v2"] {
        assert!(applied.stdout.contains(key), "{applied:#?}");
    }
    assert_eq!(
        cli.audit_reasons("development", "dark_mode").await,
        ["seed"]
    );

    // Export, apply to an empty environment: no drift, and the same export.
    let exported = path(dir.path(), "development.yaml");
    cli.run(&["export", "-f", &exported, "--env", "development"])
        .await
        .ok();
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(
        !text.contains(" version:") && !text.contains("updated_") && !text.contains("usage"),
        "{text}"
    );
    let order: Vec<usize> = ["key: dark_mode", "key: new_checkout", "key: search_v2"]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "not sorted by key: {text}"
    );

    cli.run(&["env", "create", "copy"]).await.ok();
    let plan = cli.run(&["plan", "-f", &exported, "--env", "copy"]).await;
    plan.code(2);
    assert!(plan.stdout.contains("+ new_checkout"), "{plan:#?}");
    cli.run(&["apply", "-f", &exported, "--env", "copy"])
        .await
        .ok();
    let plan = cli
        .run(&["plan", "-f", &exported, "--env", "copy", "--prune"])
        .await;
    plan.ok();
    assert!(plan.stdout.contains("no changes"), "{plan:#?}");
    let stdout_export = cli.run(&["export", "--env", "copy"]).await;
    assert_eq!(
        stdout_export.ok().stdout,
        text,
        "the copy exports differently"
    );

    // Edit the file: plan shows the field diff and exits 2; apply --check changes nothing.
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let flags = doc["flags"].as_sequence_mut().unwrap();
    let checkout = flags
        .iter_mut()
        .find(|f| f["key"] == "new_checkout")
        .unwrap();
    checkout["percentage"] = 30.into();
    std::fs::write(&exported, serde_yaml::to_string(&doc).unwrap()).unwrap();

    let plan = cli.run(&["plan", "-f", &exported, "--env", "copy"]).await;
    plan.code(2);
    assert!(plan.stdout.contains("~ new_checkout"), "{plan:#?}");
    assert!(plan.stdout.contains("percentage: 5 -> 30"), "{plan:#?}");
    assert!(!plan.stdout.contains("dark_mode"), "{plan:#?}");
    let check = cli
        .run(&["apply", "-f", &exported, "--env", "copy", "--check"])
        .await;
    check.code(2);
    assert_eq!(cli.flag("copy", "new_checkout").await["percentage"], 5);
    let as_json = cli
        .run(&["plan", "-f", &exported, "--env", "copy", "-o", "json"])
        .await;
    let plan_json = as_json.code(2).json();
    assert_eq!(plan_json["drift"], true);
    assert_eq!(plan_json["updated"][0]["key"], "new_checkout");

    let applied = cli
        .run(&[
            "apply", "-f", &exported, "--env", "copy", "--reason", "PR 12",
        ])
        .await;
    applied.ok();
    assert!(applied.stdout.contains("~ new_checkout"), "{applied:#?}");
    assert_eq!(cli.flag("copy", "new_checkout").await["percentage"], 30);
    assert_eq!(
        cli.audit_reasons("copy", "new_checkout")
            .await
            .last()
            .unwrap(),
        "PR 12"
    );
    cli.run(&["plan", "-f", &exported, "--env", "copy"])
        .await
        .ok();
    cli.run(&["apply", "-f", &exported, "--env", "copy", "--check"])
        .await
        .ok();

    // Prune: a flag removed from the file is deleted only with --prune.
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    doc["flags"]
        .as_sequence_mut()
        .unwrap()
        .retain(|f| f["key"] != "search_v2");
    std::fs::write(&exported, serde_yaml::to_string(&doc).unwrap()).unwrap();
    let kept = cli.run(&["plan", "-f", &exported, "--env", "copy"]).await;
    kept.ok();
    assert!(
        kept.stderr.contains("search_v2") && kept.stderr.contains("--prune"),
        "{kept:#?}"
    );
    let plan = cli
        .run(&["plan", "-f", &exported, "--env", "copy", "--prune"])
        .await;
    plan.code(2);
    assert!(plan.stdout.contains("- search_v2"), "{plan:#?}");
    cli.run(&["apply", "-f", &exported, "--env", "copy"])
        .await
        .ok();
    assert_eq!(
        cli.run(&["flags", "get", "search_v2", "--env", "copy"])
            .await
            .code,
        0
    );
    let pruned = cli
        .run(&["apply", "-f", &exported, "--env", "copy", "--prune"])
        .await;
    pruned.ok();
    assert!(pruned.stdout.contains("- search_v2"), "{pruned:#?}");
    cli.run(&["flags", "get", "search_v2", "--env", "copy"])
        .await
        .code(1);
    cli.run(&["plan", "-f", &exported, "--env", "copy", "--prune"])
        .await
        .ok();
}

#[tokio::test]
async fn json_documents_round_trip_too() {
    let cli = Cli::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = path(dir.path(), "source.yaml");
    std::fs::write(&src, SOURCE).unwrap();
    cli.run(&["apply", "-f", &src, "--env", "development"])
        .await
        .ok();

    let file = path(dir.path(), "flags.json");
    cli.run(&["export", "-f", &file, "--env", "development"])
        .await
        .ok();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let keys: Vec<&str> = doc["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["dark_mode", "new_checkout", "search_v2"]);
    assert_eq!(doc["flags"][2]["percentage"], 0.25);

    cli.run(&["apply", "-f", &file, "--env", "production"])
        .await
        .ok();
    let plan = cli
        .run(&[
            "plan",
            "-f",
            &file,
            "--env",
            "production",
            "--prune",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(plan.ok().json()["drift"], false);
    // Same flags in both environments, server fields aside.
    let a = cli.run(&["export", "--env", "development"]).await;
    let b = cli.run(&["export", "--env", "production"]).await;
    assert_eq!(a.ok().stdout, b.ok().stdout);
}

#[tokio::test]
async fn a_bad_document_is_rejected_with_field_paths_and_nothing_changes() {
    let cli = Cli::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = path(dir.path(), "bad.yaml");
    std::fs::write(
        &file,
        "flags:\n- key: ok\n- key: broken\n  percentage: 101\n",
    )
    .unwrap();
    let run = cli
        .run(&["apply", "-f", &file, "--env", "development"])
        .await;
    run.code(1);
    assert!(run.stderr.contains("flags[1].percentage"), "{run:#?}");
    cli.run(&["flags", "get", "ok", "--env", "development"])
        .await
        .code(1);

    std::fs::write(&file, "flags: [unclosed\n").unwrap();
    let run = cli
        .run(&["plan", "-f", &file, "--env", "development"])
        .await;
    run.code(1);
    assert!(
        run.stderr.contains("bad.yaml") && run.stderr.contains("YAML"),
        "{run:#?}"
    );

    let run = cli
        .run(&[
            "plan",
            "-f",
            &path(dir.path(), "missing.yaml"),
            "--env",
            "development",
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("missing.yaml"), "{run:#?}");
}
