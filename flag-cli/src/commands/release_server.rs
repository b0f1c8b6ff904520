//! `release KEY --steps 1,5,25,100 --interval 10m [guard] [--follow]`: a release plan the server
//! runs (`POST .../flags/{key}/release`), and `release status|pause|resume|abort KEY`,
//! `release list`. `--local` hands over to [`super::release`], the loop in this process.
//!
//! `--follow` reads the environment's admin stream for the flag's changes (a step line as soon
//! as the percentage moves) and polls the plan every [`POLL`] for its status; a step the stream
//! did not show (it broke, or the change came before it was open) is reported from the plan, so
//! each step gets exactly one line.

use flag_sdk::wire::{
    Guard, GuardOp, ReleaseList, ReleasePlan, ReleaseRequest, ReleaseStatus, StoredFlag,
};
use flag_sdk::Percentage;
use reqwest::Method;
use serde_json::json;

use super::flags::fetch;
use super::release::{self, parse_steps};
use super::release_watch::{
    current, follow, guard_text, open_stream, show, status_name, steps_text, time,
};
use super::{Ctx, Outcome};
use crate::cli::{GuardOpArg, Output, ReleaseArgs, ReleaseCommand, ServerReleaseArgs};
use crate::error::{Error, Result};
use crate::output;

/// Runs `release` and its subcommands.
pub async fn run(ctx: &Ctx, args: &ReleaseArgs) -> Result<Outcome> {
    match &args.command {
        Some(ReleaseCommand::Status { key, follow }) => status(ctx, key, *follow).await,
        Some(ReleaseCommand::Pause { key }) => control(ctx, key, "pause").await,
        Some(ReleaseCommand::Resume { key }) => control(ctx, key, "resume").await,
        Some(ReleaseCommand::Abort { key }) => control(ctx, key, "abort").await,
        Some(ReleaseCommand::List) => list(ctx).await,
        None => {
            let Some(key) = args.key.as_deref() else {
                return Err(Error::Usage(
                    "release needs KEY and --steps (see flag-cli release --help)".into(),
                ));
            };
            if args.local {
                if let Some(opt) = server_only_option(&args.server) {
                    return Err(Error::Usage(format!(
                        "{opt} is for a plan the server runs; drop --local (a --local release checks with --check CMD)"
                    )));
                }
                return release::run_local(ctx, key, args).await;
            }
            if args.check.is_some() {
                return Err(Error::Usage(
                    "--check runs a command on this machine, which only a local release does: add --local \
                     (or give the server a guard with --guard-url or --prometheus)"
                        .into(),
                ));
            }
            start(ctx, key, args).await
        }
    }
}

/// The first option given that only a server-run plan takes.
fn server_only_option(s: &ServerReleaseArgs) -> Option<&'static str> {
    [
        (s.guard_url.is_some(), "--guard-url"),
        (s.prometheus.is_some(), "--prometheus"),
        (s.check_interval.is_some(), "--check-interval"),
        (s.rollback_to.is_some(), "--rollback-to"),
        (s.follow, "--follow"),
    ]
    .into_iter()
    .find_map(|(given, name)| given.then_some(name))
}

/// The body of `POST .../release`.
fn request(args: &ReleaseArgs, reason: Option<String>) -> Result<ReleaseRequest> {
    let rollback_to = args
        .server
        .rollback_to
        .map(|p| {
            Percentage::from_f64(p).map_err(|m| Error::Usage(format!("--rollback-to {p} {m}")))
        })
        .transpose()?;
    Ok(ReleaseRequest {
        steps: parse_steps(&args.steps)?,
        interval: humantime::format_duration(args.interval).to_string(),
        guard: guard(&args.server)?,
        rollback_to,
        reason,
    })
}

/// The guard of `--guard-url` or `--prometheus`, if any.
fn guard(s: &ServerReleaseArgs) -> Result<Option<Guard>> {
    let check_interval = s
        .check_interval
        .map(|d| humantime::format_duration(d).to_string());
    if let Some(url) = &s.guard_url {
        return Ok(Some(Guard::Http {
            url: url.clone(),
            check_interval,
        }));
    }
    let Some(url) = &s.prometheus else {
        if s.check_interval.is_some() {
            return Err(Error::Usage(
                "--check-interval needs a guard: --guard-url URL or --prometheus URL --query Q"
                    .into(),
            ));
        }
        return Ok(None);
    };
    let (op, threshold) = match (s.max, s.min, s.op, s.threshold) {
        (Some(x), _, _, _) => (GuardOp::Lte, x),
        (_, Some(x), _, _) => (GuardOp::Gte, x),
        (_, _, Some(op), Some(x)) => (op_of(op), x),
        _ => {
            return Err(Error::Usage(
                "--prometheus needs a comparison: --max X, --min X, or --op lt|lte|gt|gte --threshold X"
                    .into(),
            ))
        }
    };
    if !threshold.is_finite() {
        return Err(Error::Usage(format!(
            "the threshold {threshold} is not a number"
        )));
    }
    Ok(Some(Guard::Prometheus {
        url: url.clone(),
        query: s.query.clone().unwrap_or_default(),
        op,
        threshold,
        no_data_passes: s.no_data_passes,
        check_interval,
    }))
}

fn op_of(op: GuardOpArg) -> GuardOp {
    match op {
        GuardOpArg::Lt => GuardOp::Lt,
        GuardOpArg::Lte => GuardOp::Lte,
        GuardOpArg::Gt => GuardOp::Gt,
        GuardOpArg::Gte => GuardOp::Gte,
    }
}

pub(super) fn release_path(ctx: &Ctx, key: &str) -> Result<String> {
    Ok(format!("{}/release", ctx.flag_path(key)?))
}

/// Starts a plan; prints it, or follows it with `--follow`.
async fn start(ctx: &Ctx, key: &str, args: &ReleaseArgs) -> Result<Outcome> {
    let request = request(args, ctx.reason.clone())?;
    let what = ctx.flag_what(key);
    if args.dry_run {
        let flag = fetch(ctx, key).await?;
        return dry_run(ctx, key, &flag, &request);
    }
    // Open the stream first, so that no step made right after the start is missed.
    let stream = if args.server.follow {
        open_stream(ctx).await
    } else {
        None
    };
    let plan: ReleasePlan = ctx
        .client
        .post(&release_path(ctx, key)?, &request, &what)
        .await?;
    if !args.server.follow {
        if ctx.output == Output::Json {
            output::json(&plan)?;
        } else {
            output::line(format!("started release {} of {what}", plan.id))?;
            show(&plan)?;
            output::line(format!(
                "the server runs it: flag-cli release status {key} [--follow] shows it, \
                 flag-cli release pause|resume|abort {key} steers it"
            ))?;
        }
        return Ok(Outcome::Done);
    }
    if ctx.output == Output::Table {
        output::note(format!(
            "started release {} of {what}: {} every {}; following it (Ctrl-C stops following, not the plan)",
            plan.id,
            steps_text(&plan.steps),
            plan.interval
        ));
    }
    follow(ctx, key, plan, stream).await
}

fn dry_run(ctx: &Ctx, key: &str, flag: &StoredFlag, request: &ReleaseRequest) -> Result<Outcome> {
    if ctx.output == Output::Json {
        output::json(&json!({
            "key": key, "environment": ctx.env()?, "dry_run": true,
            "enabled": flag.flag.enabled, "current": flag.flag.percentage,
            "request": request,
        }))?;
        return Ok(Outcome::Done);
    }
    output::line(format!(
        "release plan for {} (now {}, {}%), for the server to run:",
        ctx.flag_what(key),
        if flag.flag.enabled {
            "enabled"
        } else {
            "disabled"
        },
        flag.flag.percentage
    ))?;
    let n = request.steps.len();
    for (i, p) in request.steps.iter().enumerate() {
        if i > 0 {
            output::line(format!("  wait {}", request.interval))?;
        }
        output::line(format!("  step {}/{n}: set the percentage to {p}%", i + 1))?;
    }
    output::line(format!(
        "  wait {}, then the plan is complete",
        request.interval
    ))?;
    if let Some(g) = &request.guard {
        output::line(format!(
            "guard: {}; a failed guard sets the percentage to {}%",
            guard_text(g),
            request.rollback_to.unwrap_or(Percentage::ZERO)
        ))?;
    }
    let body = serde_json::to_string(request).map_err(|e| Error::Output(e.to_string()))?;
    output::line(format!("POST /api/v1{}: {body}", release_path(ctx, key)?))?;
    output::line("dry run: nothing was sent")?;
    Ok(Outcome::Done)
}

/// `release status KEY [--follow]`.
async fn status(ctx: &Ctx, key: &str, follow_it: bool) -> Result<Outcome> {
    let what = format!("release plan of {}", ctx.flag_what(key));
    let stream = if follow_it {
        open_stream(ctx).await
    } else {
        None
    };
    let plan: ReleasePlan = ctx.client.get(&release_path(ctx, key)?, &what).await?;
    if follow_it {
        return follow(ctx, key, plan, stream).await;
    }
    if ctx.output == Output::Json {
        output::json(&plan)?;
    } else {
        output::line(format!(
            "release {} of {}: {}",
            plan.id,
            ctx.flag_what(key),
            status_name(plan.status)
        ))?;
        show(&plan)?;
    }
    Ok(Outcome::Done)
}

/// `release pause|resume|abort KEY`.
async fn control(ctx: &Ctx, key: &str, verb: &str) -> Result<Outcome> {
    let what = format!("release plan of {}", ctx.flag_what(key));
    let path = format!("{}/{verb}", release_path(ctx, key)?);
    let plan: ReleasePlan = ctx.client.call(Method::POST, &path, None, &what).await?;
    if ctx.output == Output::Json {
        output::json(&plan)?;
        return Ok(Outcome::Done);
    }
    let step = format!(
        "step {}/{}{}",
        plan.step,
        plan.steps.len(),
        current(&plan)
            .map(|p| format!(", {p}%"))
            .unwrap_or_default()
    );
    output::line(format!(
        "release {} of {key} {} ({step})",
        plan.id,
        status_name(plan.status)
    ))?;
    if plan.status == ReleaseStatus::Paused {
        output::line(format!(
            "flag-cli release resume {key} goes on; flag-cli release abort {key} stops it"
        ))?;
    }
    Ok(Outcome::Done)
}

/// `release list`.
async fn list(ctx: &Ctx) -> Result<Outcome> {
    let list: ReleaseList = ctx
        .client
        .get(&ctx.env_path("/releases")?, &ctx.env_what())
        .await?;
    if ctx.output == Output::Json {
        output::json(&list)?;
        return Ok(Outcome::Done);
    }
    if list.releases.is_empty() {
        output::note(format!("no release plan in {}", ctx.env_what()));
        return Ok(Outcome::Done);
    }
    let rows = list
        .releases
        .iter()
        .map(|p| {
            vec![
                p.key.clone(),
                p.id.clone(),
                status_name(p.status).to_owned(),
                format!("{}/{}", p.step, p.steps.len()),
                current(p).map(|c| format!("{c}%")).unwrap_or_default(),
                p.next_at.map(time).unwrap_or_default(),
                p.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::table(
        &[
            "KEY",
            "ID",
            "STATUS",
            "STEP",
            "PERCENTAGE",
            "NEXT",
            "MESSAGE",
        ],
        rows,
    )?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn server() -> ServerReleaseArgs {
        ServerReleaseArgs {
            guard_url: None,
            prometheus: None,
            query: None,
            max: None,
            min: None,
            op: None,
            threshold: None,
            no_data_passes: false,
            check_interval: None,
            rollback_to: None,
            follow: false,
        }
    }

    #[test]
    fn guards_from_options() {
        assert_eq!(guard(&server()).unwrap(), None);
        let mut s = server();
        s.guard_url = Some("http://h/healthz".into());
        s.check_interval = Some(Duration::from_secs(5));
        assert_eq!(
            guard(&s).unwrap(),
            Some(Guard::Http {
                url: "http://h/healthz".into(),
                check_interval: Some("5s".into())
            })
        );
        let mut s = server();
        s.prometheus = Some("http://p:9090".into());
        s.query = Some("errors".into());
        assert!(guard(&s).is_err(), "a comparison is needed");
        s.max = Some(0.5);
        let Some(Guard::Prometheus { op, threshold, .. }) = guard(&s).unwrap() else {
            panic!()
        };
        assert_eq!((op, threshold), (GuardOp::Lte, 0.5));
        s.max = None;
        s.op = Some(GuardOpArg::Gt);
        s.threshold = Some(1.0);
        let Some(Guard::Prometheus { op, .. }) = guard(&s).unwrap() else {
            panic!()
        };
        assert_eq!(op, GuardOp::Gt);
        let mut s = server();
        s.check_interval = Some(Duration::from_secs(5));
        assert!(guard(&s).is_err(), "--check-interval without a guard");
    }
}
