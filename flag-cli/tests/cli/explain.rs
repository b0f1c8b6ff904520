//! explain: local evaluation with the shared evaluator, the same answer as the server's.

use serde_json::json;

use crate::helpers::Cli;

const FLAGS: &str = r#"
flags:
- key: geo
  enabled: true
  percentage: 0
  rules:
  - id: de
    conditions: [{attribute: country, operator: in, values: [DE]}]
    percentage: 100
  - id: adults
    conditions: [{attribute: age, operator: gte, values: [18]}]
    percentage: 100
- key: half
  enabled: true
  percentage: 50
- key: killed
  enabled: false
"#;

async fn seeded() -> Cli {
    let cli = Cli::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.yaml");
    std::fs::write(&file, FLAGS).unwrap();
    cli.run(&["apply", "-f", file.to_str().unwrap(), "--env", "production"])
        .await
        .ok();
    cli
}

#[tokio::test]
async fn explain_shows_result_reason_rule_and_bucket() {
    let cli = seeded().await;
    let env = ["--env", "production"];
    let run = cli
        .run(&["explain", "geo", "--ctx", "country=DE", env[0], env[1]])
        .await;
    run.ok();
    assert!(run.stdout.contains("ON (true)"), "{run:#?}");
    assert!(run.stdout.contains("reason:   rule"), "{run:#?}");
    assert!(run.stdout.contains("rule:     de (rule 1 of 2"), "{run:#?}");

    let run = cli
        .run(&[
            "explain",
            "geo",
            "--ctx",
            "country=FR",
            "--ctx",
            "user_id=42",
            env[0],
            env[1],
        ])
        .await;
    assert!(
        run.ok().stdout.contains("OFF (false)") && run.stdout.contains("default"),
        "{run:#?}"
    );

    // `name:=json` gives numbers.
    let run = cli
        .run(&[
            "explain", "geo", "--ctx", "age:=42", "-o", "json", env[0], env[1],
        ])
        .await;
    let v = run.ok().json();
    assert_eq!(v["enabled"], true);
    assert_eq!(v["reason"], json!({"kind": "rule", "rule": "adults"}));
    let run = cli
        .run(&[
            "explain", "geo", "--ctx", "age:=12", "-o", "json", env[0], env[1],
        ])
        .await;
    assert_eq!(run.ok().json()["reason"]["kind"], "default");

    let run = cli
        .run(&[
            "explain",
            "killed",
            "--ctx",
            "user_id=1",
            "-o",
            "json",
            env[0],
            env[1],
        ])
        .await;
    assert_eq!(run.ok().json()["reason"]["kind"], "off");

    let run = cli
        .run(&["explain", "half", "--ctx", "user_id=42", env[0], env[1]])
        .await;
    assert!(
        run.ok().stdout.contains("bucket:") && run.stdout.contains("below 5000 (50%)"),
        "{run:#?}"
    );

    let run = cli.run(&["explain", "half", env[0], env[1]]).await;
    assert!(
        run.ok().stdout.contains("no usable \"user_id\" attribute"),
        "{run:#?}"
    );

    let missing = cli
        .run(&["explain", "nope", "--ctx", "user_id=1", env[0], env[1]])
        .await;
    missing.code(1);
    assert!(
        missing.stderr.contains("not found") && missing.stderr.contains("nope"),
        "{missing:#?}"
    );
    let bad = cli
        .run(&["explain", "half", "--ctx", "user_id", env[0], env[1]])
        .await;
    bad.code(1);
    assert!(bad.stderr.contains("name=value"), "{bad:#?}");
}

#[tokio::test]
async fn explain_agrees_with_server_side_evaluation() {
    let cli = seeded().await;
    let issued = cli
        .run(&[
            "sdk-keys",
            "create",
            "--name",
            "probe",
            "--env",
            "production",
            "-o",
            "json",
        ])
        .await;
    let sdk_key = issued.ok().json()["key"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let mut on = 0;
    for user in 0..12 {
        let user = format!("user-{user}");
        let local = cli
            .run(&[
                "explain",
                "half",
                "--ctx",
                &format!("user_id={user}"),
                "--env",
                "production",
                "-o",
                "json",
            ])
            .await;
        let local = local.ok().json();
        let remote: serde_json::Value = http
            .post(format!("{}/api/v1/sdk/evaluate", cli.url()))
            .bearer_auth(&sdk_key)
            .json(&json!({"context": {"user_id": user}, "flags": ["half"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let remote = &remote["results"]["half"];
        assert_eq!(local["enabled"], remote["enabled"], "{user}");
        assert_eq!(local["reason"], remote["reason"], "{user}");
        on += usize::from(local["enabled"] == true);
    }
    assert!(on > 0 && on < 12, "a 50% rollout splits 12 users: {on} on");
}
