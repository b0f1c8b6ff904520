//! A table of bad inputs: each is a 4xx problem+json naming the problem, and nothing is stored.

use flag_tests::app::{StoreChoice, TestApp};
use reqwest::Method;

use crate::support::{flag, problem};

/// Who sends a case.
#[derive(Clone, Copy)]
enum As {
    Admin,
    Sdk,
}

struct Case {
    name: &'static str,
    method: Method,
    path: &'static str,
    who: As,
    headers: &'static [(&'static str, &'static str)],
    body: Option<String>,
    status: u16,
    /// Must appear in the problem document (a field path or a word of the message).
    expect: &'static str,
}

fn case(
    name: &'static str,
    method: Method,
    path: &'static str,
    body: &str,
    status: u16,
    expect: &'static str,
) -> Case {
    Case {
        name,
        method,
        path,
        who: As::Admin,
        headers: &[],
        body: Some(body.to_owned()),
        status,
        expect,
    }
}

/// The body limit of the server under test (small, so an oversized body fits socket buffers).
const BODY_LIMIT: usize = 64 * 1024;
pub(crate) const FLAGS: &str = "/environments/production/flags";
const EXISTING: &str = "/environments/production/flags/existing";

fn cases() -> Vec<Case> {
    use Method as M;
    let mut v = vec![
        case(
            "malformed JSON",
            M::POST,
            FLAGS,
            r#"{"key": "a", "#,
            400,
            "malformed JSON",
        ),
        case(
            "trailing garbage",
            M::POST,
            FLAGS,
            r#"{"key": "a"} x"#,
            400,
            "trailing",
        ),
        case(
            "wrong type",
            M::POST,
            FLAGS,
            r#"{"key": "a", "enabled": "yes"}"#,
            400,
            "\"field\":\"enabled\"",
        ),
        case(
            "unknown field",
            M::POST,
            FLAGS,
            r#"{"key": "a", "colour": "red"}"#,
            400,
            "colour",
        ),
        case(
            "body is not an object",
            M::POST,
            FLAGS,
            r#"[1, 2]"#,
            400,
            "400",
        ),
        case(
            "percentage above 100",
            M::POST,
            FLAGS,
            r#"{"key": "a", "percentage": 101}"#,
            400,
            "\"field\":\"percentage\"",
        ),
        case(
            "percentage with three decimals",
            M::POST,
            FLAGS,
            r#"{"key": "a", "percentage": 1.234}"#,
            400,
            "two decimals",
        ),
        case(
            "negative rule percentage",
            M::POST,
            FLAGS,
            r#"{"key": "a", "rules": [{"id": "r", "percentage": -1}]}"#,
            400,
            "rules[0].percentage",
        ),
        case(
            "bad regex",
            M::POST,
            FLAGS,
            r#"{"key": "a", "rules": [{"id": "r", "conditions": [{"attribute": "email", "operator": "matches", "values": ["("]}]}]}"#,
            400,
            "rules[0].conditions[0].values[0]",
        ),
        case(
            "unknown operator",
            M::POST,
            FLAGS,
            r#"{"key": "a", "rules": [{"id": "r", "conditions": [{"attribute": "x", "operator": "resembles", "values": ["y"]}]}]}"#,
            400,
            "rules[0].conditions[0].operator",
        ),
        case(
            "bad semver",
            M::POST,
            FLAGS,
            r#"{"key": "a", "rules": [{"id": "r", "conditions": [{"attribute": "v", "operator": "semver_gte", "values": ["two"]}]}]}"#,
            400,
            "semantic version",
        ),
        case(
            "duplicate rule ids",
            M::POST,
            FLAGS,
            r#"{"key": "a", "rules": [{"id": "r"}, {"id": "r"}]}"#,
            400,
            "rules[1].id",
        ),
        case(
            "bad expires_at",
            M::POST,
            FLAGS,
            r#"{"key": "a", "expires_at": "tomorrow"}"#,
            400,
            "expires_at",
        ),
        case(
            "bad key in the body",
            M::POST,
            FLAGS,
            r#"{"key": "-bad"}"#,
            400,
            "\"field\":\"key\"",
        ),
        case(
            "bad key in the path",
            M::PUT,
            "/environments/production/flags/-bad",
            r#"{"key": "-bad"}"#,
            400,
            "flag key",
        ),
        case(
            "body key differs from the path",
            M::PUT,
            EXISTING,
            r#"{"key": "other"}"#,
            400,
            "differs",
        ),
        case(
            "bad environment in the path",
            M::GET,
            "/environments/Prod/flags",
            "",
            400,
            "environment name",
        ),
        case(
            "bad environment to create",
            M::PUT,
            "/environments/Bad.Env",
            "",
            400,
            "environment name",
        ),
        case("empty body", M::POST, FLAGS, "", 400, "empty"),
        case(
            "merge patch that is not an object",
            M::PATCH,
            EXISTING,
            "[1]",
            400,
            "merge patch",
        ),
        case(
            "merge patch with a wrong type",
            M::PATCH,
            EXISTING,
            r#"{"percentage": "half"}"#,
            400,
            "percentage",
        ),
        case(
            "audit limit 0",
            M::GET,
            "/environments/production/audit?limit=0",
            "",
            400,
            "limit",
        ),
        case(
            "audit limit too large",
            M::GET,
            "/environments/production/audit?limit=5000",
            "",
            400,
            "limit",
        ),
        case(
            "audit limit not a number",
            M::GET,
            "/environments/production/audit?limit=ten",
            "",
            400,
            "limit",
        ),
        case(
            "apply with duplicate keys",
            M::POST,
            "/environments/production/apply",
            r#"{"flags": [{"key": "x"}, {"key": "x"}]}"#,
            400,
            "flags[1].key",
        ),
        case(
            "apply with an invalid flag",
            M::POST,
            "/environments/production/apply",
            r#"{"flags": [{"key": "x"}, {"key": "y", "rules": [{"id": "r", "percentage": 300}]}]}"#,
            400,
            "flags[1].rules[0].percentage",
        ),
        case(
            "apply with an unknown field",
            M::POST,
            "/environments/production/apply",
            r#"{"flagz": []}"#,
            400,
            "flagz",
        ),
        case(
            "apply with a bad dry_run",
            M::POST,
            "/environments/production/apply?dry_run=maybe",
            r#"{"flags": []}"#,
            400,
            "dry_run must be true or false",
        ),
        case(
            "apply with a misspelt parameter",
            M::POST,
            "/environments/production/apply?dryrun=true",
            r#"{"flags": []}"#,
            400,
            "unknown query parameter",
        ),
        case(
            "unknown route",
            M::GET,
            "/nothing/here",
            "",
            404,
            "no route",
        ),
        case(
            "wrong method",
            M::DELETE,
            "/environments",
            "",
            405,
            "not allowed",
        ),
    ];
    v.push(Case {
        headers: &[("content-type", "text/plain")],
        ..case(
            "not JSON by content type",
            M::POST,
            FLAGS,
            r#"{"key": "a"}"#,
            415,
            "Content-Type",
        )
    });
    v.push(Case {
        headers: &[("if-match", "yesterday")],
        ..case(
            "bad If-Match",
            M::PUT,
            EXISTING,
            r#"{"key": "existing"}"#,
            400,
            "If-Match",
        )
    });
    v.push(Case {
        body: Some(format!(
            r#"{{"key": "a", "description": "{}"}}"#,
            "x".repeat(BODY_LIMIT + 10)
        )),
        ..case("oversized body", M::POST, FLAGS, "", 413, "limit")
    });
    v.push(Case {
        who: As::Sdk,
        ..case(
            "context is not an object",
            M::POST,
            "/sdk/evaluate",
            r#"{"context": 5}"#,
            400,
            "context",
        )
    });
    v.push(Case {
        who: As::Sdk,
        ..case(
            "context value is an object",
            M::POST,
            "/sdk/evaluate",
            r#"{"context": {"user": {"id": 1}}}"#,
            400,
            "context",
        )
    });
    v.push(Case {
        who: As::Sdk,
        ..case(
            "metrics period ends before it starts",
            M::POST,
            "/sdk/metrics",
            r#"{"period_start": "2026-11-28T18:00:00Z", "period_end": "2026-11-28T17:00:00Z", "flags": {}}"#,
            400,
            "period_end",
        )
    });
    v.push(Case {
        headers: &[("if-match", "\"+1\"")],
        ..case(
            "If-Match with a sign",
            M::PUT,
            EXISTING,
            r#"{"key": "existing"}"#,
            400,
            "If-Match",
        )
    });
    v.push(Case {
        headers: &[("if-match", "\"\"")],
        ..case(
            "If-Match empty",
            M::PUT,
            EXISTING,
            r#"{"key": "existing"}"#,
            400,
            "If-Match",
        )
    });
    v.push(Case {
        headers: &[("if-match", "\"12345678901234567890\"")],
        ..case(
            "If-Match beyond 19 digits",
            M::PUT,
            EXISTING,
            r#"{"key": "existing"}"#,
            400,
            "If-Match",
        )
    });
    v.push(case(
        "audit before beyond 2^63 - 1",
        M::GET,
        "/environments/production/audit?before=9223372036854775808",
        "",
        400,
        "before",
    ));
    v.push(case(
        "flag body is an array",
        M::POST,
        FLAGS,
        r#"["a"]"#,
        400,
        "JSON object",
    ));
    v.push(case(
        "apply body is an array",
        M::POST,
        "/environments/production/apply",
        r#"[[]]"#,
        400,
        "JSON object",
    ));
    v.push(case(
        "apply flag is an array",
        M::POST,
        "/environments/production/apply",
        r#"{"flags": [["a"]]}"#,
        400,
        "flags[0]",
    ));
    v.push(case(
        "SDK key name of spaces",
        M::POST,
        "/environments/production/sdk-keys",
        r#"{"name": "   "}"#,
        400,
        "name",
    ));
    v.push(Case {
        who: As::Sdk,
        ..case(
            "evaluate body is an array",
            M::POST,
            "/sdk/evaluate",
            "[]",
            400,
            "JSON object",
        )
    });
    v.push(Case {
        who: As::Sdk,
        ..case(
            "metrics count with a fraction",
            M::POST,
            "/sdk/metrics",
            r#"{"period_start": "2026-11-28T17:00:00Z", "period_end": "2026-11-28T18:00:00Z", "flags": {"a": {"yes": 1.5}}}"#,
            400,
            "whole number",
        )
    });
    v.push(Case {
        who: As::Sdk,
        ..case(
            "metrics count beyond 2^63 - 1",
            M::POST,
            "/sdk/metrics",
            r#"{"period_start": "2026-11-28T17:00:00Z", "period_end": "2026-11-28T18:00:00Z", "flags": {"a": {"no": 9223372036854775808}}}"#,
            400,
            "whole number",
        )
    });
    v.push(Case {
        who: As::Sdk,
        ..case(
            "metrics with a negative count",
            M::POST,
            "/sdk/metrics",
            r#"{"period_start": "2026-11-28T17:00:00Z", "period_end": "2026-11-28T18:00:00Z", "flags": {"a": {"yes": -1, "no": 0}}}"#,
            400,
            "yes",
        )
    });
    v
}

#[tokio::test]
async fn bad_inputs_are_4xx_problems_and_store_nothing() {
    let app = &TestApp::spawn_with(StoreChoice::Embedded, |c| c.body_limit = BODY_LIMIT).await;
    app.create_flag("production", &flag("existing")).await;
    let sdk = app.sdk_key("production").await;
    let before = app.admin_get(FLAGS).await.text().await.unwrap();
    let cases = cases();
    assert!(cases.len() >= 20);
    for c in cases {
        let token = match c.who {
            As::Admin => flag_tests::app::ADMIN_TOKEN.to_owned(),
            As::Sdk => sdk.clone(),
        };
        let mut req = app.request(c.method.clone(), c.path, &token);
        let mut has_type = false;
        for (k, v) in c.headers {
            has_type |= k.eq_ignore_ascii_case("content-type");
            req = req.header(*k, *v);
        }
        if let Some(body) = &c.body {
            if !body.is_empty() || c.method != Method::GET {
                if !has_type {
                    req = req.header("content-type", "application/json");
                }
                req = req.body(body.clone());
            }
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let body = problem(res, c.status).await;
        let text = body.to_string();
        assert!(
            text.contains(c.expect),
            "{}: expected {:?} in {text}",
            c.name,
            c.expect
        );
    }
    let after = app.admin_get(FLAGS).await.text().await.unwrap();
    assert_eq!(before, after, "bad input changed stored data");
    assert_eq!(app.env_version("production").await, 1);
    assert_eq!(app.env_version("development").await, 0);
}
