//! `release KEY --steps 1,5,25,100 --interval 10m [guard] [--follow]`: a release plan the server
//! runs (`POST .../flags/{key}/release`), and `release status|pause|resume|abort KEY`,
//! `release list`. `--local` hands over to [`super::release`], the loop in this process.
//!
//! `--follow` reads the environment's admin stream for the flag's changes (a step line as soon
//! as the percentage moves) and polls the plan every [`POLL`] for its status; a step the stream
//! did not show (it broke, or the change came before it was open) is reported from the plan, so
//! each step gets exactly one line.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use flag_sdk::wire::sse::{EventStream, StreamError, StreamEvent};
use flag_sdk::wire::{
    Guard, GuardOp, ReleaseList, ReleasePlan, ReleaseRequest, ReleaseStatus, StoredFlag,
};
use flag_sdk::Percentage;
use reqwest::Method;
use serde_json::json;

use super::flags::fetch;
use super::release::{self, parse_steps, Reporter};
use super::{Ctx, Outcome};
use crate::cli::{GuardOpArg, Output, ReleaseArgs, ReleaseCommand, ServerReleaseArgs};
use crate::error::{Error, Result};
use crate::output;

/// How often `--follow` reads the plan.
const POLL: Duration = Duration::from_millis(500);
/// The server sends a comment at least every 15 s; silence this long means a dead connection.
const IDLE_LIMIT: Duration = Duration::from_secs(45);
/// How long a follower waits for the rollback write after the plan says rolled back.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);
/// Failed reads of the plan in a row (the server restarting) that `--follow` tolerates.
const MAX_POLL_FAILURES: u32 = 60;

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

fn release_path(ctx: &Ctx, key: &str) -> Result<String> {
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

/// Prints a plan's details (after a first line naming it).
fn show(plan: &ReleasePlan) -> Result<()> {
    let n = plan.steps.len();
    output::line(format!(
        "  steps:       {} every {}",
        steps_text(&plan.steps),
        plan.interval
    ))?;
    output::line(format!(
        "  step:        {}/{n}{}",
        plan.step,
        current(plan)
            .map(|p| format!(" ({p}%)"))
            .unwrap_or_default()
    ))?;
    if let Some(t) = plan.next_at {
        let next = if plan.step < n {
            format!("step {}/{n} ({}%)", plan.step + 1, plan.steps[plan.step])
        } else {
            "completion".to_owned()
        };
        output::line(format!("  next:        {next} at {}", time(t)))?;
    }
    match &plan.guard {
        Some(g) => output::line(format!(
            "  guard:       {}; rollback to {}%",
            guard_text(g),
            plan.rollback_to
        ))?,
        None => output::line("  guard:       none (the plan only waits)")?,
    }
    if let Some(c) = &plan.last_check {
        output::line(format!(
            "  last check:  {} at {}: {}",
            c.outcome,
            time(c.at),
            c.detail
        ))?;
    }
    if let Some(m) = &plan.message {
        output::line(format!("  message:     {m}"))?;
    }
    let reason = plan
        .reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    output::line(format!(
        "  started:     by {} at {}{reason}",
        plan.created_by,
        time(plan.created_at)
    ))?;
    Ok(())
}

/// Opens the environment's admin stream; `None` (and a note) when it cannot be opened, in
/// which case following relies on the plan alone.
async fn open_stream(ctx: &Ctx) -> Option<EventStream> {
    let path = ctx.env_path("/stream").ok()?;
    match ctx.client.stream(&path, None, &ctx.env_what()).await {
        Ok(resp) => Some(EventStream::new(resp).idle_limit(IDLE_LIMIT)),
        Err(e) => {
            let first = e.to_string().lines().next().unwrap_or_default().to_owned();
            output::note(format!(
                "cannot read the change stream ({first}); following the plan only"
            ));
            None
        }
    }
}

async fn next_event(
    stream: &mut Option<EventStream>,
) -> Option<std::result::Result<StreamEvent, StreamError>> {
    match stream {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// Follows a plan to its end: 0 when it completes, [`Error::ReleaseFailed`] when it is rolled
/// back or aborted, [`Error::Interrupted`] on Ctrl-C (the plan goes on).
async fn follow(
    ctx: &Ctx,
    key: &str,
    mut plan: ReleasePlan,
    mut stream: Option<EventStream>,
) -> Result<Outcome> {
    let n = plan.steps.len();
    let what = ctx.flag_what(key);
    let path = release_path(ctx, key)?;
    let mut report = Reporter::new(ctx.output, n);
    report.position(plan.step);
    // Steps made before (or counted as done when the plan started) get no line.
    let mut reported = plan.step;
    let mut last_status = plan.status;
    let mut failures = 0u32;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => {
                report.finish();
                return Err(Error::Interrupted(format!(
                    "stopped following release {} of {what} at step {}/{n}: the plan goes on on the server; \
                     flag-cli release pause {key} to stop it",
                    plan.id, plan.step
                )));
            }
            event = next_event(&mut stream) => match event {
                Some(Ok(StreamEvent::Put { data, .. })) => {
                    let Ok(f) = StoredFlag::from_value(data.flag) else { continue };
                    if f.flag.key.as_str() != key || !plan.status.is_active() {
                        continue;
                    }
                    let p = f.flag.percentage;
                    // The plan as last read may lag one step behind the stream, not more:
                    // a percentage further on is someone else's change, not a step.
                    let step_of = plan.steps.iter().position(|s| *s == p);
                    if let Some(i) = step_of.filter(|&i| i <= plan.step) {
                        while reported <= i {
                            reported += 1;
                            let s = plan.steps[reported - 1];
                            report.event(reported, s, "raised", &format!("{key} at {s}%"))?;
                        }
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    output::note(format!("the change stream broke ({e}); following the plan only"));
                    stream = None;
                }
                None => {
                    output::note("the server closed the change stream; following the plan only");
                    stream = None;
                }
            },
            _ = tick.tick() => {
                let fresh: ReleasePlan = match ctx.client.get(&path, &what).await {
                    Ok(p) => p,
                    Err(e @ (Error::Unreachable { .. } | Error::Server { .. }))
                        if failures < MAX_POLL_FAILURES =>
                    {
                        // One failure is often a pooled connection the server closed.
                        if failures == 1 {
                            let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                            output::note(format!("{first}; trying again"));
                        }
                        failures += 1;
                        continue;
                    }
                    Err(e) => {
                        report.finish();
                        return Err(e);
                    }
                };
                failures = 0;
                if fresh.id != plan.id {
                    report.finish();
                    return Err(Error::ReleaseFailed(format!(
                        "release {} of {what} was replaced by release {} (started by {})",
                        plan.id, fresh.id, fresh.created_by
                    )));
                }
                plan = fresh;
                // Steps the stream did not show.
                while reported < plan.step && plan.status != ReleaseStatus::RolledBack {
                    reported += 1;
                    let s = plan.steps[reported - 1];
                    report.event(reported, s, "raised", &format!("{key} at {s}%"))?;
                }
                if plan.status != last_status && ctx.output == Output::Table {
                    match plan.status {
                        ReleaseStatus::Paused => output::note(format!(
                            "release {} paused: {}; flag-cli release resume {key} goes on",
                            plan.id,
                            plan.message.as_deref().unwrap_or("")
                        )),
                        ReleaseStatus::Running if last_status == ReleaseStatus::Paused => {
                            output::note(format!("release {} resumed", plan.id))
                        }
                        _ => {}
                    }
                }
                last_status = plan.status;
                report.status(&progress(&plan));
                if plan.status == ReleaseStatus::RolledBack {
                    settled(ctx, key, plan.rollback_to).await;
                }
                if let Some(end) = finished(ctx, key, &plan, &mut report)? {
                    return end;
                }
            }
        }
    }
}

/// Waits (a little) until the flag is at `p`: a plan is marked rolled back just before the
/// server writes the rollback, and the CLI should not say "set back" before it is.
async fn settled(ctx: &Ctx, key: &str, p: Percentage) {
    let deadline = tokio::time::Instant::now() + SETTLE_LIMIT;
    while tokio::time::Instant::now() < deadline {
        match fetch(ctx, key).await {
            Ok(f) if f.flag.percentage != p => {}
            // There, or gone, or unreadable: nothing more to wait for.
            _ => return,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The end of a plan that is over; `None` while it runs or is paused.
fn finished(
    ctx: &Ctx,
    key: &str,
    plan: &ReleasePlan,
    report: &mut Reporter,
) -> Result<Option<Result<Outcome>>> {
    let what = ctx.flag_what(key);
    let message = plan.message.clone().unwrap_or_default();
    Ok(Some(match plan.status {
        ReleaseStatus::Running | ReleaseStatus::Paused => return Ok(None),
        ReleaseStatus::Completed => {
            report.finish();
            let at = plan.steps.last().copied().unwrap_or_default();
            output::result(
                ctx.output,
                format!("release {} of {what} complete: {at}%", plan.id),
                plan,
            )?;
            Ok(Outcome::Done)
        }
        ReleaseStatus::RolledBack => {
            report.event(
                plan.step,
                plan.rollback_to,
                "rolled_back",
                &format!("{key} set back to {}%", plan.rollback_to),
            )?;
            report.finish();
            let check = plan
                .last_check
                .as_ref()
                .map(|c| {
                    format!(
                        "\nlast guard check ({}) at {}: {}",
                        c.outcome,
                        time(c.at),
                        c.detail
                    )
                })
                .unwrap_or_default();
            let guard = plan.guard.as_ref().map(guard_text).unwrap_or_default();
            Err(Error::ReleaseFailed(format!(
                "release {} of {what} was rolled back at step {}/{}: {message}\nguard: {guard}{check}",
                plan.id,
                plan.step,
                plan.steps.len()
            )))
        }
        ReleaseStatus::Aborted => {
            report.finish();
            Err(Error::ReleaseFailed(format!(
                "release {} of {what} was aborted at step {}/{}: {message}",
                plan.id,
                plan.step,
                plan.steps.len()
            )))
        }
    }))
}

/// The bar's message for a plan.
fn progress(plan: &ReleasePlan) -> String {
    let n = plan.steps.len();
    match plan.status {
        ReleaseStatus::Paused => format!("paused: {}", plan.message.as_deref().unwrap_or("")),
        ReleaseStatus::Running => match plan.next_at {
            Some(t) if plan.step < n => format!(
                "step {}/{n} ({}%) at {}",
                plan.step + 1,
                plan.steps[plan.step],
                time(t)
            ),
            Some(t) => format!("complete at {}", time(t)),
            None => "running".into(),
        },
        other => status_name(other).to_owned(),
    }
}

/// The percentage of the plan's current step.
fn current(plan: &ReleasePlan) -> Option<Percentage> {
    plan.step
        .checked_sub(1)
        .and_then(|i| plan.steps.get(i))
        .copied()
}

fn status_name(s: ReleaseStatus) -> &'static str {
    match s {
        ReleaseStatus::Running => "running",
        ReleaseStatus::Paused => "paused",
        ReleaseStatus::Completed => "completed",
        ReleaseStatus::RolledBack => "rolled back",
        ReleaseStatus::Aborted => "aborted",
    }
}

fn steps_text(steps: &[Percentage]) -> String {
    steps
        .iter()
        .map(|p| format!("{p}%"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A guard in words.
fn guard_text(g: &Guard) -> String {
    match g {
        Guard::Http {
            url,
            check_interval,
        } => format!(
            "GET {url} answers 2xx (checked every {})",
            check_interval.as_deref().unwrap_or("10s")
        ),
        Guard::Prometheus {
            url,
            query,
            op,
            threshold,
            no_data_passes,
            check_interval,
        } => format!(
            "Prometheus {url}: {query} {} {threshold}{} (checked every {})",
            op.symbol(),
            if *no_data_passes {
                ", no data passes"
            } else {
                ""
            },
            check_interval.as_deref().unwrap_or("10s")
        ),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

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
