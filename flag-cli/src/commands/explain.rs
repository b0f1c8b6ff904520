//! `explain KEY --ctx name=value`: evaluates a flag locally with the shared evaluator and shows
//! why it came out as it did.

use flag_sdk::{Context, Percentage, ReasonKind, Snapshot, Value as Attr};
use serde_json::json;

use super::flags::fetch_all;
use super::{Ctx, Outcome};
use crate::cli::Output;
use crate::error::{Error, Result};
use crate::output;

/// Runs `explain`.
pub async fn run(ctx: &Ctx, key: &str, attrs: &[String]) -> Result<Outcome> {
    let context = parse_context(attrs)?;
    let list = fetch_all(ctx).await?;
    let env = ctx.env()?;
    let snapshot = Snapshot::compile(env, list.version, list.flags.iter().map(|f| f.flag.clone()));
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

    if ctx.output == Output::Json {
        output::json(&json!({
            "key": key,
            "environment": env,
            "version": list.version,
            "context": context,
            "enabled": eval.enabled,
            "reason": eval.reason,
            "percentage": decided_by,
            "flag": { "enabled": flag.enabled, "percentage": flag.percentage, "stickiness": flag.stickiness },
        }))?;
        return Ok(Outcome::Done);
    }

    let shown: Vec<String> = context
        .iter()
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
        .collect();
    let mut lines = vec![
        format!(
            "flag:     {key} in {env:?} ({}, percentage {}%, stickiness {})",
            if flag.enabled { "enabled" } else { "disabled" },
            flag.percentage,
            flag.stickiness
        ),
        format!(
            "context:  {}",
            if shown.is_empty() {
                "(empty)".into()
            } else {
                shown.join(", ")
            }
        ),
        format!(
            "result:   {}",
            if eval.enabled {
                "ON (true)"
            } else {
                "OFF (false)"
            }
        ),
    ];
    let reason = match eval.reason.kind {
        ReasonKind::Off => {
            "off: the flag is disabled (kill switch), whatever the rules say".to_owned()
        }
        ReasonKind::Rule => "rule: a targeting rule matched and its percentage decided".to_owned(),
        ReasonKind::Default => {
            format!(
                "default: no rule matched ({} rules), the flag's percentage decided",
                flag.rules.len()
            )
        }
        ReasonKind::NotFound => "not_found".to_owned(),
        ReasonKind::Split => "split: the bucket chose the variant of a split".to_owned(),
        ReasonKind::PrerequisiteFailed => {
            "prerequisite_failed: a prerequisite flag did not serve a listed variant".to_owned()
        }
        ReasonKind::Error => "error: the flag is not of the type asked for".to_owned(),
    };
    lines.push(format!("reason:   {reason}"));
    if let Some((i, r)) = rule {
        lines.push(format!(
            "rule:     {} (rule {} of {}, percentage {}%)",
            r.id,
            i + 1,
            flag.rules.len(),
            r.percentage
        ));
    }
    if eval.reason.kind != ReasonKind::Off {
        lines.push(match eval.reason.bucket {
            Some(b) => format!(
                "bucket:   {b} of 0..9999; in the rollout when below {} ({}%)",
                decided_by.basis_points(),
                decided_by
            ),
            None if decided_by == Percentage::FULL => "bucket:   not needed: 100% is everyone".into(),
            None if decided_by == Percentage::ZERO => "bucket:   not needed: 0% is nobody".into(),
            None => format!(
                "bucket:   none: the context has no usable {:?} attribute, so it is outside any rollout below 100%",
                flag.stickiness
            ),
        });
    }
    output::line(lines.join("\n"))?;
    Ok(Outcome::Done)
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
