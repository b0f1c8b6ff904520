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
            "--local",
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
            "--local",
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
            "--local",
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
            "--local",
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
                "--local",
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
        .run(&[
            "release",
            "nope",
            "--local",
            "--steps",
            "1,100",
            "--env",
            "production",
        ])
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
        "--local",
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

// ---- Plans the server runs (the default; `--local` above is the loop in the CLI). ----

/// A guard endpoint that answers 500 to everything: a tiny HTTP server on a thread.
fn failing_guard() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 13\r\n\
                  connection: close\r\n\r\nerror rate 7%",
            );
        }
    });
    format!("http://{addr}/health")
}

/// Polls the flag until its percentage is `p` (a deadline, never a bare sleep).
async fn await_percentage(cli: &Cli, key: &str, p: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while cli.flag("production", key).await["percentage"] != p {
        assert!(Instant::now() < deadline, "{key} never reached {p}%");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_server_plan_followed_to_completion_applies_each_step_once() {
    let cli = Cli::start().await;
    dark_flag(&cli, "new_checkout").await;
    let run = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "1,50,100",
            "--interval",
            "1s",
            "--follow",
            "--reason",
            "ship it",
            "--env",
            "production",
        ])
        .await;
    run.ok();
    for line in [
        "step 1/3 (1%): raised",
        "step 2/3 (50%): raised",
        "step 3/3 (100%): raised",
    ] {
        assert_eq!(run.stdout.matches(line).count(), 1, "{line}: {run:#?}");
    }
    assert!(run.stdout.contains("complete: 100%"), "{run:#?}");
    assert!(
        run.stderr.contains("Ctrl-C stops following, not the plan"),
        "{run:#?}"
    );
    assert_eq!(
        cli.flag("production", "new_checkout").await["percentage"],
        100
    );
    let reasons = cli.audit_reasons("production", "new_checkout").await;
    assert_eq!(
        reasons.len(),
        4,
        "create and one entry per step: {reasons:?}"
    );
    for (reason, step) in reasons[1..]
        .iter()
        .zip(["1/3: 1%", "2/3: 50%", "3/3: 100%"])
    {
        assert!(
            reason.starts_with("ship it (release rel_")
                && reason.ends_with(&format!("step {step})")),
            "{reasons:?}"
        );
    }
    let status = cli
        .run(&[
            "release",
            "status",
            "new_checkout",
            "-o",
            "json",
            "--env",
            "production",
        ])
        .await;
    status.ok();
    assert_eq!(status.json()["status"], "completed");
    assert_eq!(status.json()["step"], 3);
}

#[tokio::test]
async fn a_failing_guard_rolls_back_and_follow_exits_1_naming_the_guard() {
    let cli = Cli::start().await;
    dark_flag(&cli, "new_checkout").await;
    cli.run(&[
        "flags",
        "rollout",
        "new_checkout",
        "5",
        "--env",
        "production",
    ])
    .await
    .ok();
    let guard = failing_guard();
    let run = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "5,50,100",
            "--interval",
            "1s",
            "--guard-url",
            &guard,
            "--check-interval",
            "1s",
            "--rollback-to",
            "1",
            "--follow",
            "--env",
            "production",
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("rolled back"), "{run:#?}");
    assert!(
        run.stderr.contains(&guard) && run.stderr.contains("500"),
        "the guard and its answer are named: {run:#?}"
    );
    assert!(run.stdout.contains("rolled_back"), "{run:#?}");
    assert_eq!(
        cli.flag("production", "new_checkout").await["percentage"],
        1
    );
    let reasons = cli.audit_reasons("production", "new_checkout").await;
    assert!(
        reasons.last().unwrap().contains("rollback to 1%"),
        "{reasons:?}"
    );
    let status = cli
        .run(&["release", "status", "new_checkout", "--env", "production"])
        .await;
    status.ok();
    assert!(
        status.stdout.contains("rolled back") && status.stdout.contains("last check:  fail"),
        "{status:#?}"
    );
}

#[tokio::test]
async fn a_server_plan_is_paused_resumed_aborted_and_listed() {
    let cli = Cli::start().await;
    dark_flag(&cli, "new_checkout").await;
    let env = ["--env", "production"];
    let with = |args: &[&'static str]| -> Vec<&'static str> { [args, &env[..]].concat() };
    let start = cli
        .run(&with(&[
            "release",
            "new_checkout",
            "--steps",
            "1,50,100",
            "--interval",
            "1h",
        ]))
        .await;
    start.ok();
    assert!(start.stdout.contains("started release rel_"), "{start:#?}");
    await_percentage(&cli, "new_checkout", 1).await;

    let status = cli.run(&with(&["release", "status", "new_checkout"])).await;
    status.ok();
    assert!(
        status.stdout.contains(": running") && status.stdout.contains("step:        1/3 (1%)"),
        "{status:#?}"
    );
    assert!(
        status.stdout.contains("next:        step 2/3 (50%)"),
        "{status:#?}"
    );

    let pause = cli.run(&with(&["release", "pause", "new_checkout"])).await;
    pause.ok();
    assert!(pause.stdout.contains("paused"), "{pause:#?}");
    let again = cli.run(&with(&["release", "pause", "new_checkout"])).await;
    again.code(1);
    assert!(again.stderr.contains("conflict"), "{again:#?}");
    let json = cli
        .run(&with(&["release", "status", "new_checkout", "-o", "json"]))
        .await;
    assert_eq!(json.json()["status"], "paused");

    let resume = cli.run(&with(&["release", "resume", "new_checkout"])).await;
    resume.ok();
    assert!(resume.stdout.contains("running"), "{resume:#?}");
    let abort = cli.run(&with(&["release", "abort", "new_checkout"])).await;
    abort.ok();
    assert!(abort.stdout.contains("aborted"), "{abort:#?}");

    let list = cli.run(&with(&["release", "list", "-o", "json"])).await;
    list.ok();
    let releases = list.json()["releases"].as_array().unwrap().clone();
    assert_eq!(releases.len(), 1, "{list:#?}");
    assert_eq!(releases[0]["key"], "new_checkout");
    assert_eq!(releases[0]["status"], "aborted");
    let table = cli.run(&with(&["release", "list"])).await;
    assert!(
        table.stdout.contains("new_checkout") && table.stdout.contains("aborted"),
        "{table:#?}"
    );

    // Following a plan that is over ends at once, with its outcome.
    let follow = cli
        .run(&with(&["release", "status", "new_checkout", "--follow"]))
        .await;
    follow.code(1);
    assert!(
        follow.stderr.contains("was aborted at step 1/3"),
        "{follow:#?}"
    );
    assert!(!follow.stdout.contains("raised"), "{follow:#?}");
    assert_eq!(
        cli.flag("production", "new_checkout").await["percentage"],
        1
    );

    let none = cli.run(&with(&["release", "status", "other"])).await;
    none.code(1);
    assert!(none.stderr.contains("not found"), "{none:#?}");
}

#[tokio::test]
async fn check_needs_local_and_a_server_dry_run_sends_nothing() {
    let cli = Cli::start().await;
    dark_flag(&cli, "new_checkout").await;
    let before = cli.flag("production", "new_checkout").await;
    let run = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "1,100",
            "--check",
            "true",
            "--env",
            "production",
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("add --local"), "{run:#?}");
    let run = cli
        .run(&[
            "release",
            "new_checkout",
            "--local",
            "--steps",
            "1,100",
            "--guard-url",
            "http://127.0.0.1:9/",
            "--env",
            "production",
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("drop --local"), "{run:#?}");
    let run = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "1,100",
            "--prometheus",
            "http://127.0.0.1:9090",
            "--query",
            "up",
            "--env",
            "production",
        ])
        .await;
    run.code(1);
    assert!(run.stderr.contains("needs a comparison"), "{run:#?}");

    let dry = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "1,5,25,100",
            "--interval",
            "10m",
            "--prometheus",
            "http://127.0.0.1:9090",
            "--query",
            "sum(rate(errors_total[5m]))",
            "--max",
            "0.5",
            "--dry-run",
            "--env",
            "production",
            "-o",
            "json",
        ])
        .await;
    dry.ok();
    let request = &dry.json()["request"];
    assert_eq!(request["steps"], serde_json::json!([1, 5, 25, 100]));
    assert_eq!(request["interval"], "10m");
    assert_eq!(request["guard"]["type"], "prometheus");
    assert_eq!(request["guard"]["op"], "lte");
    assert_eq!(request["guard"]["threshold"], 0.5);
    assert_eq!(cli.flag("production", "new_checkout").await, before);
    let list = cli
        .run(&["release", "list", "-o", "json", "--env", "production"])
        .await;
    assert_eq!(list.json()["releases"], serde_json::json!([]));

    // The server's own checks come back as a clear error: an interval below 1 s.
    let fast = cli
        .run(&[
            "release",
            "new_checkout",
            "--steps",
            "1,100",
            "--interval",
            "10ms",
            "--env",
            "production",
        ])
        .await;
    fast.code(1);
    assert!(fast.stderr.contains("interval"), "{fast:#?}");
}

#[tokio::test]
async fn ctrl_c_stops_following_but_not_the_plan() {
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
        "--follow",
        "--env",
        "production",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    await_percentage(&cli, "new_checkout", 1).await;
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
        stderr.contains("the plan goes on on the server")
            && stderr.contains("flag-cli release pause new_checkout"),
        "{stderr}"
    );
    let plan = cli
        .admin_get("/environments/production/flags/new_checkout/release")
        .await;
    assert_eq!(plan["status"], "running");
}
