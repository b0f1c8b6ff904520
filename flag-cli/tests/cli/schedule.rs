//! Scheduled changes: the server applies them at their time; list, cancel, bad input.

use std::time::{Duration, Instant};

use crate::helpers::Cli;

async fn off_flag(cli: &Cli, key: &str) {
    cli.run(&["flags", "create", key, "--env", "production"])
        .await
        .ok();
}

#[tokio::test]
async fn a_scheduled_change_applies_at_its_time_and_is_listed_with_its_version() {
    let cli = Cli::start().await;
    off_flag(&cli, "launch").await;
    let run = cli
        .run(&[
            "schedule",
            "launch",
            "--at",
            "+2s",
            "--enable",
            "--reason",
            "go live",
            "--env",
            "production",
        ])
        .await;
    run.ok();
    assert!(
        run.stdout.starts_with("scheduled change sch_")
            && run.stdout.contains("of launch at ")
            && run.stdout.contains(r#"{"enabled":true}"#),
        "{run:#?}"
    );
    assert_eq!(cli.flag("production", "launch").await["enabled"], false);
    let deadline = Instant::now() + Duration::from_secs(30);
    while cli.flag("production", "launch").await["enabled"] != true {
        assert!(Instant::now() < deadline, "the change was never applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let version = cli.flag("production", "launch").await["version"].clone();

    // The job records its outcome just after the flag change: wait for that.
    let list = loop {
        let list = cli
            .run(&[
                "schedule",
                "list",
                "launch",
                "-o",
                "json",
                "--env",
                "production",
            ])
            .await;
        list.ok();
        if list.json()["schedules"][0]["status"] == "applied" {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "never listed as applied: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let all = list.json()["schedules"].as_array().unwrap().clone();
    assert_eq!(all.len(), 1, "{list:#?}");
    assert_eq!(all[0]["status"], "applied");
    assert_eq!(all[0]["version"], version);
    assert_eq!(all[0]["reason"], "go live");
    let table = cli.run(&["schedule", "list", "--env", "production"]).await;
    table.ok();
    assert!(
        table.stdout.contains(&format!("applied (v{version})")) && table.stdout.contains("go live"),
        "{table:#?}"
    );
    let reasons = cli.audit_reasons("production", "launch").await;
    assert!(
        reasons
            .last()
            .unwrap()
            .starts_with("go live (scheduled change sch_"),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_pending_change_is_cancelled() {
    let cli = Cli::start().await;
    off_flag(&cli, "launch").await;
    let run = cli
        .run(&[
            "schedule",
            "launch",
            "--at",
            "in 1h",
            "--percentage",
            "50",
            "--env",
            "production",
            "-o",
            "json",
        ])
        .await;
    run.ok();
    let id = run.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(run.json()["status"], "pending");
    assert_eq!(run.json()["patch"], serde_json::json!({"percentage": 50}));

    let table = cli.run(&["schedule", "list", "--env", "production"]).await;
    assert!(
        table.stdout.contains(&id) && table.stdout.contains("pending"),
        "{table:#?}"
    );
    let cancel = cli
        .run(&["schedule", "cancel", "launch", &id, "--env", "production"])
        .await;
    cancel.ok();
    assert!(
        cancel
            .stdout
            .contains(&format!("cancelled scheduled change {id}")),
        "{cancel:#?}"
    );
    let list = cli
        .run(&["schedule", "list", "-o", "json", "--env", "production"])
        .await;
    let ids: Vec<String> = list.json()["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].to_string())
        .collect();
    assert!(ids.is_empty(), "the cancelled change is gone: {list:#?}");
    let again = cli
        .run(&["schedule", "cancel", "launch", &id, "--env", "production"])
        .await;
    again.code(1);
    assert!(again.stderr.contains("not found"), "{again:#?}");
}

#[tokio::test]
async fn bad_times_and_changes_are_usage_errors() {
    let cli = Cli::start().await;
    off_flag(&cli, "launch").await;
    let cases: [&[&str]; 5] = [
        &["--at", "tomorrow", "--enable"],
        &["--at", "+soon", "--enable"],
        &["--at", "+1m"],
        &["--at", "+1m", "--enable", "--disable"],
        &["--at", "+1m", "--patch", "[1]"],
    ];
    for case in cases {
        let mut args = vec!["schedule", "launch", "--env", "production"];
        args.extend_from_slice(case);
        let run = cli.run(&args).await;
        run.code(1);
        assert!(!run.stderr.is_empty(), "{case:?}: {run:#?}");
    }
    let run = cli
        .run(&[
            "schedule",
            "launch",
            "--at",
            "tomorrow",
            "--enable",
            "--env",
            "production",
        ])
        .await;
    assert!(run.stderr.contains("is not a time"), "{run:#?}");
    // The server's checks: a time in the past, a patch that makes no valid flag.
    let past = cli
        .run(&[
            "schedule",
            "launch",
            "--at",
            "2020-01-01T00:00:00Z",
            "--enable",
            "--env",
            "production",
        ])
        .await;
    past.code(1);
    assert!(past.stderr.contains("at"), "{past:#?}");
    let invalid = cli
        .run(&[
            "schedule",
            "launch",
            "--at",
            "+1h",
            "--patch",
            r#"{"percentage": 500}"#,
            "--env",
            "production",
        ])
        .await;
    invalid.code(1);
    assert!(invalid.stderr.contains("percentage"), "{invalid:#?}");
    let list = cli
        .run(&["schedule", "list", "-o", "json", "--env", "production"])
        .await;
    assert_eq!(list.json()["schedules"], serde_json::json!([]));
}
