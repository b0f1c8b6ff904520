//! Errors a person understands, and exit code 1.

use crate::helpers::{output, Cli};

#[tokio::test]
async fn a_command_that_needs_an_environment_says_so() {
    let cli = Cli::start().await;
    for args in [
        &["flags", "list"][..],
        &["flags", "rollout", "x", "5"],
        &["export"],
        &["release", "x", "--steps", "1,100"],
    ] {
        let run = cli.run(args).await;
        run.code(1);
        assert!(
            run.stderr.contains("--env") && run.stderr.contains("FLAG_ENV"),
            "{args:?}: {run:#?}"
        );
    }
    // FLAG_ENV works as well as --env.
    let mut cmd = cli.command();
    cmd.env("FLAG_ENV", "production")
        .args(["flags", "list", "-o", "json"]);
    output(cmd).await.ok();
}

#[tokio::test]
async fn an_unreachable_server_is_named_with_a_hint() {
    // A port that was free a moment ago and has no listener now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_flag-cli"));
    cmd.env("FLAG_SERVER_URL", &url)
        .env("FLAG_TOKEN", "secret-token-value")
        .args(["flags", "list", "--env", "production"]);
    let run = output(cmd).await;
    run.code(1);
    assert!(run.stderr.contains(&url), "{run:#?}");
    assert!(run.stderr.contains("FLAG_SERVER_URL"), "{run:#?}");
    assert!(
        !run.stderr.contains("secret-token-value"),
        "the token leaked: {run:#?}"
    );
}

#[tokio::test]
async fn token_problems_say_what_token_is_needed() {
    let cli = Cli::start().await;

    let mut cmd = cli.command();
    cmd.env_remove("FLAG_TOKEN").args(["env", "list"]);
    let none = output(cmd).await;
    none.code(1);
    assert!(
        none.stderr.contains("FLAG_TOKEN") && none.stderr.contains("admin token"),
        "{none:#?}"
    );

    let wrong = cli
        .run(&["env", "list", "--token", "not-a-real-token"])
        .await;
    wrong.code(1);
    assert!(
        wrong.stderr.contains("did not accept the token"),
        "{wrong:#?}"
    );
    assert!(
        !wrong.stderr.contains("not-a-real-token"),
        "the token leaked: {wrong:#?}"
    );

    // An SDK key is a token of the wrong kind for admin commands: 403.
    let issued = cli
        .run(&["sdk-keys", "create", "--env", "production", "-o", "json"])
        .await;
    let secret = issued.ok().json()["key"].as_str().unwrap().to_owned();
    let forbidden = cli
        .run(&["flags", "list", "--env", "production", "--token", &secret])
        .await;
    forbidden.code(1);
    assert!(forbidden.stderr.contains("admin token"), "{forbidden:#?}");
    assert!(
        !forbidden.stderr.contains(&secret),
        "the key leaked: {forbidden:#?}"
    );
}

#[tokio::test]
async fn invalid_input_lists_the_fields_and_changes_nothing() {
    let cli = Cli::start().await;
    let bad = cli
        .run(&[
            "flags",
            "create",
            "bad key",
            "--percentage",
            "150",
            "--env",
            "development",
        ])
        .await;
    bad.code(1);
    assert!(bad.stderr.contains("- key:"), "{bad:#?}");
    assert!(
        bad.stderr
            .contains("- percentage: must be between 0 and 100"),
        "{bad:#?}"
    );

    cli.run(&["flags", "create", "a", "--env", "development"])
        .await
        .ok();
    let bad = cli
        .run(&["flags", "rollout", "a", "100.5", "--env", "development"])
        .await;
    bad.code(1);
    assert!(bad.stderr.contains("percentage"), "{bad:#?}");
    assert_eq!(cli.flag("development", "a").await["percentage"], 100);

    let missing_env = cli.run(&["flags", "list", "--env", "nope"]).await;
    missing_env.code(1);
    assert!(
        missing_env.stderr.contains("not found") && missing_env.stderr.contains("nope"),
        "{missing_env:#?}"
    );

    let bad_env = cli.run(&["flags", "list", "--env", "No"]).await;
    bad_env.code(1);
    assert!(bad_env.stderr.contains("FLAG_ENV"), "{bad_env:#?}");
}

#[tokio::test]
async fn usage_errors_exit_1_never_2_and_help_exits_0() {
    let cli = Cli::start().await;
    // 2 means drift to CI scripts; a typo must not look like drift.
    let typo = cli.run(&["plan", "--bogus", "--env", "development"]).await;
    typo.code(1);
    assert!(typo.stderr.contains("--bogus"), "{typo:#?}");
    let missing_file = cli.run(&["plan", "--env", "development"]).await;
    missing_file.code(1);
    let help = cli.run(&["release", "--help"]).await;
    help.ok();
    assert!(help.stdout.contains("--steps 1,5,25,100"), "{help:#?}");
}
