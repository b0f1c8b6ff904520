//! watch: one line per change, as it happens.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use flag_tests::app::{StoreChoice, TestApp};
use flag_tests::redis::RedisServer;

use crate::helpers::Cli;

type Lines = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// The next stdout line as JSON, within a deadline.
async fn next(lines: &mut Lines) -> serde_json::Value {
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a line in time")
        .unwrap()
        .expect("a line before the end");
    serde_json::from_str(&line).unwrap()
}

#[tokio::test]
async fn watch_prints_a_line_per_change() {
    let cli = Cli::start().await;
    cli.run(&["flags", "create", "a", "--env", "production"])
        .await
        .ok();
    let mut cmd = cli.command();
    cmd.args(["watch", "--env", "production", "-o", "json", "--count", "2"])
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The snapshot comes first: the stream is followed from here on.
    let snapshot = next(&mut lines).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["flags"], 1);

    cli.run(&["flags", "rollout", "a", "25", "--env", "production"])
        .await
        .ok();
    let put = next(&mut lines).await;
    assert_eq!(put["type"], "put");
    assert_eq!(put["key"], "a");
    assert_eq!(put["percentage"], 25);
    assert_eq!(put["version"], snapshot["version"].as_u64().unwrap() + 1);

    cli.run(&["flags", "delete", "a", "--env", "production"])
        .await
        .ok();
    let delete = next(&mut lines).await;
    assert_eq!(delete["type"], "delete");
    assert_eq!(delete["key"], "a");
    // --count 2: done after two changes.
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn watch_table_lines_name_the_change() {
    let cli = Cli::start().await;
    let mut cmd = cli.command();
    cmd.args(["watch", "--env", "development", "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    // Wait for the snapshot note: the stream is established.
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), err.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if line.starts_with("snapshot") {
            break;
        }
    }
    cli.run(&[
        "flags",
        "create",
        "b",
        "--enabled",
        "--percentage",
        "5",
        "--env",
        "development",
    ])
    .await
    .ok();
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(" put ")
            && text.contains(" b ")
            && text.contains("enabled=true")
            && text.contains("percentage=5%"),
        "{text}"
    );
}

#[tokio::test]
async fn watch_resumes_after_a_server_restart_with_last_event_id() {
    // Redis, so that a second server can open the same data at once.
    let redis = RedisServer::start();
    let store = StoreChoice::Redis {
        url: redis.url(),
        prefix: "cli-watch".into(),
    };
    let mut cli = Cli::on(store.clone()).await;
    cli.run(&["flags", "create", "a", "--env", "production"])
        .await
        .ok();
    let mut cmd = cli.command();
    cmd.args(["watch", "--env", "production", "-o", "json", "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let snapshot = next(&mut lines).await;
    assert_eq!(snapshot["type"], "snapshot");

    // Restart the server on the same port and data.
    cli.app.stop().await;
    let port = cli.app.port;
    cli.app = TestApp::spawn_with(store, |c| {
        c.listen = format!("127.0.0.1:{port}");
    })
    .await;

    cli.run(&["flags", "rollout", "a", "7", "--env", "production"])
        .await
        .ok();
    // Resumed after the snapshot's version: the change, not a new snapshot.
    let put = next(&mut lines).await;
    assert_eq!(put["type"], "put", "{put}");
    assert_eq!(put["percentage"], 7);
    assert_eq!(put["version"], snapshot["version"].as_u64().unwrap() + 1);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reconnecting after version"), "{stderr}");
}
