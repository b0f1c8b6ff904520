//! Progressive releases: steps, checks, rollback, dry runs, interrupts.

use std::time::{Duration, Instant};

use crate::helpers::Cli;

async fn dark_flag(cli: &Cli, key: &str) {
    cli.run(&[
        "flags",
        "create",
        key,
        "--percentage",
        "0",
        "--enabled",
        "--env",
        "production",
    ])
    .await
    .ok();
}

#[tokio::test]
async fn a_release_raises_step_by_step_with_reasons() {
    let cli = Cli::start().await;
    dark_flag(&cli, "new_checkout").await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("checks.log");
    let check = format!("echo checked >> '{}'", log.display());
    let run = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "1,50,100",
            "--interval",
            "10ms",
            "--check",
            &check,
            "--reason",
            "ship it",
            "--env",
            "production",
        ])
        .await;
    run.ok();
    assert!(
        run.stdout.contains("step 1/3") && run.stdout.contains("step 3/3"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("complete"), "{run:#?}");
    assert_eq!(
        cli.flag("production", "new_checkout").await["percentage"],
        100
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        3,
        "one check per step"
    );
    let reasons = cli.audit_reasons("production", "new_checkout").await;
    assert_eq!(
        reasons[1..],
        [
            "ship it (release step 1/3: 1%)",
            "ship it (release step 2/3: 50%)",
            "ship it (release step 3/3: 100%)"
        ]
    );
}

#[tokio::test]
async fn a_failed_check_rolls_back_to_zero_and_exits_1() {
    let cli = Cli::start().await;
    dark_flag(&cli, "new_checkout").await;
    let dir = tempfile::tempdir().unwrap();
    let healthy = dir.path().join("healthy");
    std::fs::write(&healthy, "").unwrap();
    // Healthy for the first check only: it removes its own marker.
    let check = format!(
        "if test -f '{0}'; then rm '{0}'; else echo 'error rate 7% > 1%'; exit 3; fi",
        healthy.display()
    );
    let run = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "1,50,100",
            "--interval",
            "10ms",
            "--check",
            &check,
            "--reason",
            "JIRA-9",
            "--env",
            "production",
            "-o",
            "json",
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("step 2/3"), "{run:#?}");
    assert!(
        run.stderr.contains("error rate 7% > 1%"),
        "the check's output is shown: {run:#?}"
    );
    assert!(run.stderr.contains("exited with 3"), "{run:#?}");
    assert!(run.stderr.contains("set back to 0%"), "{run:#?}");
    // --output json: one object per step event.
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["status"], "raised");
    assert_eq!(events.last().unwrap()["status"], "rolled_back");

    assert_eq!(
        cli.flag("production", "new_checkout").await["percentage"],
        0
    );
    let reasons = cli.audit_reasons("production", "new_checkout").await;
    assert_eq!(reasons[1], "JIRA-9 (release step 1/3: 1%)");
    assert!(
        reasons[2].starts_with("JIRA-9 (release rollback"),
        "{reasons:?}"
    );
    assert_eq!(reasons.len(), 3, "step 2 was never raised: {reasons:?}");
}

#[tokio::test]
async fn a_release_resumes_by_skipping_steps_already_reached() {
    let cli = Cli::start().await;
    dark_flag(&cli, "new_checkout").await;
    cli.run(&[
        "flags",
        "rollout",
        "new_checkout",
        "50",
        "--env",
        "production",
    ])
    .await
    .ok();
    let run = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "1,50,100",
            "--interval",
            "10ms",
            "--reason",
            "resume",
            "--env",
            "production",
        ])
        .await;
    run.ok();
    assert!(run.stdout.contains("step 1/3 (1%): skipped"), "{run:#?}");
    assert!(run.stdout.contains("step 2/3 (50%): skipped"), "{run:#?}");
    let reasons = cli.audit_reasons("production", "new_checkout").await;
    assert_eq!(reasons.last().unwrap(), "resume (release step 3/3: 100%)");
    assert_eq!(reasons.len(), 3, "create, rollout, one step: {reasons:?}");
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_bad_steps_are_refused() {
    let cli = Cli::start().await;
    dark_flag(&cli, "new_checkout").await;
    let before = cli.flag("production", "new_checkout").await;
    let run = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "1,5,25,100",
            "--interval",
            "10m",
            "--dry-run",
            "--env",
            "production",
        ])
        .await;
    run.ok();
    assert!(
        run.stdout.contains("step 4/4") && run.stdout.contains("wait 10m"),
        "{run:#?}"
    );
    assert_eq!(cli.flag("production", "new_checkout").await, before);

    for steps in ["5,1", "1,101", "soon"] {
        let run = cli
            .run(&[
                "release",
                "new_checkout",
                "--steps",
                steps,
                "--env",
                "production",
            ])
            .await;
        run.code(1);
    }
    assert_eq!(cli.flag("production", "new_checkout").await, before);
    let missing = cli
        .run(&["release", "nope", "--steps", "1,100", "--env", "production"])
        .await;
    missing.code(1);
    assert!(missing.stderr.contains("not found"), "{missing:#?}");
}

#[tokio::test]
async fn ctrl_c_stops_at_the_current_step_and_leaves_the_percentage() {
    let cli = Cli::start().await;
    dark_flag(&cli, "new_checkout").await;
    let mut cmd = cli.command();
    cmd.args([
        "release",
        "new_checkout",
        "--steps",
        "1,50,100",
        "--interval",
        "1h",
        "--env",
        "production",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    // Wait until step 1 is written, then interrupt during the long wait.
    let deadline = Instant::now() + Duration::from_secs(30);
    while cli.flag("production", "new_checkout").await["percentage"] != 1 {
        assert!(Instant::now() < deadline, "step 1 was never written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted before step 2/3") && stderr.contains("left at 1%"),
        "{stderr}"
    );
    assert_eq!(
        cli.flag("production", "new_checkout").await["percentage"],
        1
    );
}
