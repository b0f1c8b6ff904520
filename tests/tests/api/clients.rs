//! Who runs what: real SDK clients (`FlagClient`) say who they are; the server lists them
//! with their versions and the flags they evaluated, counts streams in `/metrics`, and
//! shares what it saw with the other instances on one Redis.

use std::time::Duration;

use flag_sdk::{Context, FlagClient};
use flag_tests::app::{StoreChoice, TestApp};
use flag_tests::redis::RedisServer;
use flag_tests::wait::wait_for;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{flag, json_of, problem, unique_prefix};

const WITHIN: Duration = Duration::from_secs(10);

/// A client of `app` at `version`, reporting its counts every 100 ms.
async fn client(app: &TestApp, key: &str, name: &str, version: &str, id: &str) -> FlagClient {
    FlagClient::builder(app.address.clone(), key)
        .app_name(name)
        .app_version(version)
        .instance_id(id)
        .metrics_interval(Duration::from_millis(100))
        .backoff(Duration::from_millis(20), Duration::from_millis(300))
        .build()
        .await
        .expect("build the client")
}

/// `GET /environments/{env}/clients` (with a query) as admin, answered 200.
async fn clients(app: &TestApp, query: &str) -> Value {
    json_of(
        app.admin_get(&format!("/environments/production/clients{query}"))
            .await,
        200,
    )
    .await
}

/// The instance `id` in a list, if there.
fn instance<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["clients"]
        .as_array()?
        .iter()
        .find(|c| c["instance_id"] == id)
}

/// The value of `flag_streams_connected{environment="production"}` in `/metrics`.
async fn streams_gauge(app: &TestApp) -> Option<i64> {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with("flag_streams_connected{environment=\"production\"}"))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

#[tokio::test]
async fn two_clients_are_listed_with_their_versions_flags_and_streams() {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    app.create_flag("production", &flag("new_checkout")).await;
    app.create_flag("production", &flag("dark_mode")).await;
    let key = app.sdk_key("production").await;
    assert_eq!(
        clients(&app, "").await,
        json!({"environment": "production", "clients": []})
    );
    assert_eq!(streams_gauge(&app).await, Some(0));

    let old = client(&app, &key, "checkout", "2.3.0", "checkout-old").await;
    let new = client(&app, &key, "checkout", "2.3.1", "checkout-new").await;
    wait_for("both streams are counted", WITHIN, || async {
        (streams_gauge(&app).await == Some(2)).then_some(())
    })
    .await;
    let ctx = Context::new().user_id("42");
    assert!(old.is_enabled_for("new_checkout", &ctx));
    assert!(new.is_enabled_for("dark_mode", &ctx));
    assert!(!new.is_enabled_for("not_a_flag_yet", &ctx));

    // After a metrics report each instance lists the flags it evaluated.
    let list = wait_for(
        "both instances list their evaluated flags",
        WITHIN,
        || async {
            let list = clients(&app, "").await;
            let ok = instance(&list, "checkout-old")
                .is_some_and(|c| c["flags"] == json!(["new_checkout"]))
                && instance(&list, "checkout-new")
                    .is_some_and(|c| c["flags"] == json!(["dark_mode", "not_a_flag_yet"]));
            ok.then_some(list)
        },
    )
    .await;
    let sdk = format!("flag-sdk-rust/{}", env!("CARGO_PKG_VERSION"));
    let rows = list["clients"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    // Sorted by application, then instance id.
    assert_eq!(rows[0]["instance_id"], "checkout-new");
    assert_eq!(rows[1]["instance_id"], "checkout-old");
    for (row, version) in [(&rows[0], "2.3.1"), (&rows[1], "2.3.0")] {
        assert_eq!(row["app_name"], "checkout", "{row}");
        assert_eq!(row["app_version"], version, "{row}");
        assert_eq!(row["sdk"], sdk.as_str(), "{row}");
        assert_eq!(row["streaming"], true, "{row}");
        let time = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(row[field].as_str().unwrap()).unwrap()
        };
        assert!(time("first_seen") <= time("last_seen"), "{row}");
    }

    // A client without a name: null strings; `app=` filters.
    let plain = app
        .request(Method::GET, "/sdk/flags", &key)
        .header("X-Flag-Instance-Id", "curl-1")
        .header("X-Flag-App-Version", "2.3.1 beta")
        .send()
        .await
        .unwrap();
    assert_eq!(
        plain.status(),
        200,
        "an invalid identity header is ignored, not refused"
    );
    let list = clients(&app, "").await;
    let curl = instance(&list, "curl-1").expect("listed");
    assert_eq!(curl["app_name"], Value::Null);
    assert_eq!(curl["app_version"], Value::Null);
    assert_eq!(curl["sdk"], Value::Null);
    assert_eq!(curl["streaming"], false);
    assert_eq!(
        list["clients"][0]["instance_id"], "curl-1",
        "no app name sorts first"
    );
    let only = clients(&app, "?app=checkout").await;
    assert_eq!(only["clients"].as_array().unwrap().len(), 2, "{only}");
    assert!(clients(&app, "?app=billing").await["clients"]
        .as_array()
        .unwrap()
        .is_empty());

    // Closing a client ends its stream: the gauge goes down and the list says so.
    old.close().await;
    wait_for(
        "the closed client's stream is no longer counted",
        WITHIN,
        || async { (streams_gauge(&app).await == Some(1)).then_some(()) },
    )
    .await;
    let list = clients(&app, "").await;
    assert_eq!(instance(&list, "checkout-old").unwrap()["streaming"], false);
    assert_eq!(instance(&list, "checkout-new").unwrap()["streaming"], true);
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            "flag_sdk_clients{environment=\"production\",app_name=\"checkout\",app_version=\"2.3.1\"} 1"
        ),
        "{text}"
    );
    new.close().await;
    wait_for("no stream is counted", WITHIN, || async {
        (streams_gauge(&app).await == Some(0)).then_some(())
    })
    .await;

    // An admin stream counts too.
    let admin_stream = app
        .admin(Method::GET, "/environments/production/stream")
        .send()
        .await
        .unwrap();
    assert_eq!(admin_stream.status(), 200);
    wait_for("the admin stream is counted", WITHIN, || async {
        (streams_gauge(&app).await == Some(1)).then_some(())
    })
    .await;
    drop(admin_stream);
    wait_for("the admin stream is no longer counted", WITHIN, || async {
        (streams_gauge(&app).await == Some(0)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_client_of_one_instance_is_listed_by_another_on_the_same_redis() {
    let redis = RedisServer::start();
    let choice = StoreChoice::Redis {
        url: redis.url(),
        prefix: unique_prefix(),
    };
    let a = TestApp::spawn(choice.clone()).await;
    let b = TestApp::spawn(choice).await;
    a.create_flag("production", &flag("new_checkout")).await;
    let key = a.sdk_key("production").await;
    let sdk = client(&a, &key, "checkout", "2.3.1", "pod-on-a").await;
    assert!(sdk.is_enabled_for("new_checkout", &Context::new().user_id("7")));

    // A writes what it saw within a flush (5 s); B lists it, streaming, with its flags.
    let row = wait_for("B lists the client connected to A", WITHIN, || async {
        let list = clients(&b, "").await;
        instance(&list, "pod-on-a")
            .filter(|c| c["flags"] == json!(["new_checkout"]) && c["streaming"] == true)
            .cloned()
    })
    .await;
    assert_eq!(row["app_name"], "checkout");
    assert_eq!(row["app_version"], "2.3.1");
    assert_eq!(
        streams_gauge(&b).await,
        Some(0),
        "B's gauge counts B's streams only"
    );
    assert_eq!(streams_gauge(&a).await, Some(1));
    sdk.close().await;
}

#[tokio::test]
async fn bad_queries_are_refused() {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    for query in ["?ap=checkout", "?app=", "?app=my%20app", "?app=a&app=b"] {
        let res = app
            .admin_get(&format!("/environments/production/clients{query}"))
            .await;
        let body = problem(res, 400).await;
        assert!(
            body["detail"].as_str().unwrap().contains("app"),
            "{query}: {body}"
        );
    }
    let long = "x".repeat(129);
    problem(
        app.admin_get(&format!("/environments/production/clients?app={long}"))
            .await,
        400,
    )
    .await;
    problem(app.admin_get("/environments/nope/clients").await, 404).await;
    problem(app.admin_get("/environments/No!/clients").await, 400).await;
    let key = app.sdk_key("production").await;
    problem(
        app.request(Method::GET, "/environments/production/clients", &key)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
}
