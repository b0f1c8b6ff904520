//! Guards of release plans: an HTTP check, or a Prometheus query compared with a threshold.
//!
//! A check has three outcomes. `pass` lets the plan go on; `fail` (the guard answered, and
//! said no: a non-2xx status, a value on the wrong side of the threshold, no sample) rolls the
//! plan back; `error` (the guard could not be asked: unreachable, a timeout, an answer that is
//! not Prometheus's) pauses the plan after [`MAX_ERRORS`] in a row, since a monitoring outage
//! says nothing about the release.

use std::time::Duration;

use flag_sdk::wire::Guard;
use flag_sdk::ValidationErrors;
use serde::Deserialize;

use super::parse_duration;

/// Checks that could not be made in a row before a plan pauses.
pub const MAX_ERRORS: u32 = 3;
/// The check interval when the guard gives none.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(10);
const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(1);
const MAX_CHECK_INTERVAL: Duration = Duration::from_secs(3600);
/// The longest a check may take (less when the check interval is shorter).
const MAX_CHECK_TIME: Duration = Duration::from_secs(5);
/// Most bytes of an answer's body quoted in a detail.
const MAX_QUOTE: usize = 200;

/// What one check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The guard is satisfied.
    Pass(String),
    /// The guard is not: roll back.
    Fail(String),
    /// The guard could not be asked.
    Error(String),
}

impl Outcome {
    /// `pass`, `fail` or `error`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Pass(_) => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Error(_) => "error",
        }
    }

    /// What was seen.
    pub fn detail(&self) -> &str {
        match self {
            Outcome::Pass(d) | Outcome::Fail(d) | Outcome::Error(d) => d,
        }
    }
}

/// How often the guard is checked.
pub fn check_interval(guard: &Guard) -> Duration {
    let given = match guard {
        Guard::Http { check_interval, .. } | Guard::Prometheus { check_interval, .. } => {
            check_interval.as_deref()
        }
    };
    given
        .and_then(|s| parse_duration(s, MIN_CHECK_INTERVAL, MAX_CHECK_INTERVAL).ok())
        .unwrap_or(DEFAULT_CHECK_INTERVAL)
}

/// The problems of a guard, with field paths under `guard`.
pub fn validate(guard: &Guard) -> ValidationErrors {
    let mut problems = ValidationErrors::default();
    let (url, interval) = match guard {
        Guard::Http {
            url,
            check_interval,
        } => (url, check_interval),
        Guard::Prometheus {
            url,
            query,
            threshold,
            check_interval,
            ..
        } => {
            if query.trim().is_empty() || query.len() > 4096 {
                problems.push("guard.query", "must be a PromQL query of 1 to 4096 bytes");
            }
            if !threshold.is_finite() {
                problems.push("guard.threshold", "must be a finite number");
            }
            (url, check_interval)
        }
    };
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => problems.push(
            "guard.url",
            "must be an http:// or https:// URL with a host",
        ),
    }
    if let Some(i) = interval {
        if let Err(m) = parse_duration(i, MIN_CHECK_INTERVAL, MAX_CHECK_INTERVAL) {
            problems.push("guard.check_interval", m);
        }
    }
    problems
}

/// Checks the guard once.
pub async fn check(guard: &Guard, http: &reqwest::Client) -> Outcome {
    let timeout = check_interval(guard).min(MAX_CHECK_TIME);
    match guard {
        Guard::Http { url, .. } => match http.get(url).timeout(timeout).send().await {
            Ok(r) if r.status().is_success() => {
                Outcome::Pass(format!("{url} answered {}", r.status()))
            }
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                Outcome::Fail(format!("{url} answered {status}{}", quote(&body)))
            }
            Err(e) => Outcome::Error(format!("{url} could not be reached: {}", chain(&e))),
        },
        Guard::Prometheus {
            url,
            query,
            op,
            threshold,
            no_data_passes,
            ..
        } => {
            let endpoint = format!("{}/api/v1/query", url.trim_end_matches('/'));
            let answer = http
                .get(&endpoint)
                .query(&[("query", query.as_str())])
                .timeout(timeout)
                .send()
                .await;
            let response = match answer {
                Ok(r) => r,
                Err(e) => {
                    return Outcome::Error(format!(
                        "{endpoint} could not be reached: {}",
                        chain(&e)
                    ))
                }
            };
            let status = response.status();
            let body = match response.text().await {
                Ok(b) => b,
                Err(e) => return Outcome::Error(format!("{endpoint}: {}", chain(&e))),
            };
            if !status.is_success() {
                return Outcome::Error(format!("{endpoint} answered {status}{}", quote(&body)));
            }
            let values = match sample_values(&body) {
                Ok(v) => v,
                Err(m) => return Outcome::Error(format!("{endpoint}: {m}")),
            };
            judge(&values, *op, *threshold, *no_data_passes)
        }
    }
}

/// The outcome of a query's values against the threshold.
fn judge(
    values: &[f64],
    op: flag_sdk::wire::GuardOp,
    threshold: f64,
    no_data_passes: bool,
) -> Outcome {
    let rule = format!("{} {threshold}", op.symbol());
    if values.is_empty() {
        let what = format!("the query returned no sample (needed {rule})");
        return if no_data_passes {
            Outcome::Pass(what)
        } else {
            Outcome::Fail(what)
        };
    }
    let shown = values
        .iter()
        .map(f64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    match values.iter().find(|v| !op.holds(**v, threshold)) {
        Some(bad) => Outcome::Fail(format!("value {bad} is not {rule} (values: {shown})")),
        None => Outcome::Pass(format!("values {shown} are {rule}")),
    }
}

#[derive(Deserialize)]
struct QueryAnswer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<QueryData>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Vector(Vec<VectorSample>),
    Scalar((f64, String)),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct VectorSample {
    value: (f64, String),
}

/// The values of an instant query's answer (`vector` or `scalar`).
fn sample_values(body: &str) -> Result<Vec<f64>, String> {
    let answer: QueryAnswer = serde_json::from_str(body)
        .map_err(|e| format!("not a Prometheus query answer ({e}){}", quote(body)))?;
    if answer.status != "success" {
        return Err(format!(
            "the query failed: {}",
            answer.error.unwrap_or(answer.status)
        ));
    }
    let parse = |s: &str| {
        s.parse::<f64>()
            .map_err(|_| format!("sample value {s:?} is not a number"))
    };
    match answer.data {
        Some(QueryData::Vector(samples)) => samples.iter().map(|s| parse(&s.value.1)).collect(),
        Some(QueryData::Scalar((_, v))) => Ok(vec![parse(&v)?]),
        Some(QueryData::Matrix(_) | QueryData::String(_)) => {
            Err("the query must give an instant vector or a scalar".into())
        }
        None => Err("the answer has no data".into()),
    }
}

fn quote(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let mut end = body.len().min(MAX_QUOTE);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!(": {}", &body[..end])
}

/// An error with its causes (reqwest's own message alone says little).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flag_sdk::wire::GuardOp;

    #[test]
    fn vector_and_scalar_answers_are_read() {
        let v = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"a"},"value":[1700000000.1,"0.25"]},
            {"metric":{"job":"b"},"value":[1700000000.1,"NaN"]}]}}"#;
        let values = sample_values(v).unwrap();
        assert_eq!(values[0], 0.25);
        assert!(values[1].is_nan());
        let s = r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}"#;
        assert_eq!(sample_values(s).unwrap(), vec![3.0]);
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(sample_values(empty).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn other_answers_are_errors() {
        let failed = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert!(sample_values(failed).unwrap_err().contains("parse error"));
        assert!(sample_values("<html>")
            .unwrap_err()
            .contains("not a Prometheus"));
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(sample_values(matrix)
            .unwrap_err()
            .contains("instant vector"));
    }

    #[test]
    fn every_sample_must_hold() {
        assert_eq!(judge(&[0.1, 0.2], GuardOp::Lt, 0.5, false).name(), "pass");
        let fail = judge(&[0.1, 0.7], GuardOp::Lt, 0.5, false);
        assert_eq!(fail.name(), "fail");
        assert!(fail.detail().contains("0.7 is not < 0.5"), "{fail:?}");
        // NaN holds no comparison: it fails.
        assert_eq!(judge(&[f64::NAN], GuardOp::Gte, 0.0, false).name(), "fail");
        assert_eq!(judge(&[], GuardOp::Lt, 0.5, false).name(), "fail");
        assert_eq!(judge(&[], GuardOp::Lt, 0.5, true).name(), "pass");
    }

    #[test]
    fn guards_are_validated() {
        let ok = Guard::Http {
            url: "http://127.0.0.1:9/health".into(),
            check_interval: Some("1s".into()),
        };
        assert!(validate(&ok).is_empty());
        assert_eq!(check_interval(&ok), Duration::from_secs(1));
        let bad = Guard::Prometheus {
            url: "ftp://x".into(),
            query: " ".into(),
            op: GuardOp::Lt,
            threshold: f64::INFINITY,
            no_data_passes: false,
            check_interval: Some("100ms".into()),
        };
        let fields: Vec<String> = validate(&bad).iter().map(|e| e.field.clone()).collect();
        assert_eq!(
            fields,
            [
                "guard.query",
                "guard.threshold",
                "guard.url",
                "guard.check_interval"
            ]
        );
        assert_eq!(check_interval(&bad), DEFAULT_CHECK_INTERVAL);
    }
}
