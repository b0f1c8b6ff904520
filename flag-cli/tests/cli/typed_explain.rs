//! Typed flags in `explain`: the split's bucket and variant as the server answers them, and
//! the path through a failed prerequisite.

use serde_json::json;

use crate::helpers::Cli;
use crate::typed::{path, ENV, TYPED};

async fn seeded() -> Cli {
    let cli = Cli::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = path(dir.path(), "typed.yaml");
    std::fs::write(&file, TYPED).unwrap();
    cli.run(&["apply", "-f", &file, ENV[0], ENV[1]]).await.ok();
    cli
}

#[tokio::test]
async fn explain_shows_the_split_bucket_and_variant_as_the_server_does() {
    let cli = seeded().await;
    let issued = cli
        .run(&["sdk-keys", "create", "-o", "json", ENV[0], ENV[1]])
        .await;
    let sdk_key = issued.ok().json()["key"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let mut variants = std::collections::BTreeSet::new();
    for (i, country) in ["DE", "FR", "US", "DE", "JP", "DE", "US", "BR"]
        .iter()
        .enumerate()
    {
        let user = format!("user-{i}");
        let ctx = [format!("user_id={user}"), format!("country={country}")];
        let local = cli
            .run(&[
                "explain",
                "checkout_button",
                "--ctx",
                &ctx[0],
                "--ctx",
                &ctx[1],
                "-o",
                "json",
                ENV[0],
                ENV[1],
            ])
            .await;
        let local = local.ok().json();
        let remote: serde_json::Value = http
            .post(format!("{}/api/v1/sdk/evaluate", cli.url()))
            .bearer_auth(&sdk_key)
            .json(&json!({"context": {"user_id": user, "country": country}, "flags": ["checkout_button"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let remote = &remote["results"]["checkout_button"];
        for field in ["enabled", "variant", "value", "reason"] {
            assert_eq!(
                local[field], remote[field],
                "{field} for {user} in {country}"
            );
        }
        if *country != "US" {
            assert_eq!(local["reason"]["kind"], "split", "{local}");
            assert!(local["reason"]["bucket"].is_u64(), "{local}");
            variants.insert(local["variant"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(variants.len(), 2, "a 50/50 split of 5 users: {variants:?}");

    let run = cli
        .run(&[
            "explain",
            "checkout_button",
            "--ctx",
            "user_id=user-0",
            "--ctx",
            "country=DE",
            ENV[0],
            ENV[1],
        ])
        .await;
    let text = &run.ok().stdout;
    for want in [
        "result:   variant ",
        "reason:   split: a targeting rule matched",
        "rule:     beta (rule 2 of 2, serves split blue 50% / green 50%)",
        "of 0..9999; blue 0..4999, green 5000..9999 -> ",
        "prerequisites:\n  new_checkout: served on (default); needs on -> pass",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
    let staff = cli
        .run(&[
            "explain",
            "checkout_button",
            "--ctx",
            "email=a@example.COM",
            ENV[0],
            ENV[1],
        ])
        .await;
    assert!(
        staff
            .ok()
            .stdout
            .contains("result:   variant green = \"#00a050\"")
            && staff
                .stdout
                .contains("bucket:   not needed: one variant for everyone"),
        "{staff:#?}"
    );
}

#[tokio::test]
async fn explain_shows_a_failed_prerequisite() {
    let cli = seeded().await;
    let run = cli
        .run(&[
            "explain",
            "checkout_button",
            "--ctx",
            "user_id=7",
            "--ctx",
            "country=XX",
            ENV[0],
            ENV[1],
        ])
        .await;
    let text = &run.ok().stdout;
    for want in [
        "result:   variant blue = \"#0050ff\" (the off variant)",
        "reason:   prerequisite_failed",
        "prerequisites:\n  new_checkout: served off (rule); needs on -> FAIL",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
    assert!(!text.contains("bucket:"), "{text}");
    let json = cli
        .run(&[
            "explain",
            "checkout_button",
            "--ctx",
            "country=XX",
            "-o",
            "json",
            ENV[0],
            ENV[1],
        ])
        .await;
    let v = json.ok().json();
    assert_eq!(v["reason"], json!({"kind": "prerequisite_failed"}));
    assert_eq!(v["variant"], "blue");
    assert_eq!(
        v["prerequisites"],
        json!([{"flag": "new_checkout", "wants": ["on"], "served": "off", "reason": "rule", "pass": false}])
    );
    // A boolean flag's explain reads as before.
    let gate = cli
        .run(&[
            "explain",
            "new_checkout",
            "--ctx",
            "country=XX",
            ENV[0],
            ENV[1],
        ])
        .await;
    assert!(
        gate.ok().stdout.contains("OFF (false)")
            && gate
                .stdout
                .contains("rule:     blocked (rule 1 of 1, percentage 0%)"),
        "{gate:#?}"
    );
}
