//! `explain KEY --ctx name=value`: evaluates a flag locally with the shared evaluator (the
//! environment's flags and segments, as the server has them) and shows why it came out as it
//! did: the variant and value served, the reason, the rule, the bucket, and the path through
//! prerequisites and segments.

use flag_sdk::{Context, FlagSpec, Percentage, ReasonKind, Serve, Snapshot, Value as Attr};
use serde_json::json;

use super::explain_path::{self as path, PrerequisiteStep, SegmentCheck};
use super::flags::fetch_all;
use super::{Ctx, Outcome};
use crate::cli::Output;
use crate::error::{Error, Result};
use crate::{output, show};

/// Runs `explain`.
pub async fn run(ctx: &Ctx, key: &str, attrs: &[String]) -> Result<Outcome> {
    let context = parse_context(attrs)?;
    let list = fetch_all(ctx).await?;
    let env = ctx.env()?;
    let segments = path::fetch_segments(ctx).await?;
    let snapshot = Snapshot::compile_with_segments(
        env,
        list.version,
        list.flags.iter().map(|f| f.flag.clone()),
        segments.clone().unwrap_or_default(),
    );
    let Some(flag) = snapshot.flag(key) else {
        return Err(Error::NotFound(format!(
            "{} (the environment has {} flags; `flag-cli flags list` shows them)",
            ctx.flag_what(key),
            snapshot.len()
        )));
    };
    let eval = snapshot.evaluate(key, &context);
    let rule = eval.reason.rule.as_deref().and_then(|id| {
        flag.rules
            .iter()
            .position(|r| r.id == id)
            .map(|i| (i, &flag.rules[i]))
    });
    let decided_by: Percentage = rule.map_or(flag.percentage, |(_, r)| r.percentage);
    let serve: Option<&Serve> = match rule {
        Some((_, r)) => r.serve.as_ref(),
        None => flag.default_serve.as_ref(),
    };
    let prerequisites = if flag.enabled {
        path::prerequisites(&snapshot, flag, &context, 0)
    } else {
        Vec::new()
    };
    let segment_checks = path::segment_checks(
        &snapshot,
        flag,
        &context,
        eval.reason.kind,
        eval.reason.rule.as_deref(),
    );

    if ctx.output == Output::Json {
        output::json(&json!({
            "key": key,
            "environment": env,
            "version": list.version,
            "context": context,
            "enabled": eval.enabled,
            "variant": eval.variant,
            "value": eval.value,
            "reason": eval.reason,
            "percentage": serve.is_none().then_some(decided_by),
            "serve": serve,
            "prerequisites": prerequisites,
            "segments": segment_checks,
            "segments_known": segments.is_some(),
            "flag": { "type": flag.flag_type, "enabled": flag.enabled, "percentage": flag.default_serve.is_none().then_some(flag.percentage),
                      "default_serve": flag.default_serve, "off_variant": flag.off_variant,
                      "stickiness": flag.stickiness },
        }))?;
        return Ok(Outcome::Done);
    }

    let shown: Vec<String> = context
        .iter()
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
        .collect();
    let boolean = flag.flag_type.is_boolean();
    let state = if flag.enabled { "enabled" } else { "disabled" };
    let mut lines = vec![
        if boolean && flag.default_serve.is_none() {
            format!(
                "flag:     {key} in {env:?} ({state}, percentage {}%, stickiness {})",
                flag.percentage, flag.stickiness
            )
        } else {
            format!(
                "flag:     {key} in {env:?} ({}, {state}, default {}, stickiness {})",
                flag.flag_type,
                show::default_of(flag),
                flag.stickiness
            )
        },
        format!(
            "context:  {}",
            if shown.is_empty() {
                "(empty)".into()
            } else {
                shown.join(", ")
            }
        ),
        format!("result:   {}", result_text(flag, &eval)),
    ];
    lines.push(format!(
        "reason:   {}",
        reason_text(flag, eval.reason.kind, serve, rule.is_some())
    ));
    if let Some((i, r)) = rule {
        lines.push(format!(
            "rule:     {} (rule {} of {}, {})",
            r.id,
            i + 1,
            flag.rules.len(),
            match &r.serve {
                None => format!("percentage {}%", r.percentage),
                Some(s) => format!("serves {}", show::serve(s)),
            }
        ));
    }
    if !matches!(
        eval.reason.kind,
        ReasonKind::Off | ReasonKind::PrerequisiteFailed
    ) {
        lines.push(bucket_text(flag, serve, decided_by, eval.reason.bucket));
    }
    path_lines(
        &prerequisites,
        &segment_checks,
        segments.is_some(),
        &mut lines,
    );
    output::line(lines.join("\n"))?;
    Ok(Outcome::Done)
}

fn result_text(flag: &FlagSpec, eval: &flag_sdk::Evaluation) -> String {
    if flag.flag_type.is_boolean() {
        return if eval.enabled {
            "ON (true)"
        } else {
            "OFF (false)"
        }
        .into();
    }
    let off = matches!(
        eval.reason.kind,
        ReasonKind::Off | ReasonKind::PrerequisiteFailed
    );
    match (&eval.variant, &eval.value) {
        (Some(v), Some(value)) => format!(
            "variant {v} = {}{}",
            show::value(value),
            if off { " (the off variant)" } else { "" }
        ),
        _ => "nothing served (the flag has no off variant): SDKs answer their default".into(),
    }
}

fn reason_text(flag: &FlagSpec, kind: ReasonKind, serve: Option<&Serve>, by_rule: bool) -> String {
    match kind {
        ReasonKind::Off => "off: the flag is disabled (kill switch), whatever the rules say".into(),
        ReasonKind::Rule if serve.is_some() => "rule: a targeting rule matched and serves its variant".into(),
        ReasonKind::Rule => "rule: a targeting rule matched and its percentage decided".into(),
        ReasonKind::Default if serve.is_some() => format!(
            "default: no rule matched ({} rules), the flag's default_serve decided",
            flag.rules.len()
        ),
        ReasonKind::Default => format!(
            "default: no rule matched ({} rules), the flag's percentage decided",
            flag.rules.len()
        ),
        ReasonKind::NotFound => "not_found".into(),
        ReasonKind::Split if by_rule => {
            "split: a targeting rule matched and the bucket chose the variant of its split".into()
        }
        ReasonKind::Split => format!(
            "split: no rule matched ({} rules), the bucket chose the variant of the default split",
            flag.rules.len()
        ),
        ReasonKind::PrerequisiteFailed => {
            "prerequisite_failed: a prerequisite flag did not serve a listed variant, so the flag serves its off variant".into()
        }
        ReasonKind::Error => "error: the flag is not of the type asked for".into(),
    }
}

fn bucket_text(
    flag: &FlagSpec,
    serve: Option<&Serve>,
    decided_by: Percentage,
    bucket: Option<u16>,
) -> String {
    match (serve, bucket) {
        (Some(Serve::Variant(_)), _) => "bucket:   not needed: one variant for everyone".into(),
        (Some(Serve::Split(parts)), Some(b)) => {
            let mut start = 0u32;
            let mut chosen = "";
            let ranges: Vec<String> = parts
                .iter()
                .filter(|w| w.weight > 0)
                .map(|w| {
                    let end = start + u32::from(w.weight);
                    if chosen.is_empty() && u32::from(b) < end {
                        chosen = &w.variant;
                    }
                    let r = format!("{} {start}..{}", w.variant, end - 1);
                    start = end;
                    r
                })
                .collect();
            format!("bucket:   {b} of 0..9999; {} -> {chosen}", ranges.join(", "))
        }
        (Some(Serve::Split(_)), None) => format!(
            "bucket:   none: the context has no usable {:?} attribute (or one variant has all the weight), so the split serves its first variant",
            flag.stickiness
        ),
        (None, Some(b)) => format!(
            "bucket:   {b} of 0..9999; in the rollout when below {} ({}%)",
            decided_by.basis_points(),
            decided_by
        ),
        (None, None) if decided_by == Percentage::FULL => "bucket:   not needed: 100% is everyone".into(),
        (None, None) if decided_by == Percentage::ZERO => "bucket:   not needed: 0% is nobody".into(),
        (None, None) => format!(
            "bucket:   none: the context has no usable {:?} attribute, so it is outside any rollout below 100%",
            flag.stickiness
        ),
    }
}

fn path_lines(
    prerequisites: &[PrerequisiteStep],
    segment_checks: &[SegmentCheck],
    segments_known: bool,
    lines: &mut Vec<String>,
) {
    if !prerequisites.is_empty() {
        lines.push("prerequisites:".into());
        path::prerequisite_lines(prerequisites, 0, lines);
    }
    if !segment_checks.is_empty() {
        lines.push("segments:".into());
        path::segment_lines(segment_checks, lines);
        if !segments_known {
            lines.push(
                "  (the server has no segments route, so no segment is known here; its own evaluation knows none either)".into(),
            );
        }
    }
}

/// Parses `name=string` and `name:=json` (a number, boolean or list of strings).
pub fn parse_context(attrs: &[String]) -> Result<Context> {
    let mut ctx = Context::new();
    for a in attrs {
        if let Some((name, raw)) = a.split_once(":=") {
            let value: Attr = serde_json::from_str(raw).map_err(|e| {
                Error::Usage(format!(
                    "--ctx {a:?}: after `:=` comes JSON (a number, true/false or a list of strings): {e}"
                ))
            })?;
            ctx.insert(check_name(name, a)?, value);
        } else if let Some((name, value)) = a.split_once('=') {
            ctx.insert(check_name(name, a)?, value);
        } else {
            return Err(Error::Usage(format!(
                "--ctx {a:?} is not `name=value` (or `name:=json` for numbers, booleans and lists)"
            )));
        }
    }
    Ok(ctx)
}

fn check_name<'a>(name: &'a str, arg: &str) -> Result<&'a str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Usage(format!(
            "--ctx {arg:?} has no attribute name before `=`"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_arguments() {
        let ctx = parse_context(&[
            "user_id=42".into(),
            "age:=42".into(),
            "beta:=true".into(),
            "tags:=[\"a\",\"b\"]".into(),
            "q=a=b".into(),
        ])
        .unwrap();
        assert_eq!(ctx.get("user_id"), Some(&Attr::String("42".into())));
        assert_eq!(ctx.get("age"), Some(&Attr::Number(42.0)));
        assert_eq!(ctx.get("beta"), Some(&Attr::Bool(true)));
        assert_eq!(
            ctx.get("tags"),
            Some(&Attr::List(vec!["a".into(), "b".into()]))
        );
        assert_eq!(ctx.get("q"), Some(&Attr::String("a=b".into())));
        assert!(parse_context(&["novalue".into()]).is_err());
        assert!(parse_context(&["=x".into()]).is_err());
        assert!(parse_context(&["n:={".into()]).is_err());
    }
}
