//! `flags stale` (exit 2 when there are stale flags) and `refs` (where keys are in the code).

use std::path::Path;

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::json;

use crate::helpers::Cli;

/// A flag in production that expired yesterday, and one that did not.
async fn with_an_expired_flag(cli: &Cli) {
    let yesterday = (Utc::now() - Duration::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    cli.app
        .create_flag(
            "production",
            &json!({"key": "old_banner", "enabled": true, "percentage": 50,
                "owner": "team-web", "expires_at": yesterday}),
        )
        .await;
    cli.app
        .create_flag(
            "production",
            &json!({"key": "new_checkout", "enabled": true, "percentage": 50}),
        )
        .await;
}

#[tokio::test]
async fn stale_flags_are_listed_and_exit_2() {
    let cli = Cli::start().await;
    // None: exit 0, a note on stderr, nothing on stdout.
    let run = cli.run(&["flags", "stale", "--env", "production"]).await;
    run.ok();
    assert_eq!(run.stdout, "", "{run:#?}");
    assert!(
        run.stderr
            .contains("no stale flags in environment \"production\""),
        "{run:#?}"
    );

    with_an_expired_flag(&cli).await;
    // The default: stale in any way for 30 days, which includes expired.
    let run = cli.run(&["flags", "stale", "--env", "production"]).await;
    run.code(2);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "KEY",
            "REASONS",
            "LAST",
            "EVALUATED",
            "LAST",
            "CHANGED",
            "OWNER"
        ]
    );
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row, ["old_banner", "expired", "never", &today, "team-web"]);

    let run = cli
        .run(&[
            "flags",
            "stale",
            "--expired",
            "-o",
            "json",
            "--env",
            "production",
        ])
        .await;
    let list = run.code(2).json();
    assert_eq!(list["environment"], "production");
    let flags = list["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{list}");
    assert_eq!(flags[0]["key"], "old_banner");
    assert_eq!(flags[0]["stale"], json!(["expired"]));

    // Filters are ANDed; flags created today are not settled for a day.
    let run = cli
        .run(&[
            "flags",
            "stale",
            "--expired",
            "--settled",
            "1",
            "--env",
            "production",
        ])
        .await;
    run.ok();
    assert!(run.stderr.contains("no stale flags"), "{run:#?}");

    // Bad input is a usage error (exit 1), never the exit 2 of stale flags.
    let run = cli
        .run(&["flags", "stale", "--days", "0", "--env", "production"])
        .await;
    run.code(1);
    assert!(run.stderr.contains("from 1 to 3650"), "{run:#?}");
    let run = cli.run(&["flags", "stale"]).await;
    run.code(1);
    assert!(run.stderr.contains("needs an environment"), "{run:#?}");
}

/// A small source tree with references in code, an ignored directory, a hidden one and a
/// binary file.
fn source_tree(root: &Path) {
    let write = |path: &str, text: &[u8]| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(".gitignore", b"dist/\n");
    write(
        "src/checkout.rs",
        b"fn pay() {\n    if flags.is_enabled(\"new_checkout\") {\n        new_checkout_v2();\n    }\n}\n",
    );
    write(
        "web/banner.ts",
        b"const key = 'old_banner';\nshow(client.boolVariation(\"old_banner\", false));\n",
    );
    write("dist/bundle.js", b"isEnabled(\"old_banner\")");
    write(".idea/notes.txt", b"old_banner");
    write("assets/logo.bin", b"\x00\x01old_banner");
}

#[tokio::test]
async fn refs_finds_keys_in_a_source_tree() {
    let cli = Cli::start().await;
    with_an_expired_flag(&cli).await;
    let dir = tempfile::Builder::new().prefix("refs").tempdir().unwrap();
    source_tree(dir.path());
    let root = dir.path().to_str().unwrap();
    let at = |rest: &str| format!("{}{rest}", dir.path().join("").display());

    // Keys given: no server needed, no environment.
    let run = cli.run(&["refs", root, "new_checkout", "gone_flag"]).await;
    run.ok();
    assert_eq!(
        run.stdout,
        format!("{}\n", at("src/checkout.rs:2:26: new_checkout")),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains(
            "1 reference to 1 of 2 flags in 2 files; no references to: gone_flag (1 binary file skipped)"
        ),
        "{run:#?}"
    );

    // Every flag of the environment, grouped per key.
    let run = cli.run(&["refs", root, "--env", "production"]).await;
    run.ok();
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [
            at("src/checkout.rs:2:26: new_checkout"),
            at("web/banner.ts:1:14: old_banner"),
            at("web/banner.ts:2:28: old_banner"),
        ],
        "{run:#?}"
    );

    // Only the stale ones, as JSON.
    let run = cli
        .run(&["refs", root, "--stale", "--env", "production", "-o", "json"])
        .await;
    let report = run.ok().json();
    assert_eq!(report["files_searched"], 2, "{report}");
    assert_eq!(report["binary_files_skipped"], 1, "{report}");
    let flags = report["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{report}");
    assert_eq!(flags[0]["key"], "old_banner");
    assert_eq!(
        flags[0]["references"],
        json!([
            {"path": at("web/banner.ts"), "line": 1, "column": 14},
            {"path": at("web/banner.ts"), "line": 2, "column": 28},
        ])
    );

    // An environment without stale flags: nothing to look for, exit 0.
    let run = cli
        .run(&["refs", root, "--stale=1", "--env", "development"])
        .await;
    run.ok();
    assert_eq!(run.stdout, "", "{run:#?}");
    assert!(
        run.stderr
            .contains("no stale flags in environment \"development\": nothing to look for"),
        "{run:#?}"
    );

    // A missing path: exit 1 with a message, before asking the server anything.
    let missing = dir.path().join("nope");
    let run = cli
        .run(&["refs", missing.to_str().unwrap(), "--env", "production"])
        .await;
    run.code(1);
    assert!(
        run.stderr.contains("cannot search") && run.stderr.contains("nope"),
        "{run:#?}"
    );
    // No keys and no environment.
    let run = cli.run(&["refs", root]).await;
    run.code(1);
    assert!(run.stderr.contains("needs an environment"), "{run:#?}");
    // A key that cannot be one.
    let run = cli.run(&["refs", root, "not a key"]).await;
    run.code(1);
    assert!(run.stderr.contains("flag key \"not a key\""), "{run:#?}");
}
