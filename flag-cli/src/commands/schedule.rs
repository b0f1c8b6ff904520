//! `schedule KEY --at TIME (--enable | --disable | --percentage P | --patch JSON)`: a change the
//! server applies once, at its time; `schedule list [KEY]` and `schedule cancel KEY ID`.

use chrono::{DateTime, SecondsFormat, Utc};
use flag_sdk::wire::{ScheduleList, ScheduleRequest, ScheduleStatus, ScheduledChange};
use flag_sdk::Percentage;
use reqwest::Method;
use serde_json::{json, Value};

use super::{Ctx, Outcome};
use crate::cli::{Output, ScheduleArgs, ScheduleCommand};
use crate::client::segment;
use crate::error::{Error, Result};
use crate::output;

/// Runs `schedule` and its subcommands.
pub async fn run(ctx: &Ctx, args: &ScheduleArgs) -> Result<Outcome> {
    match &args.command {
        Some(ScheduleCommand::List { key }) => list(ctx, key.as_deref()).await,
        Some(ScheduleCommand::Cancel { key, id }) => cancel(ctx, key, id).await,
        None => {
            // clap requires both unless a subcommand is given.
            let (Some(key), Some(at)) = (args.key.as_deref(), args.at) else {
                return Err(Error::Usage(
                    "schedule needs KEY and --at TIME (see flag-cli schedule --help)".into(),
                ));
            };
            create(ctx, key, at, patch(args)?).await
        }
    }
}

/// The merge patch of `--enable`, `--disable`, `--percentage` or `--patch`.
fn patch(args: &ScheduleArgs) -> Result<Value> {
    if args.enable {
        return Ok(json!({ "enabled": true }));
    }
    if args.disable {
        return Ok(json!({ "enabled": false }));
    }
    if let Some(p) = args.percentage {
        let p =
            Percentage::from_f64(p).map_err(|m| Error::Usage(format!("--percentage {p} {m}")))?;
        return Ok(json!({ "percentage": p }));
    }
    let text = args.patch.as_deref().unwrap_or_default();
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::Usage(format!("--patch is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::Usage(
            "--patch must be a JSON object, like '{\"enabled\": true}'".into(),
        ));
    }
    Ok(value)
}

async fn create(ctx: &Ctx, key: &str, at: DateTime<Utc>, patch: Value) -> Result<Outcome> {
    let request = ScheduleRequest {
        at,
        patch,
        reason: ctx.reason.clone(),
    };
    let change: ScheduledChange = ctx
        .client
        .post(
            &format!("{}/schedule", ctx.flag_path(key)?),
            &request,
            &ctx.flag_what(key),
        )
        .await?;
    output::result(
        ctx.output,
        format!(
            "scheduled change {} of {key} at {}: {}",
            change.id,
            time(change.at),
            compact(&change.patch)
        ),
        &change,
    )?;
    Ok(Outcome::Done)
}

async fn list(ctx: &Ctx, key: Option<&str>) -> Result<Outcome> {
    let list: ScheduleList = match key {
        Some(key) => {
            ctx.client
                .get(
                    &format!("{}/schedule", ctx.flag_path(key)?),
                    &ctx.flag_what(key),
                )
                .await?
        }
        None => {
            ctx.client
                .get(&ctx.env_path("/schedules")?, &ctx.env_what())
                .await?
        }
    };
    if ctx.output == Output::Json {
        output::json(&list)?;
        return Ok(Outcome::Done);
    }
    if list.schedules.is_empty() {
        output::note(format!("no scheduled change in {}", ctx.env_what()));
        return Ok(Outcome::Done);
    }
    let rows = list
        .schedules
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.key.clone(),
                time(c.at),
                compact(&c.patch),
                status(c),
                c.created_by.clone(),
                c.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::table(
        &["ID", "KEY", "AT", "PATCH", "STATUS", "BY", "REASON"],
        rows,
    )?;
    Ok(Outcome::Done)
}

async fn cancel(ctx: &Ctx, key: &str, id: &str) -> Result<Outcome> {
    let path = format!("{}/schedule/{}", ctx.flag_path(key)?, segment(id));
    let what = format!("scheduled change {id:?} of {}", ctx.flag_what(key));
    ctx.client.send(Method::DELETE, &path, None, &what).await?;
    output::result(
        ctx.output,
        format!("cancelled scheduled change {id} of {key}"),
        &json!({ "id": id, "key": key, "environment": ctx.env()?, "cancelled": true }),
    )?;
    Ok(Outcome::Done)
}

/// `pending`, `applied (v12)`, `failed: why`.
fn status(c: &ScheduledChange) -> String {
    match c.status {
        ScheduleStatus::Pending => "pending".into(),
        ScheduleStatus::Applied => match c.version {
            Some(v) => format!("applied (v{v})"),
            None => "applied".into(),
        },
        ScheduleStatus::Failed => match &c.error {
            Some(e) => format!("failed: {e}"),
            None => "failed".into(),
        },
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_name_the_version_or_the_error() {
        let mut c = ScheduledChange {
            id: "sch_1".into(),
            key: "k".into(),
            at: Utc::now(),
            patch: json!({"enabled": true}),
            reason: None,
            created_by: "adm".into(),
            created_at: Utc::now(),
            status: ScheduleStatus::Pending,
            version: None,
            done_at: None,
            error: None,
        };
        assert_eq!(status(&c), "pending");
        c.status = ScheduleStatus::Applied;
        c.version = Some(7);
        assert_eq!(status(&c), "applied (v7)");
        c.status = ScheduleStatus::Failed;
        c.error = Some("the flag was deleted".into());
        assert_eq!(status(&c), "failed: the flag was deleted");
    }
}
