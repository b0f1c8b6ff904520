//! The path of an evaluation that `explain` shows besides the answer: each prerequisite (what
//! it served, pass or fail, and its own prerequisites) and each segment condition of the rules
//! tried (whether it matched, and why the context is or is not in each segment).
//!
//! Everything is decided with the shared evaluator: a condition is tested by evaluating a probe
//! flag that holds only it, against the same segments.

use flag_sdk::{
    ConditionInput, Context, Flag, FlagSpec, ReasonKind, Segment, Snapshot, Value as Attr,
};
use serde::Serialize;
use serde_json::{json, Value};

use super::Ctx;
use crate::error::{Error, Result};
use crate::show;

/// The environment's segments; `None` when the server has no segments route (a server older
/// than segments): evaluation then knows no segment, as the server's own does.
pub async fn fetch_segments(ctx: &Ctx) -> Result<Option<Vec<Segment>>> {
    let answer: Value = match ctx
        .client
        .get(&ctx.env_path("/segments")?, &ctx.env_what())
        .await
    {
        Ok(v) => v,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let list = answer
        .get("segments")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Protocol("the segments answer has no \"segments\" list".into()))?;
    list.iter()
        .map(|s| {
            Segment::from_value(s.clone())
                .map_err(|e| Error::Protocol(format!("a segment the server sent is invalid: {e}")))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// One prerequisite as evaluated for the context.
#[derive(Debug, Serialize)]
pub struct PrerequisiteStep {
    /// The flag required.
    pub flag: String,
    /// The variants that let the flag through.
    pub wants: Vec<String>,
    /// What the flag served (`None`: not found, or nothing served).
    pub served: Option<String>,
    /// Why it served that.
    pub reason: ReasonKind,
    /// Whether the prerequisite holds.
    pub pass: bool,
    /// The prerequisite's own prerequisites.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<PrerequisiteStep>,
}

/// The prerequisites of `flag` for a context, depth first (at most the evaluator's depth).
pub fn prerequisites(
    snap: &Snapshot,
    flag: &FlagSpec,
    ctx: &Context,
    depth: usize,
) -> Vec<PrerequisiteStep> {
    if depth >= flag_sdk::limits::MAX_PREREQUISITE_DEPTH {
        return Vec::new();
    }
    flag.prerequisites
        .iter()
        .map(|p| {
            let key = p.flag.as_str();
            let eval = snap.evaluate(key, ctx);
            let served = snap.variant(key, ctx).map(|v| v.to_string());
            let pass = served
                .as_deref()
                .is_some_and(|s| p.variants.iter().any(|w| w == s));
            PrerequisiteStep {
                flag: key.to_owned(),
                wants: p.variants.clone(),
                served,
                reason: eval.reason.kind,
                pass,
                prerequisites: snap
                    .flag(key)
                    .map(|f| prerequisites(snap, f, ctx, depth + 1))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Text lines of prerequisite steps, indented by depth.
pub fn prerequisite_lines(steps: &[PrerequisiteStep], indent: usize, out: &mut Vec<String>) {
    for s in steps {
        let served = match (&s.served, s.reason) {
            (_, ReasonKind::NotFound) => "not found".to_owned(),
            (Some(v), kind) => format!("served {v} ({})", reason_name(kind)),
            (None, kind) => format!("served nothing ({})", reason_name(kind)),
        };
        out.push(format!(
            "{:indent$}  {}: {served}; needs {} -> {}",
            "",
            s.flag,
            s.wants.join(" or "),
            if s.pass { "pass" } else { "FAIL" }
        ));
        prerequisite_lines(&s.prerequisites, indent + 2, out);
    }
}

/// The JSON name of a reason kind.
pub fn reason_name(kind: ReasonKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A segment condition of a rule that was tried.
#[derive(Debug, Serialize)]
pub struct SegmentCheck {
    /// The rule's id.
    pub rule: String,
    /// The condition, as text.
    pub condition: String,
    /// Whether the condition matched (with its `negate`).
    pub matched: bool,
    /// Each segment it names.
    pub segments: Vec<Membership>,
}

/// Whether the context is in one segment, and why.
#[derive(Debug, Serialize)]
pub struct Membership {
    /// The segment's key.
    pub segment: String,
    /// Whether the context is in it.
    #[serde(rename = "in")]
    pub is_in: bool,
    /// Why: `included`, `excluded`, `conditions` (all match), `conditions_failed`,
    /// `not_listed` (no conditions), `unknown_segment`.
    pub why: &'static str,
    /// The segment's conditions, each with whether it matched (when they decided).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Value>,
}

/// The segment conditions of the rules tried: up to the matching rule, or all of them when
/// none matched; none when the flag is off or a prerequisite failed.
pub fn segment_checks(
    snap: &Snapshot,
    flag: &FlagSpec,
    ctx: &Context,
    kind: ReasonKind,
    matched_rule: Option<&str>,
) -> Vec<SegmentCheck> {
    if matches!(kind, ReasonKind::Off | ReasonKind::PrerequisiteFailed) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for rule in &flag.rules {
        for c in rule.conditions.iter().filter(|c| c.operator().is_segment()) {
            let segments = c
                .values()
                .iter()
                .map(|key| membership(snap, key, c.attribute(), ctx))
                .collect();
            out.push(SegmentCheck {
                rule: rule.id.clone(),
                condition: show::condition(c),
                matched: probe(snap, ConditionInput::from(c), ctx),
                segments,
            });
        }
        if matched_rule == Some(rule.id.as_str()) {
            break;
        }
    }
    out
}

fn membership(snap: &Snapshot, key: &str, attribute: &str, ctx: &Context) -> Membership {
    let Some(seg) = snap.segment(key) else {
        return Membership {
            segment: key.to_owned(),
            is_in: false,
            why: "unknown_segment",
            conditions: Vec::new(),
        };
    };
    let in_cond = ConditionInput {
        attribute: attribute.to_owned(),
        operator: "in_segment".into(),
        values: vec![Value::String(key.to_owned())],
        negate: false,
        case_insensitive: false,
    };
    let is_in = probe(snap, in_cond, ctx);
    let texts = ctx.get(attribute).map(texts).unwrap_or_default();
    let listed = |l: &[String]| texts.iter().any(|t| l.contains(t));
    let (why, conditions) = if listed(&seg.included) {
        ("included", Vec::new())
    } else if listed(&seg.excluded) {
        ("excluded", Vec::new())
    } else if seg.conditions.is_empty() {
        ("not_listed", Vec::new())
    } else {
        let each = seg
            .conditions
            .iter()
            .map(|c| {
                json!({"condition": show::condition(c),
                       "matched": probe(snap, ConditionInput::from(c), ctx)})
            })
            .collect();
        (
            if is_in {
                "conditions"
            } else {
                "conditions_failed"
            },
            each,
        )
    };
    Membership {
        segment: key.to_owned(),
        is_in,
        why,
        conditions,
    }
}

/// Text lines of segment checks.
pub fn segment_lines(checks: &[SegmentCheck], out: &mut Vec<String>) {
    for c in checks {
        out.push(format!(
            "  rule {}: {} -> {}",
            c.rule,
            c.condition,
            if c.matched { "matched" } else { "no match" }
        ));
        for m in &c.segments {
            let why = match m.why {
                "included" => "listed in included",
                "excluded" => "listed in excluded",
                "conditions" => "its conditions all match",
                "conditions_failed" => "its conditions do not all match",
                "not_listed" => "not listed in included, and it has no conditions",
                _ => "no such segment",
            };
            out.push(format!(
                "    {}: {} ({why})",
                m.segment,
                if m.is_in { "in" } else { "not in" }
            ));
            for c in &m.conditions {
                out.push(format!(
                    "      {} -> {}",
                    c["condition"].as_str().unwrap_or(""),
                    if c["matched"] == true {
                        "matched"
                    } else {
                        "no match"
                    }
                ));
            }
        }
    }
}

/// The texts an attribute value is compared as.
fn texts(v: &Attr) -> Vec<String> {
    match v {
        Attr::String(s) => vec![s.clone()],
        Attr::Bool(b) => vec![b.to_string()],
        Attr::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => vec![(*n as i64).to_string()],
        Attr::Number(n) => vec![n.to_string()],
        Attr::List(items) => items.clone(),
    }
}

/// Whether one condition matches the context, with the snapshot's segments: a probe flag on
/// for exactly the contexts the condition matches.
fn probe(snap: &Snapshot, condition: ConditionInput, ctx: &Context) -> bool {
    let probe = json!({"key": "explain-probe", "enabled": true, "percentage": 0,
        "rules": [{"id": "probe", "conditions": [condition], "percentage": 100}]});
    let Ok(flag) = Flag::from_value(probe) else {
        return false;
    };
    let segments = snap.segments().into_iter().cloned();
    Snapshot::compile_with_segments("probe", 0, [flag], segments).is_enabled("explain-probe", ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        let flag = Flag::from_json(
            br#"{"key": "f", "enabled": true, "percentage": 0, "rules": [
            {"id": "other", "conditions": [{"attribute": "country", "operator": "in", "values": ["US"]}], "percentage": 100},
            {"id": "beta", "conditions": [{"attribute": "user_id", "operator": "in_segment", "values": ["testers", "staff"]}], "percentage": 100}]}"#,
        )
        .unwrap();
        let testers = Segment::from_json(
            br#"{"key": "testers", "included": ["u1"], "excluded": ["u2"],
            "conditions": [{"attribute": "plan", "operator": "in", "values": ["beta"]}]}"#,
        )
        .unwrap();
        let staff = Segment::from_json(br#"{"key": "staff", "included": ["u9"]}"#).unwrap();
        Snapshot::compile_with_segments("e", 1, [flag], [testers, staff])
    }

    fn check(ctx: &Context) -> Vec<(bool, Vec<(bool, &'static str)>)> {
        let snap = snapshot();
        let flag = snap.flag("f").unwrap();
        let eval = snap.evaluate("f", ctx);
        segment_checks(
            &snap,
            flag,
            ctx,
            eval.reason.kind,
            eval.reason.rule.as_deref(),
        )
        .into_iter()
        .map(|c| {
            (
                c.matched,
                c.segments.iter().map(|m| (m.is_in, m.why)).collect(),
            )
        })
        .collect()
    }

    #[test]
    fn segment_conditions_say_why() {
        let included = Context::new().user_id("u1");
        assert_eq!(
            check(&included),
            [(true, vec![(true, "included"), (false, "not_listed")])]
        );
        let excluded = Context::new().user_id("u2").set("plan", "beta");
        assert_eq!(
            check(&excluded),
            [(false, vec![(false, "excluded"), (false, "not_listed")])]
        );
        let by_conditions = Context::new().user_id("u3").set("plan", "beta");
        assert_eq!(
            check(&by_conditions),
            [(true, vec![(true, "conditions"), (false, "not_listed")])]
        );
        let nobody = Context::new().user_id("u3");
        assert_eq!(
            check(&nobody),
            [(
                false,
                vec![(false, "conditions_failed"), (false, "not_listed")]
            )]
        );
        // The first rule matched: the segment rule was not tried.
        assert!(check(&Context::new().set("country", "US")).is_empty());
        let mut lines = Vec::new();
        let snap = snapshot();
        let ctx = Context::new().user_id("u3");
        let eval = snap.evaluate("f", &ctx);
        segment_lines(
            &segment_checks(&snap, snap.flag("f").unwrap(), &ctx, eval.reason.kind, None),
            &mut lines,
        );
        assert_eq!(
            lines,
            [
                "  rule beta: user_id in_segment testers, staff -> no match",
                "    testers: not in (its conditions do not all match)",
                "      plan in beta -> no match",
                "    staff: not in (not listed in included, and it has no conditions)",
            ]
        );
    }
}
