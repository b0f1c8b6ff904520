//! `release KEY --local --steps 1,5,25,100 --interval 10m [--check CMD]`: a progressive rollout
//! this process runs, with a health check before each step and a rollback to 0 when a check
//! fails. (A release the server runs is [`super::release_server`]; it shares [`Reporter`].)

use std::io::IsTerminal;
use std::process::Stdio;
use std::time::Duration;

use flag_sdk::Percentage;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::flags::fetch;
use super::{Ctx, Outcome};
use crate::cli::{Output, ReleaseArgs};
use crate::error::{Error, Result};
use crate::output;
use flag_sdk::wire::StoredFlag;

/// Most bytes of a failed check's output that are shown.
const MAX_CHECK_OUTPUT: usize = 4000;

/// Runs a release in this process (`--local`).
pub async fn run_local(ctx: &Ctx, key: &str, args: &ReleaseArgs) -> Result<Outcome> {
    let steps = parse_steps(&args.steps)?;
    let flag = fetch(ctx, key).await?;
    let start = flag.flag.percentage;
    let n = steps.len();
    let base = ctx
        .reason
        .clone()
        .unwrap_or_else(|| "flag-cli release".into());
    let interval = humantime::format_duration(args.interval).to_string();

    if args.dry_run {
        return dry_run(ctx, key, args, &flag, &steps, &interval);
    }
    if !flag.flag.enabled {
        output::note(format!(
            "warning: {} is disabled; the percentages take effect once it is enabled",
            ctx.flag_what(key)
        ));
    }

    let mut report = Reporter::new(ctx.output, n);
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut at = start;
    let mut raised_any = false;
    for (i, &p) in steps.iter().enumerate() {
        let step = i + 1;
        if p <= at {
            report.event(step, p, "skipped", &format!("already at {at}%"))?;
            continue;
        }
        if raised_any {
            report.waiting(step, &interval);
            tokio::select! {
                () = tokio::time::sleep(args.interval) => {}
                _ = &mut ctrl_c => return Err(interrupted(ctx, key, step, n, at, &mut report)),
            }
        }
        if let Some(cmd) = &args.check {
            report.checking(step, cmd);
            let check = tokio::select! {
                r = run_check(cmd) => r?,
                _ = &mut ctrl_c => return Err(interrupted(ctx, key, step, n, at, &mut report)),
            };
            if !check.success {
                report.finish();
                let reason =
                    format!("{base} (release rollback: check failed before step {step}/{n}: {p}%)");
                let rolled = set_percentage(ctx, key, Percentage::ZERO, &reason).await;
                let rollback = match &rolled {
                    Ok(_) => format!("{key} was set back to 0%"),
                    Err(e) => format!("setting {key} back to 0% FAILED: {e}"),
                };
                report.event(step, p, "rolled_back", &rollback)?;
                return Err(Error::ReleaseFailed(format!(
                    "release of {} stopped: the check failed before step {step}/{n} ({p}%); {rollback}\n\
                     check `{cmd}` {}\n--- check output ---\n{}",
                    ctx.flag_what(key),
                    check.status,
                    check.output.trim_end()
                )));
            }
        }
        let reason = format!("{base} (release step {step}/{n}: {p}%)");
        set_percentage(ctx, key, p, &reason).await?;
        at = p;
        raised_any = true;
        report.event(step, p, "raised", &format!("{key} at {p}%"))?;
    }
    report.finish();
    output::result(
        ctx.output,
        format!("release of {} complete: {at}%", ctx.flag_what(key)),
        &json!({ "key": key, "environment": ctx.env()?, "percentage": at, "status": "complete" }),
    )?;
    Ok(Outcome::Done)
}

/// Checks `--steps`: valid percentages, increasing, at least one.
pub(super) fn parse_steps(steps: &[f64]) -> Result<Vec<Percentage>> {
    let mut out: Vec<Percentage> = Vec::with_capacity(steps.len());
    for &s in steps {
        let p = Percentage::from_f64(s).map_err(|m| Error::Usage(format!("--steps: {s} {m}")))?;
        if out.last().is_some_and(|&last| p <= last) {
            return Err(Error::Usage(format!(
                "--steps must increase: {s} follows {}",
                out[out.len() - 1]
            )));
        }
        out.push(p);
    }
    if out.is_empty() {
        return Err(Error::Usage(
            "--steps needs at least one percentage, like 1,5,25,100".into(),
        ));
    }
    Ok(out)
}

fn dry_run(
    ctx: &Ctx,
    key: &str,
    args: &ReleaseArgs,
    flag: &StoredFlag,
    steps: &[Percentage],
    interval: &str,
) -> Result<Outcome> {
    let n = steps.len();
    if ctx.output == Output::Json {
        output::json(&json!({
            "key": key, "environment": ctx.env()?, "dry_run": true,
            "enabled": flag.flag.enabled, "current": flag.flag.percentage,
            "steps": steps, "interval": interval, "check": args.check,
        }))?;
        return Ok(Outcome::Done);
    }
    output::line(format!(
        "release plan for {} (now {}, {}%):",
        ctx.flag_what(key),
        if flag.flag.enabled {
            "enabled"
        } else {
            "disabled"
        },
        flag.flag.percentage
    ))?;
    for (i, p) in steps.iter().enumerate() {
        if i > 0 {
            output::line(format!("  wait {interval}"))?;
        }
        let check = args
            .check
            .as_deref()
            .map(|c| format!("run `{c}`, then "))
            .unwrap_or_default();
        output::line(format!(
            "  step {}/{n}: {check}set the percentage to {p}%",
            i + 1
        ))?;
    }
    if args.check.is_some() {
        output::line("a failed check sets the percentage back to 0% and stops")?;
    }
    output::line("dry run: nothing was changed")?;
    Ok(Outcome::Done)
}

async fn set_percentage(ctx: &Ctx, key: &str, p: Percentage, reason: &str) -> Result<()> {
    let client = ctx.client.with_reason(reason)?;
    client
        .patch::<StoredFlag>(
            &ctx.flag_path(key)?,
            &json!({ "percentage": p }),
            &ctx.flag_what(key),
        )
        .await?;
    Ok(())
}

struct CheckResult {
    success: bool,
    status: String,
    output: String,
}

/// Runs the check with `sh -c`, capturing stdout and stderr.
async fn run_check(cmd: &str) -> Result<CheckResult> {
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Error::Usage(format!("cannot run the check `{cmd}` with sh: {e}")))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if text.len() > MAX_CHECK_OUTPUT {
        let mut cut = text.len() - MAX_CHECK_OUTPUT;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text = format!("[…]{}", &text[cut..]);
    }
    if text.trim().is_empty() {
        text = "(no output)".into();
    }
    let status = match out.status.code() {
        Some(c) => format!("exited with {c}"),
        None => "was killed by a signal".into(),
    };
    Ok(CheckResult {
        success: out.status.success(),
        status,
        output: text,
    })
}

fn interrupted(
    ctx: &Ctx,
    key: &str,
    step: usize,
    n: usize,
    at: Percentage,
    report: &mut Reporter,
) -> Error {
    report.finish();
    Error::Interrupted(format!(
        "interrupted before step {step}/{n}: {} left at {at}% (nothing was rolled back)",
        ctx.flag_what(key)
    ))
}

/// Progress: a bar on a terminal, plain lines otherwise, JSON lines with `--output json`.
pub(super) struct Reporter {
    mode: Output,
    bar: Option<ProgressBar>,
    n: usize,
}

impl Reporter {
    /// A reporter of `n` steps.
    pub(super) fn new(mode: Output, n: usize) -> Reporter {
        let bar = (mode == Output::Table && std::io::stdout().is_terminal()).then(|| {
            let bar = ProgressBar::new(n as u64);
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Reporter { mode, bar, n }
    }

    fn waiting(&self, step: usize, interval: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("waiting {interval} before step {step}/{}", self.n));
        }
    }

    fn checking(&self, step: usize, cmd: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("checking `{cmd}` before step {step}/{}", self.n));
        }
    }

    /// What is going on now, on the bar (nothing without one).
    pub(super) fn status(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(text.to_owned());
        }
    }

    /// Moves the bar to `step` without a line (a plan that counted steps as done).
    pub(super) fn position(&self, step: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
        }
    }

    /// One step's event: a line (or a JSON line) and the bar at `step`.
    pub(super) fn event(
        &mut self,
        step: usize,
        p: Percentage,
        status: &str,
        text: &str,
    ) -> Result<()> {
        let n = self.n;
        match (&self.bar, self.mode) {
            (_, Output::Json) => output::json_line(&json!({
                "step": step, "of": n, "percentage": p, "status": status, "message": text,
            })),
            (Some(bar), _) => {
                bar.set_position(step as u64);
                bar.println(format!("step {step}/{n} ({p}%): {status}: {text}"));
                Ok(())
            }
            (None, _) => output::line(format!("step {step}/{n} ({p}%): {status}: {text}")),
        }
    }

    /// Removes the bar.
    pub(super) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_must_be_valid_and_increase() {
        assert_eq!(parse_steps(&[1.0, 50.0, 100.0]).unwrap().len(), 3);
        assert!(parse_steps(&[5.0, 1.0]).is_err());
        assert!(parse_steps(&[1.0, 101.0]).is_err());
        assert!(parse_steps(&[0.001]).is_err());
    }
}
