//! sdk-keys create, list, revoke.

use crate::helpers::Cli;

#[tokio::test]
async fn sdk_keys_are_issued_listed_and_revoked() {
    let cli = Cli::start().await;
    let env = ["--env", "production"];
    let issued = cli
        .run(&["sdk-keys", "create", "--name", "checkout", env[0], env[1]])
        .await;
    issued.ok();
    assert!(issued.stdout.contains("shown only now"), "{issued:#?}");
    let secret = issued.stdout.lines().last().unwrap().trim().to_owned();

    // The secret works for the SDK API.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/sdk/flags", cli.url()))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let json = cli
        .run(&["sdk-keys", "create", "-o", "json", env[0], env[1]])
        .await;
    let second = json.ok().json();
    let id = second["id"].as_str().unwrap().to_owned();

    let list = cli
        .run(&["sdk-keys", "list", "-o", "json", env[0], env[1]])
        .await;
    let keys = list.ok().json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert!(
        !list.stdout.contains(&secret),
        "a listing must not show secrets"
    );
    let table = cli.run(&["sdk-keys", "list", env[0], env[1]]).await;
    assert!(
        table.ok().stdout.contains("checkout") && table.stdout.contains(&id),
        "{table:#?}"
    );

    cli.run(&[
        "sdk-keys", "revoke", &id, "--reason", "rotated", env[0], env[1],
    ])
    .await
    .ok();
    let list = cli
        .run(&["sdk-keys", "list", "-o", "json", env[0], env[1]])
        .await;
    assert_eq!(list.ok().json()["keys"].as_array().unwrap().len(), 1);
    let again = cli.run(&["sdk-keys", "revoke", &id, env[0], env[1]]).await;
    again.code(1);
    assert!(again.stderr.contains("not found"), "{again:#?}");
}
