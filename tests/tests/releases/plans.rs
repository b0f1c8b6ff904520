//! Release plans on one server: raised step by step, each step once; rolled back at the first
//! failing guard check; paused when the guard cannot be asked; paused, resumed and aborted by
//! people; refused when wrong.

use flag_tests::app::{StoreChoice, TestApp};
use flag_tests::prometheus::{Answer, FakePrometheus};
use serde_json::json;

use crate::support::*;

async fn server() -> (TestApp, Api) {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    let api = Api::new(&app.address);
    (app, api)
}

#[tokio::test]
async fn a_plan_raises_each_step_once_and_completes() {
    let (_app, api) = server().await;
    api.create_flag("checkout", 0.0).await;
    let plan = api
        .start_plan(
            "checkout",
            json!({"steps": [10, 50, 100], "interval": "1s", "reason": "new checkout"}),
        )
        .await;
    assert_eq!(plan["status"], "running");
    assert_eq!(plan["step"], 0);
    let id = plan["id"].as_str().unwrap().to_owned();
    let done = api.plan_reaches("checkout", "completed").await;
    assert_eq!(done["step"], 3);
    assert_eq!(done["message"], "completed at 100%");
    assert_eq!(api.percentage("checkout").await, 100.0);
    let steps = api.entries_with("checkout", &id).await;
    let seen: Vec<(String, f64)> = steps.iter().map(|(_, r, p)| (r.clone(), *p)).collect();
    assert_eq!(
        seen,
        [
            (format!("new checkout (release {id} step 1/3: 10%)"), 10.0),
            (format!("new checkout (release {id} step 2/3: 50%)"), 50.0),
            (format!("new checkout (release {id} step 3/3: 100%)"), 100.0),
        ]
    );
    // Over: a new plan may start (and the old one is replaced).
    let again = api
        .start_plan("checkout", json!({"steps": [100], "interval": "1s"}))
        .await;
    assert_eq!(again["step"], 1, "already at 100%: counted as done");
    assert_ne!(again["id"], id.as_str());
}

#[tokio::test]
async fn a_failing_prometheus_guard_rolls_back_at_its_first_failing_check() {
    let (_app, api) = server().await;
    let prometheus = FakePrometheus::start(Answer::Value(0.01)).await;
    api.create_flag("search", 0.0).await;
    let plan = api
        .start_plan(
            "search",
            json!({
                "steps": [5, 50, 100], "interval": "1h",
                "guard": {"type": "prometheus", "url": prometheus.url(),
                          "query": "sum(rate(errors_total{app=\"search\"}[1m]))",
                          "op": "lt", "threshold": 0.05, "check_interval": "1s"}
            }),
        )
        .await;
    let id = plan["id"].as_str().unwrap().to_owned();
    wait_until("the first step is applied", WITHIN, || async {
        api.percentage("search").await == 5.0
    })
    .await;
    // The guard is asked every second while the plan waits for its next step.
    wait_until("the guard was checked twice", WITHIN, || async {
        prometheus.queries().len() >= 2
    })
    .await;
    let query = &prometheus.queries()[0].target;
    assert!(query.contains("errors_total"), "{query}");

    prometheus.set(Answer::Value(0.2));
    let rolled = api.plan_reaches("search", "rolled_back").await;
    assert_eq!(api.percentage("search").await, 0.0);
    let bad: Vec<_> = prometheus
        .queries()
        .into_iter()
        .filter(|q| q.answer == Answer::Value(0.2))
        .collect();
    assert_eq!(bad.len(), 1, "rolled back at the first failing check");
    assert_eq!(rolled["last_check"]["outcome"], "fail");
    let message = rolled["message"].as_str().unwrap();
    assert!(message.contains("0.2 is not < 0.05"), "{message}");
    let rollback = api
        .entries_with("search", &format!("release {id} rollback"))
        .await;
    assert_eq!(rollback.len(), 1, "{rollback:?}");
    assert_eq!(rollback[0].2, 0.0);
    assert!(rollback[0].1.contains("the guard failed"), "{rollback:?}");
}

#[tokio::test]
async fn an_http_guard_that_answers_an_error_rolls_back_to_the_target() {
    let (_app, api) = server().await;
    let (ok_url, _ok) = http_endpoint(204).await;
    let (bad_url, _bad) = http_endpoint(503).await;
    api.create_flag("banner", 0.0).await;
    api.start_plan(
        "banner",
        json!({"steps": [20, 40], "interval": "1s", "rollback_to": 1,
               "guard": {"type": "http", "url": ok_url, "check_interval": "1s"}}),
    )
    .await;
    api.plan_reaches("banner", "completed").await;
    assert_eq!(api.percentage("banner").await, 40.0);

    api.create_flag("popup", 0.0).await;
    api.start_plan(
        "popup",
        json!({"steps": [20, 40], "interval": "1s", "rollback_to": 1,
               "guard": {"type": "http", "url": bad_url, "check_interval": "1s"}}),
    )
    .await;
    let plan = api.plan_reaches("popup", "rolled_back").await;
    assert_eq!(plan["step"], 0, "a failing guard lets no step through");
    assert!(plan["message"].as_str().unwrap().contains("503"), "{plan}");
    assert_eq!(api.percentage("popup").await, 1.0);
}

#[tokio::test]
async fn a_guard_that_cannot_be_asked_pauses_the_plan() {
    let (_app, api) = server().await;
    api.create_flag("quiet", 0.0).await;
    api.start_plan(
        "quiet",
        json!({"steps": [10], "interval": "1s",
               "guard": {"type": "http", "url": dead_url(), "check_interval": "1s"}}),
    )
    .await;
    let plan = api.plan_reaches("quiet", "paused").await;
    let message = plan["message"].as_str().unwrap();
    assert!(
        message.contains("could not be checked 3 times"),
        "{message}"
    );
    assert_eq!(plan["last_check"]["outcome"], "error");
    assert_eq!(
        api.percentage("quiet").await,
        0.0,
        "nothing raised, nothing rolled back"
    );
}

#[tokio::test]
async fn people_pause_resume_and_abort_a_plan() {
    let (app, api) = server().await;
    api.create_flag("slow", 0.0).await;
    api.start_plan("slow", json!({"steps": [1, 2], "interval": "1h"}))
        .await;
    wait_until("the first step", WITHIN, || async {
        api.percentage("slow").await == 1.0
    })
    .await;
    let (status, again) = api
        .post(
            "/flags/slow/release",
            &json!({"steps": [5], "interval": "1s"}),
        )
        .await;
    assert_eq!(status, 409, "{again}");

    let resp = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/environments/{ENV}/flags/slow/release/pause",
            app.address
        ))
        .bearer_auth(flag_tests::app::ADMIN_TOKEN)
        .header("X-Change-Reason", "latency up in eu-west")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let paused: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["message"], "paused by admin: latency up in eu-west");
    assert_eq!(paused["updated_by"], "admin");
    assert_eq!(
        api.post("/flags/slow/release/pause", &json!({})).await.0,
        409
    );
    let (status, resumed) = api.post("/flags/slow/release/resume", &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(resumed["status"], "running");
    let next = chrono::DateTime::parse_from_rfc3339(resumed["next_at"].as_str().unwrap()).unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::Duration::minutes(59),
        "the current step is watched a whole interval: {next}"
    );
    let (status, aborted) = api.post("/flags/slow/release/abort", &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(aborted["status"], "aborted");
    assert_eq!(api.percentage("slow").await, 1.0, "abort leaves the flag");
    assert_eq!(
        api.post("/flags/slow/release/resume", &json!({})).await.0,
        409
    );
    let (_, list) = api.get("/releases").await;
    assert_eq!(list["releases"][0]["status"], "aborted");
    // No plan at all.
    api.create_flag("never", 0.0).await;
    assert_eq!(api.get("/flags/never/release").await.0, 404);
    assert_eq!(
        api.post("/flags/never/release/pause", &json!({})).await.0,
        404
    );
}

#[tokio::test]
async fn wrong_plans_are_refused_with_the_field() {
    let (_app, api) = server().await;
    api.create_flag("f", 0.0).await;
    for (body, field) in [
        (json!({"steps": [], "interval": "1m"}), "steps"),
        (json!({"steps": [5, 5], "interval": "1m"}), "steps[1]"),
        (json!({"steps": [0, 5], "interval": "1m"}), "steps[0]"),
        (json!({"steps": [5], "interval": "100ms"}), "interval"),
        (
            json!({"steps": [5], "interval": "1m", "rollback_to": 5}),
            "rollback_to",
        ),
        (
            json!({"steps": [5], "interval": "1m", "guard": {"type": "http", "url": "file:///etc"}}),
            "guard.url",
        ),
        (
            json!({"steps": [5], "interval": "1m", "guard": {"type": "prometheus", "url": "http://p:9090",
            "query": "", "op": "lt", "threshold": 1}}),
            "guard.query",
        ),
    ] {
        let (status, problem) = api.post("/flags/f/release", &body).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    for body in [
        json!({"steps": [5]}),
        json!({"steps": [101], "interval": "1m"}),
        json!({"steps": [5], "interval": "1m", "guard": {"type": "carrier-pigeon"}}),
    ] {
        assert_eq!(api.post("/flags/f/release", &body).await.0, 400, "{body}");
    }
    // A typed flag serves variants: no percentage to raise.
    let (status, _) = api
        .post(
            "/flags",
            &json!({"key": "color", "type": "string", "variants": [
                {"key": "blue", "value": "b"}, {"key": "green", "value": "g"}],
                "default_serve": {"variant": "blue"}}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, problem) = api
        .post(
            "/flags/color/release",
            &json!({"steps": [5], "interval": "1m"}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "steps", "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("percentage"),
        "{problem}"
    );
    assert_eq!(
        api.post(
            "/flags/none/release",
            &json!({"steps": [5], "interval": "1m"})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        api.get("/flags/f/release").await.0,
        404,
        "nothing was written"
    );
}
