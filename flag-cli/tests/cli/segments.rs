//! segments list, get, put, delete; export and apply carry segments.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use crate::helpers::Cli;

const FLAG: &str = r#"{"key": "f", "enabled": true, "percentage": 0, "rules": [
  {"id": "members", "percentage": 100,
   "conditions": [{"attribute": "user_id", "operator": "in_segment", "values": ["beta"]}]}]}"#;

#[tokio::test]
async fn segments_are_written_listed_exported_and_deleted() {
    let cli = Cli::start().await;
    let env = ["--env", "production"];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("beta.yaml");
    std::fs::write(
        &file,
        "key: beta\ndescription: beta testers\nincluded: [u1]\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();

    // An environment without segments exports exactly `{flags: [...]}`.
    let plain = cli.run(&["export", "-o", "json", env[0], env[1]]).await;
    assert!(plain.ok().json().get("segments").is_none(), "{plain:#?}");

    let put = cli.run(&["segments", "put", file, env[0], env[1]]).await;
    assert!(put.ok().stdout.contains("beta"), "{put:#?}");
    // From standard input.
    let mut cmd = cli.command();
    cmd.args(["segments", "put", "-", "-o", "json", env[0], env[1]])
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(br#"{"key": "alpha", "excluded": ["u9"]}"#)
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{out:?}");

    let list = cli
        .run(&["segments", "list", "-o", "json", env[0], env[1]])
        .await;
    let keys: Vec<String> = list.ok().json()["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["alpha", "beta"]);
    let table = cli.run(&["segments", "list", env[0], env[1]]).await;
    assert!(table.ok().stdout.contains("beta testers"), "{table:#?}");
    let got = cli.run(&["segments", "get", "beta", env[0], env[1]]).await;
    assert_eq!(got.ok().json()["included"], serde_json::json!(["u1"]));
    cli.run(&["segments", "get", "nope", env[0], env[1]])
        .await
        .code(1);

    // A flag using the segment; deleting the segment is refused, naming the flag.
    let flag_file = dir.path().join("f.json");
    std::fs::write(&flag_file, FLAG).unwrap();
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/environments/production/flags",
            cli.url()
        ))
        .bearer_auth(cli.token())
        .header("content-type", "application/json")
        .body(FLAG)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let refused = cli
        .run(&["segments", "delete", "beta", env[0], env[1]])
        .await;
    refused.code(1);
    assert!(refused.stderr.contains("\"f\""), "{refused:#?}");

    // Export carries segments; applying it elsewhere reproduces them, byte for byte.
    let exported = dir.path().join("prod.json");
    let exported = exported.to_str().unwrap();
    cli.run(&["export", "-f", exported, env[0], env[1]])
        .await
        .ok();
    let text = std::fs::read_to_string(exported).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["segments"][1]["key"], "beta", "{text}");
    assert!(doc["segments"][0].get("description").is_none(), "{text}");
    cli.run(&["apply", "-f", exported, "--env", "development"])
        .await
        .ok();
    let again = dir.path().join("dev.json");
    let again = again.to_str().unwrap();
    cli.run(&["export", "-f", again, "--env", "development"])
        .await
        .ok();
    assert_eq!(std::fs::read_to_string(again).unwrap(), text);
    let plan = cli
        .run(&["plan", "-f", exported, "--env", "development"])
        .await;
    plan.code(0);

    let gone = cli
        .run(&["segments", "delete", "alpha", env[0], env[1]])
        .await;
    assert!(gone.ok().stdout.contains("deleted"), "{gone:#?}");
}
