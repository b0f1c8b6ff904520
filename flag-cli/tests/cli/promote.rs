//! `promote`: the plan printed as `plan` prints it, dry runs (exit 2 on a change, 0 when the
//! target matches), the real run and its audit reason, and the target's enabled state.

use crate::helpers::Cli;

#[tokio::test]
async fn a_flag_is_promoted_from_staging_to_production() {
    let cli = Cli::start().await;
    cli.run(&["env", "create", "staging"]).await.ok();
    cli.run(&[
        "flags",
        "create",
        "new_checkout",
        "--percentage",
        "5",
        "--enabled",
        "--owner",
        "team-payments",
        "--env",
        "staging",
    ])
    .await
    .ok();
    let promote = ["promote", "new_checkout", "--from", "staging"];

    // Dry run of a create: the plan, exit 2, nothing written.
    let dry = cli
        .run(&[&promote[..], &["--to", "production", "--dry-run"]].concat())
        .await;
    dry.code(2);
    assert!(dry.stdout.contains("+ new_checkout"), "{dry:#?}");
    assert!(
        dry.stdout.contains("owner:       team-payments"),
        "{dry:#?}"
    );
    assert!(
        dry.stdout
            .contains("plan: promote new_checkout from staging to production: created"),
        "{dry:#?}"
    );
    assert!(dry.stderr.contains("arrives disabled"), "{dry:#?}");
    let list = cli
        .run(&["flags", "list", "--env", "production", "-o", "json"])
        .await;
    assert_eq!(list.ok().json()["flags"], serde_json::json!([]));

    // The real run, the target from --env: created disabled, the reason names staging.
    let done = cli
        .run(
            &[
                &promote[..],
                &["--env", "production", "--reason", "release 42"],
            ]
            .concat(),
        )
        .await;
    done.ok();
    let flag = cli.flag("production", "new_checkout").await;
    assert!(
        done.stdout.contains(&format!(
            "promoted new_checkout from staging to production (version {})",
            flag["version"]
        )),
        "{done:#?}"
    );
    assert_eq!(flag["enabled"], false);
    assert_eq!(flag["owner"], "team-payments");
    assert_eq!(
        cli.audit_reasons("production", "new_checkout").await,
        ["promoted from staging: release 42"]
    );

    // A change in staging: the dry run shows the field diff as `plan` does.
    cli.run(&["flags", "rollout", "new_checkout", "25", "--env", "staging"])
        .await
        .ok();
    let dry = cli
        .run(&[&promote[..], &["--to", "production", "--dry-run"]].concat())
        .await;
    dry.code(2);
    assert!(dry.stdout.contains("~ new_checkout"), "{dry:#?}");
    assert!(dry.stdout.contains("    percentage: 5 -> 25"), "{dry:#?}");
    assert_eq!(
        cli.flag("production", "new_checkout").await["percentage"],
        5
    );

    // JSON: the API's answer; --enabled switches it on.
    let json = cli
        .run(
            &[
                &promote[..],
                &["--to", "production", "--enabled", "-o", "json"],
            ]
            .concat(),
        )
        .await;
    let answer = json.ok().json();
    assert_eq!(answer["action"], "update", "{json:#?}");
    assert_eq!(answer["from"], "staging");
    assert_eq!(answer["flag"]["enabled"], true);
    assert_eq!(answer["flag"]["percentage"], 25);

    // Nothing left: exit 0, even as a dry run.
    let same = cli
        .run(&[&promote[..], &["--to", "production", "--dry-run"]].concat())
        .await;
    same.ok();
    assert!(
        same.stdout
            .contains("no changes: new_checkout in production matches staging"),
        "{same:#?}"
    );
}

#[tokio::test]
async fn promote_errors_say_what_to_do() {
    let cli = Cli::start().await;
    let no_target = cli
        .run(&["promote", "new_checkout", "--from", "development"])
        .await;
    no_target.code(1);
    assert!(no_target.stderr.contains("--to"), "{no_target:#?}");

    let missing = cli
        .run(&[
            "promote",
            "ghost",
            "--from",
            "development",
            "--to",
            "production",
        ])
        .await;
    missing.code(1);
    assert!(
        missing.stderr.contains("\"ghost\"") && missing.stderr.contains("development"),
        "{missing:#?}"
    );

    let both = cli
        .run(&[
            "promote",
            "x",
            "--from",
            "development",
            "--to",
            "production",
            "--enabled",
            "--disabled",
        ])
        .await;
    assert_ne!(both.code, 0, "{both:#?}");

    let same = cli
        .run(&["promote", "x", "--from", "production", "--to", "production"])
        .await;
    same.code(1);
    assert!(same.stderr.contains("from"), "{same:#?}");
}
