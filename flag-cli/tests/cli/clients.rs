//! clients: the SDK instances seen, as a table and as JSON, filtered by application.

use crate::helpers::Cli;

#[tokio::test]
async fn clients_are_listed_as_a_table_and_as_json() {
    let cli = Cli::start().await;
    let env = ["--env", "production"];
    let none = cli.run(&["clients", env[0], env[1]]).await;
    assert!(none.ok().stdout.contains("no SDK instance"), "{none:#?}");

    let key = cli.app.sdk_key("production").await;
    for (id, app, version) in [
        ("pod-a", "checkout", "2.3.1"),
        ("pod-b", "billing+eu", "1.0.0"),
    ] {
        let res = reqwest::Client::new()
            .get(format!("{}/api/v1/sdk/flags", cli.url()))
            .bearer_auth(&key)
            .header("X-Flag-Instance-Id", id)
            .header("X-Flag-App-Name", app)
            .header("X-Flag-App-Version", version)
            .header("X-Flag-Sdk", "curl/8")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    let table = cli.run(&["clients", env[0], env[1]]).await;
    let out = &table.ok().stdout;
    let header = out.lines().next().unwrap();
    for column in [
        "APP",
        "VERSION",
        "INSTANCE",
        "SDK",
        "LAST SEEN",
        "STREAMING",
        "FLAGS",
    ] {
        assert!(header.contains(column), "{out}");
    }
    let row = out
        .lines()
        .find(|l| l.contains("pod-a"))
        .expect("pod-a listed");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[..4],
        ["checkout", "2.3.1", "pod-a", "curl/8"],
        "{row}"
    );
    assert_eq!(cells[5..], ["ago", "no", "0"], "{row}");

    // `--app` is sent encoded: a `+` stays a `+`.
    let json = cli
        .run(&[
            "clients",
            "--app",
            "billing+eu",
            "-o",
            "json",
            env[0],
            env[1],
        ])
        .await;
    let list = json.ok().json();
    assert_eq!(list["environment"], "production");
    let clients = list["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{list}");
    assert_eq!(clients[0]["instance_id"], "pod-b");
    assert_eq!(clients[0]["app_version"], "1.0.0");

    let bad = cli
        .run(&["clients", "--app", "my app", env[0], env[1]])
        .await;
    bad.code(1);
    assert!(bad.stderr.contains("app"), "{bad:#?}");
    let no_env = cli.run(&["clients"]).await;
    no_env.code(1);
}
