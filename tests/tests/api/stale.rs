//! Stale flags: the filters of the admin flag list (`not_evaluated_days`, `expired`,
//! `settled_days`, `stale_days`), their 400s, and the `stale` reasons of each listed flag.
//!
//! The server stamps `updated_at` itself, so every flag here changed today: the day-based rules
//! about old, unchanged flags are unit-tested with explicit instants in flag-sdk
//! (`model/stale.rs`). Here: parsing, `expires_at` in the past, and evaluations reported
//! through `POST /sdk/metrics` for a period that ended long ago.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{embedded, json_of, on_both_stores, problem};

const LIST: &str = "/environments/production/flags";

/// The keys of a flag list, and each flag's `stale` member (absent: `None`).
fn keys_and_reasons(list: &Value) -> Vec<(String, Option<Value>)> {
    list["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| {
            (
                f["key"].as_str().expect("key").to_owned(),
                f.get("stale").cloned(),
            )
        })
        .collect()
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn bad_filters_are_400s_that_name_the_parameter() {
    let r = embedded().await;
    let app = &r.app;
    for (query, names) in [
        ("not_evaluated_days=0", "not_evaluated_days"),
        ("not_evaluated_days=3651", "not_evaluated_days"),
        ("settled_days=-1", "settled_days"),
        ("settled_days=30d", "settled_days"),
        ("stale_days=", "stale_days"),
        ("stale_days=99999999999999999999999", "stale_days"),
        ("expired=yes", "expired"),
        ("stale=30", "\"stale\""),
        ("stale_days=1&stale_days=2", "given twice"),
    ] {
        let body = problem(app.admin_get(&format!("{LIST}?{query}")).await, 400).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(names), "{query}: {body}");
    }
    let body = problem(app.admin_get(&format!("{LIST}?stale_days=0")).await, 400).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("stale_days must be a whole number of days from 1 to 3650, got 0"),
        "{body}"
    );
    // The edges are accepted.
    for query in [
        "stale_days=1",
        "stale_days=3650",
        "expired=false",
        "expired=TRUE",
    ] {
        json_of(app.admin_get(&format!("{LIST}?{query}")).await, 200).await;
    }
}

#[tokio::test]
async fn expired_flags_end_to_end() {
    let r = embedded().await;
    let app = &r.app;
    let now = Utc::now();
    app.create_flag(
        "production",
        &json!({"key": "past", "enabled": true, "percentage": 50,
            "expires_at": rfc3339(now - Duration::days(2))}),
    )
    .await;
    app.create_flag(
        "production",
        &json!({"key": "future", "enabled": true, "percentage": 50,
            "expires_at": rfc3339(now + Duration::days(2))}),
    )
    .await;
    // Fully on, but changed today: not settled for a day yet.
    app.create_flag(
        "production",
        &json!({"key": "plain", "enabled": true, "percentage": 100}),
    )
    .await;
    app.create_flag("production", &json!({"key": "off", "enabled": false}))
        .await;

    // No filter: every flag, none with `stale` (existing clients see no change).
    let all = json_of(app.admin_get(LIST).await, 200).await;
    assert_eq!(
        keys_and_reasons(&all),
        [
            ("future".into(), None),
            ("off".into(), None),
            ("past".into(), None),
            ("plain".into(), None)
        ]
    );
    // `expired=false` is no filter.
    let same = json_of(app.admin_get(&format!("{LIST}?expired=false")).await, 200).await;
    assert_eq!(keys_and_reasons(&same), keys_and_reasons(&all));

    let expired = json_of(app.admin_get(&format!("{LIST}?expired=true")).await, 200).await;
    assert_eq!(
        keys_and_reasons(&expired),
        [("past".into(), Some(json!(["expired"])))]
    );
    assert_eq!(expired["environment"], "production");
    assert_eq!(expired["version"], all["version"]);
    // The listed flag is the whole flag, with its usage.
    assert_eq!(expired["flags"][0]["percentage"], 50);
    assert!(expired["flags"][0]["usage"].is_object(), "{expired}");

    // stale_days includes expired; flags created today are neither unused nor settled yet.
    let any = json_of(app.admin_get(&format!("{LIST}?stale_days=1")).await, 200).await;
    assert_eq!(
        keys_and_reasons(&any),
        [("past".into(), Some(json!(["expired"])))]
    );
    for query in ["settled_days=1", "not_evaluated_days=1"] {
        let none = json_of(app.admin_get(&format!("{LIST}?{query}")).await, 200).await;
        assert_eq!(keys_and_reasons(&none), [], "{query}");
    }
    // ANDed: expired and settled; the expired flag is a 50% rollout.
    let both = json_of(
        app.admin_get(&format!("{LIST}?expired=true&settled_days=1"))
            .await,
        200,
    )
    .await;
    assert_eq!(keys_and_reasons(&both), []);

    // A flag whose expiry is moved into the future is no longer listed.
    let res = app
        .admin(Method::PATCH, &format!("{LIST}/past"))
        .json(&json!({"expires_at": rfc3339(now + Duration::days(30))}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let expired = json_of(app.admin_get(&format!("{LIST}?expired=true")).await, 200).await;
    assert_eq!(keys_and_reasons(&expired), []);
}

/// Reports evaluations of `flags` for a period that ended `days_ago` days ago.
async fn report(app: &flag_tests::app::TestApp, sdk: &str, days_ago: i64, flags: &[&str]) {
    let end = Utc::now() - Duration::days(days_ago);
    let counts: serde_json::Map<String, Value> = flags
        .iter()
        .map(|k| ((*k).to_owned(), json!({"yes": 3, "no": 1})))
        .collect();
    let res = app
        .request(Method::POST, "/sdk/metrics", sdk)
        .json(&json!({
            "period_start": rfc3339(end - Duration::minutes(1)),
            "period_end": rfc3339(end),
            "flags": counts,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
}

#[tokio::test]
async fn flags_not_evaluated_for_days_end_to_end() {
    on_both_stores(async |app, store| {
        let sdk = app.sdk_key("production").await;
        let past = rfc3339(Utc::now() - Duration::days(1));
        for key in ["unused", "unused_expired", "used", "never"] {
            let mut flag = json!({"key": key, "enabled": true, "percentage": 50});
            if key == "unused_expired" {
                flag["expires_at"] = json!(past);
            }
            app.create_flag("production", &flag).await;
        }
        // Last evaluated 100 days ago; `used` also today.
        report(app, &sdk, 100, &["unused", "unused_expired", "used"]).await;
        report(app, &sdk, 0, &["used"]).await;

        let list = json_of(
            app.admin_get(&format!("{LIST}?not_evaluated_days=99"))
                .await,
            200,
        )
        .await;
        // `never` was never evaluated but was created today: not stale.
        assert_eq!(
            keys_and_reasons(&list),
            [
                ("unused".into(), Some(json!(["not_evaluated"]))),
                ("unused_expired".into(), Some(json!(["not_evaluated"])))
            ],
            "{store}: {list}"
        );
        let when = list["flags"][0]["usage"]["last_evaluated"]
            .as_str()
            .unwrap();
        assert!(
            when.starts_with(&rfc3339(Utc::now() - Duration::days(100))[..10]),
            "{when}"
        );
        // 101 days: evaluated within them.
        let list = json_of(
            app.admin_get(&format!("{LIST}?not_evaluated_days=101"))
                .await,
            200,
        )
        .await;
        assert_eq!(keys_and_reasons(&list), [], "{store}");
        // stale_days: every reason that holds, in order.
        let list = json_of(app.admin_get(&format!("{LIST}?stale_days=30")).await, 200).await;
        assert_eq!(
            keys_and_reasons(&list),
            [
                ("unused".into(), Some(json!(["not_evaluated"]))),
                (
                    "unused_expired".into(),
                    Some(json!(["not_evaluated", "expired"]))
                )
            ],
            "{store}"
        );
        // ANDed with expired.
        let list = json_of(
            app.admin_get(&format!("{LIST}?not_evaluated_days=30&expired=true"))
                .await,
            200,
        )
        .await;
        assert_eq!(
            keys_and_reasons(&list),
            [(
                "unused_expired".into(),
                Some(json!(["not_evaluated", "expired"]))
            )],
            "{store}"
        );
        // An evaluation reported now takes a flag off the list.
        report(app, &sdk, 0, &["unused"]).await;
        let list = json_of(
            app.admin_get(&format!("{LIST}?not_evaluated_days=30"))
                .await,
            200,
        )
        .await;
        assert_eq!(
            keys_and_reasons(&list),
            [("unused_expired".into(), Some(json!(["not_evaluated"])))],
            "{store}"
        );
    })
    .await;
}
