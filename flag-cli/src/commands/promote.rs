//! `promote KEY --from ENV [--to ENV] [--dry-run] [--enabled|--disabled]`: copies a flag's
//! definition from one environment to another through
//! `POST /environments/{to}/flags/{key}/promote`, and prints the plan as `plan` does.
//!
//! Exit codes follow `plan`: with `--dry-run`, 2 when the promotion would change the target and
//! 0 when the target already matches; without, 0 once written.

use clap::Args;
use flag_sdk::wire::{FlagUpdate, Plan, PromoteAction, PromoteRequest, Promotion};
use flag_sdk::EnvName;

use super::{Ctx, Outcome};
use crate::cli::Output;
use crate::client::segment;
use crate::error::{Error, Result};
use crate::output;
use crate::plan::PlanText;

/// Arguments of `promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The flag's key.
    pub key: String,
    /// The environment the definition is copied from.
    #[arg(long)]
    pub from: String,
    /// The environment written; default --env / FLAG_ENV.
    #[arg(long)]
    pub to: Option<String>,
    /// Print the plan and change nothing; exit 2 when the promotion would change the target.
    #[arg(long)]
    pub dry_run: bool,
    /// Switch the flag on in the target (default: the target's own state is kept).
    #[arg(long, conflicts_with = "disabled")]
    pub enabled: bool,
    /// Switch the flag off in the target (default: the target's own state is kept).
    #[arg(long)]
    pub disabled: bool,
}

/// Parses an environment name given as `option`, for a clear local error.
fn env_arg(option: &str, name: &str) -> Result<EnvName> {
    EnvName::parse(name).map_err(|m| Error::Usage(format!("{option} {name:?} {m}")))
}

/// Runs `promote`.
pub async fn run(ctx: &Ctx, args: &PromoteArgs) -> Result<Outcome> {
    let from = env_arg("--from", &args.from)?;
    let to = match &args.to {
        Some(to) => env_arg("--to", to)?,
        None => match ctx.env() {
            Ok(env) => env_arg("--env / FLAG_ENV", env)?,
            Err(_) => {
                return Err(Error::Usage(
                    "promote needs a target environment: pass --to NAME (or --env / FLAG_ENV)"
                        .into(),
                ))
            }
        },
    };
    let enabled = match (args.enabled, args.disabled) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let path = format!(
        "/environments/{}/flags/{}/promote?dry_run={}",
        segment(to.as_str()),
        segment(&args.key),
        args.dry_run
    );
    let what = format!("promoting flag {:?} from \"{from}\" to \"{to}\"", args.key);
    let promotion: Promotion = ctx
        .client
        .post(&path, &PromoteRequest { from, enabled }, &what)
        .await?;
    show(ctx, &promotion)?;
    Ok(if args.dry_run && promotion.has_changes() {
        Outcome::Drift
    } else {
        Outcome::Done
    })
}

/// The promotion as the one-flag [`Plan`] `plan` prints.
fn as_plan(p: &Promotion) -> Plan {
    let mut plan = Plan {
        environment: p.environment.clone(),
        dry_run: p.dry_run,
        version: p.flag.flag.version,
        ..Plan::default()
    };
    match p.action {
        PromoteAction::Create => plan.created.push(p.key.clone()),
        PromoteAction::Update => plan.updated.push(FlagUpdate {
            key: p.key.clone(),
            changes: p.changes.clone(),
        }),
        PromoteAction::Unchanged => plan.unchanged.push(p.key.clone()),
    }
    plan
}

fn show(ctx: &Ctx, p: &Promotion) -> Result<()> {
    if ctx.output == Output::Json {
        return output::json(p);
    }
    for line in as_plan(p).lines() {
        output::line(line)?;
    }
    if p.action == PromoteAction::Create {
        // A new flag has no field diff: show what arrives.
        for line in super::flags::describe(&p.flag).lines() {
            output::line(format!("    {line}"))?;
        }
    }
    let (key, from, to) = (&p.key, &p.from, &p.environment);
    let version = p.flag.flag.version;
    let summary = match (p.action, p.dry_run) {
        (PromoteAction::Unchanged, _) => {
            format!("no changes: {key} in {to} matches {from} (version {version})")
        }
        (PromoteAction::Create, true) => {
            format!("plan: promote {key} from {from} to {to}: created")
        }
        (PromoteAction::Update, true) => format!(
            "plan: promote {key} from {from} to {to}: {} field(s) changed",
            p.changes.len()
        ),
        (_, false) => format!("promoted {key} from {from} to {to} (version {version})"),
    };
    output::line(summary)?;
    if p.action == PromoteAction::Create && !p.flag.flag.enabled {
        output::note(format!(
            "note: {key} arrives disabled in {to}; `flag-cli --env {to} flags enable {key}` switches it on"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_promotion_reads_as_a_one_flag_plan() {
        let p: Promotion = serde_json::from_value(json!({
            "environment": "production", "from": "staging", "key": "a", "action": "update",
            "changes": [{"field": "percentage", "before": 5, "after": 25}],
            "dry_run": true,
            "flag": {"key": "a", "enabled": true, "percentage": 25, "version": 8}
        }))
        .unwrap();
        assert!(p.has_changes());
        assert_eq!(as_plan(&p).lines(), ["~ a", "    percentage: 5 -> 25"]);
        assert_eq!(as_plan(&p).version, 8);
        let mut unchanged = p.clone();
        unchanged.action = PromoteAction::Unchanged;
        unchanged.changes.clear();
        assert!(!unchanged.has_changes());
        assert!(as_plan(&unchanged).lines().is_empty());
        let mut created = p;
        created.action = PromoteAction::Create;
        assert_eq!(as_plan(&created).lines(), ["+ a"]);
    }
}
