//! `flags list | get | create | enable | disable | rollout | delete`; the typed-flag edits are
//! in [`super::typed`], `flags stale` in [`super::stale`].

use chrono::SecondsFormat;
use flag_sdk::wire::{FlagList, StoredFlag};
use flag_sdk::{FlagInput, FlagSpec};
use reqwest::Method;
use serde_json::{json, Value};

use super::{typed, Ctx, Outcome};
use crate::cli::{FlagsCommand, Output};
use crate::error::{Error, Result};
use crate::output;
use crate::show;

/// Runs a `flags` subcommand.
pub async fn run(ctx: &Ctx, cmd: FlagsCommand) -> Result<Outcome> {
    match cmd {
        FlagsCommand::List => list(ctx).await?,
        FlagsCommand::Get { key } => get(ctx, &key).await?,
        FlagsCommand::Create {
            key,
            description,
            percentage,
            enabled,
            owner,
            tags,
            typed,
        } => {
            let mut input = FlagInput {
                key,
                description: description.unwrap_or_default(),
                enabled,
                percentage: Some(percentage.unwrap_or(100.0)),
                tags,
                owner,
                ..FlagInput::default()
            };
            typed::create_input(&mut input, &typed, percentage)?;
            create(ctx, &input).await?
        }
        FlagsCommand::Enable { key } => patch(ctx, &key, json!({ "enabled": true })).await?,
        FlagsCommand::Disable { key } => patch(ctx, &key, json!({ "enabled": false })).await?,
        FlagsCommand::Rollout { key, percent } => {
            patch(ctx, &key, json!({ "percentage": percent })).await?
        }
        FlagsCommand::Serve(args) => typed::serve(ctx, &args).await?,
        FlagsCommand::Variants(args) => typed::variants(ctx, &args).await?,
        FlagsCommand::OffVariant(args) => typed::off_variant(ctx, &args).await?,
        FlagsCommand::Prerequisites(args) => typed::prerequisites(ctx, &args).await?,
        FlagsCommand::Delete { key } => delete(ctx, &key).await?,
        FlagsCommand::Stale(args) => return super::stale::run(ctx, &args).await,
    }
    Ok(Outcome::Done)
}

/// Fetches every flag of the environment.
pub async fn fetch_all(ctx: &Ctx) -> Result<FlagList> {
    let mut list: FlagList = ctx
        .client
        .get(&ctx.env_path("/flags")?, &ctx.env_what())
        .await?;
    list.flags.sort_by(|a, b| a.flag.key.cmp(&b.flag.key));
    Ok(list)
}

/// Fetches one flag.
pub async fn fetch(ctx: &Ctx, key: &str) -> Result<StoredFlag> {
    ctx.client
        .get(&ctx.flag_path(key)?, &ctx.flag_what(key))
        .await
}

/// Sends a merge patch to a flag and returns the flag as stored.
pub async fn send_patch(ctx: &Ctx, key: &str, patch: &Value) -> Result<StoredFlag> {
    ctx.client
        .patch(&ctx.flag_path(key)?, patch, &ctx.flag_what(key))
        .await
}

async fn list(ctx: &Ctx) -> Result<()> {
    let list = fetch_all(ctx).await?;
    if ctx.output == Output::Json {
        return output::json(&list);
    }
    let rows = list
        .flags
        .iter()
        .map(|f| {
            vec![
                f.flag.key.to_string(),
                f.flag.flag_type.to_string(),
                on_off(&f.flag).into(),
                show::default_of(&f.flag),
                f.flag.rules.len().to_string(),
                f.flag.version.to_string(),
                f.flag
                    .updated_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
                    .unwrap_or_default(),
                f.flag.updated_by.clone().unwrap_or_default(),
                f.flag.description.clone(),
            ]
        })
        .collect();
    output::table(
        &[
            "KEY",
            "TYPE",
            "ENABLED",
            "DEFAULT",
            "RULES",
            "VERSION",
            "UPDATED",
            "BY",
            "DESCRIPTION",
        ],
        rows,
    )?;
    if list.flags.is_empty() {
        output::note(format!("no flags in {}", ctx.env_what()));
    }
    Ok(())
}

async fn get(ctx: &Ctx, key: &str) -> Result<()> {
    let f = fetch(ctx, key).await?;
    if ctx.output == Output::Json {
        return output::json(&f);
    }
    output::line(describe(&f))
}

/// A flag as readable text.
pub fn describe(f: &StoredFlag) -> String {
    let flag = &f.flag;
    let typed = !flag.flag_type.is_boolean() || flag.default_serve.is_some();
    let mut rows: Vec<(&str, String)> = vec![
        ("key", flag.key.to_string()),
        ("description", flag.description.clone()),
        ("enabled", on_off(flag).into()),
    ];
    if typed {
        rows.push(("type", flag.flag_type.to_string()));
        rows.push(("default", show::default_of(flag)));
        rows.push((
            "off_variant",
            flag.off_variant.clone().unwrap_or_else(|| {
                if flag.flag_type.is_boolean() {
                    "off".into()
                } else {
                    "(none: SDKs answer their default)".into()
                }
            }),
        ));
    } else {
        rows.push(("percentage", format!("{}%", flag.percentage)));
    }
    rows.extend([
        ("stickiness", flag.stickiness.clone()),
        ("salt", flag.salt.clone()),
        ("tags", flag.tags.join(", ")),
        ("owner", flag.owner.clone().unwrap_or_default()),
        (
            "expires_at",
            flag.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ),
        ("version", flag.version.to_string()),
        (
            "updated_at",
            flag.updated_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ),
        ("updated_by", flag.updated_by.clone().unwrap_or_default()),
    ]);
    if let Some(u) = &f.usage {
        let last = u.last_evaluated.map_or_else(
            || "never".to_owned(),
            |t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        );
        rows.push((
            "usage",
            format!("{} true, {} false, last evaluated {last}", u.yes, u.no),
        ));
    }
    let mut text: Vec<String> = rows
        .iter()
        .map(|(k, v)| format!("{:<12} {v}", format!("{k}:")).trim_end().to_owned())
        .collect();
    if !flag.variants.is_empty() {
        text.push("variants:".into());
        let width = flag.variants.iter().map(|v| v.key.len()).max().unwrap_or(0);
        for v in &flag.variants {
            text.push(format!("  {:<width$}  {}", v.key, show::value(&v.value)));
        }
    }
    if !flag.prerequisites.is_empty() {
        text.push("prerequisites:".into());
        for p in &flag.prerequisites {
            text.push(format!("  {}", show::prerequisite(p)));
        }
    }
    if flag.rules.is_empty() {
        text.push("rules:       none".into());
    } else {
        text.push("rules:".into());
        for (i, r) in flag.rules.iter().enumerate() {
            text.push(format!("  {}. {} -> {}", i + 1, r.id, show::rule_serves(r)));
            for c in &r.conditions {
                text.push(format!("       {}", show::condition(c)));
            }
        }
    }
    text.join("\n")
}

/// `on` or `off`: whether the flag is enabled.
pub fn on_off(flag: &FlagSpec) -> &'static str {
    if flag.enabled {
        "on"
    } else {
        "off"
    }
}

async fn create(ctx: &Ctx, input: &FlagInput) -> Result<()> {
    let body = serde_json::to_value(input).map_err(|e| Error::Protocol(e.to_string()))?;
    let f: StoredFlag = ctx
        .client
        .call(
            Method::POST,
            &ctx.env_path("/flags")?,
            Some(&body),
            &ctx.env_what(),
        )
        .await?;
    let sentence = format!(
        "created {} ({}, {})",
        ctx.flag_what(&input.key),
        on_off(&f.flag),
        show::summary(&f.flag)
    );
    output::result(ctx.output, sentence, &f)
}

async fn patch(ctx: &Ctx, key: &str, patch: Value) -> Result<()> {
    let f = send_patch(ctx, key, &patch).await?;
    let sentence = format!(
        "{}: {}, {} (version {})",
        ctx.flag_what(key),
        on_off(&f.flag),
        show::summary(&f.flag),
        f.flag.version
    );
    output::result(ctx.output, sentence, &f)
}

async fn delete(ctx: &Ctx, key: &str) -> Result<()> {
    ctx.client
        .send(
            Method::DELETE,
            &ctx.flag_path(key)?,
            None,
            &ctx.flag_what(key),
        )
        .await?;
    output::result(
        ctx.output,
        format!("deleted {}", ctx.flag_what(key)),
        &json!({ "deleted": key, "environment": ctx.env()? }),
    )
}
