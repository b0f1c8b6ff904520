//! Following a release plan the server runs (`--follow`: the admin stream for the flag's
//! changes, the plan polled for its status), and showing a plan to people.

use super::flags::fetch;
use super::release::Reporter;
use super::release_server::release_path;
use super::{Ctx, Outcome};
use crate::cli::Output;
use crate::error::{Error, Result};
use crate::output;
use chrono::{DateTime, SecondsFormat, Utc};
use flag_sdk::wire::sse::{EventStream, StreamError, StreamEvent};
use flag_sdk::wire::{Guard, ReleasePlan, ReleaseStatus, StoredFlag};
use flag_sdk::Percentage;
use std::time::Duration;

/// How often `--follow` reads the plan.
const POLL: Duration = Duration::from_millis(500);
/// The server sends a comment at least every 15 s; silence this long means a dead connection.
const IDLE_LIMIT: Duration = Duration::from_secs(45);
/// How long a follower waits for the rollback write after the plan says rolled back.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);
/// Failed reads of the plan in a row (the server restarting) that `--follow` tolerates.
const MAX_POLL_FAILURES: u32 = 60;

/// Prints a plan's details (after a first line naming it).
pub(super) fn show(plan: &ReleasePlan) -> Result<()> {
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
pub(super) async fn open_stream(ctx: &Ctx) -> Option<EventStream> {
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

pub(super) async fn next_event(
    stream: &mut Option<EventStream>,
) -> Option<std::result::Result<StreamEvent, StreamError>> {
    match stream {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// Follows a plan to its end: 0 when it completes, [`Error::ReleaseFailed`] when it is rolled
/// back or aborted, [`Error::Interrupted`] on Ctrl-C (the plan goes on).
pub(super) async fn follow(
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
pub(super) async fn settled(ctx: &Ctx, key: &str, p: Percentage) {
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
pub(super) fn finished(
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
pub(super) fn progress(plan: &ReleasePlan) -> String {
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
pub(super) fn current(plan: &ReleasePlan) -> Option<Percentage> {
    plan.step
        .checked_sub(1)
        .and_then(|i| plan.steps.get(i))
        .copied()
}

pub(super) fn status_name(s: ReleaseStatus) -> &'static str {
    match s {
        ReleaseStatus::Running => "running",
        ReleaseStatus::Paused => "paused",
        ReleaseStatus::Completed => "completed",
        ReleaseStatus::RolledBack => "rolled back",
        ReleaseStatus::Aborted => "aborted",
    }
}

pub(super) fn steps_text(steps: &[Percentage]) -> String {
    steps
        .iter()
        .map(|p| format!("{p}%"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A guard in words.
pub(super) fn guard_text(g: &Guard) -> String {
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

pub(super) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
