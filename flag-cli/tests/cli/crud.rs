//! env and flags commands.

use crate::helpers::Cli;

#[tokio::test]
async fn environments_are_listed_and_created() {
    let cli = Cli::start().await;
    let run = cli.run(&["env", "list"]).await;
    run.ok();
    assert!(
        run.stdout.contains("development") && run.stdout.contains("production"),
        "{run:#?}"
    );

    cli.run(&["env", "create", "staging"]).await.ok();
    // Idempotent.
    cli.run(&["env", "create", "staging"]).await.ok();
    let list = cli.run(&["env", "list", "--output", "json"]).await;
    let names: Vec<String> = list.ok().json()["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e.as_str()
                .unwrap_or_else(|| e["name"].as_str().unwrap())
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["development", "production", "staging"]);

    let bad = cli.run(&["env", "create", "Bad Name"]).await;
    bad.code(1);
    assert!(bad.stderr.contains("environment name"), "{bad:#?}");
}

#[tokio::test]
async fn flags_are_created_toggled_rolled_out_and_deleted() {
    let cli = Cli::start().await;
    let env = ["--env", "development"];
    let created = cli
        .run(&[
            "flags",
            "create",
            "new_checkout",
            "--description",
            "New checkout",
            "--percentage",
            "5",
            "--enabled",
            "--env",
            "development",
            "-o",
            "json",
        ])
        .await;
    let flag = created.ok().json();
    assert_eq!(flag["key"], "new_checkout");
    assert_eq!(flag["enabled"], true);
    assert_eq!(flag["percentage"], 5);
    assert_eq!(flag["description"], "New checkout");

    // Global options before the subcommand work as well as after it.
    let got = cli
        .run(&[
            "--env",
            "development",
            "--output",
            "json",
            "flags",
            "get",
            "new_checkout",
        ])
        .await;
    assert_eq!(got.ok().json()["percentage"], 5);
    let table = cli
        .run(&["flags", "get", "new_checkout", "--env", "development"])
        .await;
    assert!(table.ok().stdout.contains("New checkout"), "{table:#?}");

    let list = cli.run(&["flags", "list", "--env", "development"]).await;
    let line = list
        .ok()
        .stdout
        .lines()
        .find(|l| l.starts_with("new_checkout"))
        .unwrap()
        .to_owned();
    assert!(line.contains("on") && line.contains("5%"), "{line}");

    let off = cli
        .run(&[
            "flags",
            "disable",
            "new_checkout",
            "--reason",
            "incident 7",
            "-o",
            "json",
            env[0],
            env[1],
        ])
        .await;
    assert_eq!(off.ok().json()["enabled"], false);
    let on = cli
        .run(&[
            "flags",
            "enable",
            "new_checkout",
            "-o",
            "json",
            env[0],
            env[1],
        ])
        .await;
    assert_eq!(on.ok().json()["enabled"], true);
    let rolled = cli
        .run(&[
            "flags",
            "rollout",
            "new_checkout",
            "25%",
            "-o",
            "json",
            env[0],
            env[1],
        ])
        .await;
    assert_eq!(rolled.ok().json()["percentage"], 25);
    let rolled = cli
        .run(&["flags", "rollout", "new_checkout", "0.25", env[0], env[1]])
        .await;
    assert!(rolled.ok().stdout.contains("0.25%"), "{rolled:#?}");
    assert_eq!(
        cli.flag("development", "new_checkout").await["percentage"],
        0.25
    );

    let reasons = cli.audit_reasons("development", "new_checkout").await;
    assert!(reasons.iter().any(|r| r == "incident 7"), "{reasons:?}");

    let listed = cli
        .run(&["flags", "list", "-o", "json", env[0], env[1]])
        .await;
    let flags = listed.ok().json()["flags"].as_array().unwrap().clone();
    assert_eq!(flags.len(), 1);

    let dup = cli
        .run(&["flags", "create", "new_checkout", env[0], env[1]])
        .await;
    dup.code(1);
    assert!(dup.stderr.contains("conflict"), "{dup:#?}");

    cli.run(&["flags", "delete", "new_checkout", env[0], env[1]])
        .await
        .ok();
    let gone = cli
        .run(&["flags", "get", "new_checkout", env[0], env[1]])
        .await;
    gone.code(1);
    assert!(
        gone.stderr.contains("not found") && gone.stderr.contains("new_checkout"),
        "{gone:#?}"
    );
    let listed = cli
        .run(&["flags", "list", "-o", "json", env[0], env[1]])
        .await;
    assert_eq!(listed.ok().json()["flags"].as_array().unwrap().len(), 0);
}
