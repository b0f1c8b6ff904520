//! The arguments of `release` (a plan the server runs, its subcommands, the local loop) and
//! of `schedule`.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use crate::cli::{parse_interval, parse_percent};

/// Arguments of `release`: start a plan (`release KEY --steps ...`), or a subcommand.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// What to do with an existing plan; absent: start one.
    #[command(subcommand)]
    pub command: Option<ReleaseCommand>,
    /// The flag's key.
    #[arg(required = true)]
    pub key: Option<String>,
    /// Percentages to raise to, in increasing order.
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_percent)]
    pub steps: Vec<f64>,
    /// Wait between steps: `10m`, `30s`, `1h 30m` (the server takes 1s to 30d).
    #[arg(long, value_parser = parse_interval, default_value = "10m")]
    pub interval: Duration,
    /// Run the release in this process (a loop in the CLI, with --check) instead of on the server.
    #[arg(long)]
    pub local: bool,
    /// With --local: health check run with `sh -c` before each step; a non-zero exit rolls back to 0.
    #[arg(long)]
    pub check: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The guard, the rollback percentage and --follow of a plan the server runs.
    #[command(flatten)]
    pub server: ServerReleaseArgs,
}

/// The options of a release the server runs.
#[derive(Debug, Args)]
pub struct ServerReleaseArgs {
    /// HTTP guard: the plan rolls back when `GET URL` answers anything but 2xx.
    #[arg(long, value_name = "URL", conflicts_with = "prometheus")]
    pub guard_url: Option<String>,
    /// Prometheus guard: the server's base URL (`/api/v1/query` is appended); needs --query.
    #[arg(long, value_name = "URL", requires = "query")]
    pub prometheus: Option<String>,
    /// The PromQL instant query of the Prometheus guard.
    #[arg(long, requires = "prometheus")]
    pub query: Option<String>,
    /// The guard passes while every sample is at most X (`--op lte --threshold X`).
    #[arg(long, value_name = "X", requires = "prometheus", conflicts_with_all = ["min", "op"])]
    pub max: Option<f64>,
    /// The guard passes while every sample is at least X (`--op gte --threshold X`).
    #[arg(long, value_name = "X", requires = "prometheus", conflicts_with = "op")]
    pub min: Option<f64>,
    /// The comparison of the Prometheus guard: value OP threshold must hold; needs --threshold.
    #[arg(long, value_enum, requires_all = ["prometheus", "threshold"])]
    pub op: Option<GuardOpArg>,
    /// The threshold of --op.
    #[arg(long, value_name = "X", requires = "op")]
    pub threshold: Option<f64>,
    /// A query that returns no sample passes (default: it fails the guard).
    #[arg(long, requires = "prometheus")]
    pub no_data_passes: bool,
    /// How often the server checks the guard (`1s` to `1h`; the server's default is 10s).
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub check_interval: Option<Duration>,
    /// The percentage a failed guard sets (default 0).
    #[arg(long, value_name = "P", value_parser = parse_percent)]
    pub rollback_to: Option<f64>,
    /// Follow the plan to its end: exit 0 when it completes, 1 when rolled back or aborted.
    #[arg(long)]
    pub follow: bool,
}

/// `--op` of a Prometheus guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GuardOpArg {
    /// value < threshold
    Lt,
    /// value <= threshold
    Lte,
    /// value > threshold
    Gt,
    /// value >= threshold
    Gte,
}

/// `release` subcommands: the plan the server runs for a flag.
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Show the flag's latest plan: status, step, next step, last guard check, message.
    #[command(after_help = "Examples:\n  \
        flag-cli --env production release status new_checkout\n  \
        flag-cli --env production release status new_checkout --follow   # exit 0 completed, 1 rolled back/aborted")]
    Status {
        /// The flag's key.
        key: String,
        /// Follow the plan to its end, like `release KEY --follow`.
        #[arg(long)]
        follow: bool,
    },
    /// Pause a running plan: no step and no guard check until it is resumed.
    #[command(after_help = "Example:\n  flag-cli --env production release pause new_checkout")]
    Pause {
        /// The flag's key.
        key: String,
    },
    /// Resume a paused plan: the current step is watched a whole interval before the next.
    #[command(after_help = "Example:\n  flag-cli --env production release resume new_checkout")]
    Resume {
        /// The flag's key.
        key: String,
    },
    /// Abort a running or paused plan; the flag stays where it is.
    #[command(after_help = "Example:\n  flag-cli --env production release abort new_checkout")]
    Abort {
        /// The flag's key.
        key: String,
    },
    /// List the latest plan of every flag of the environment that had one.
    #[command(after_help = "Example:\n  flag-cli --env production release list --output json")]
    List,
}

/// Arguments of `schedule`: schedule a change (`schedule KEY --at TIME ...`), or a subcommand.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("change").required(true).args(["enable", "disable", "percentage", "patch"])))]
pub struct ScheduleArgs {
    /// List or cancel scheduled changes; absent: schedule one.
    #[command(subcommand)]
    pub command: Option<ScheduleCommand>,
    /// The flag's key.
    #[arg(required = true)]
    pub key: Option<String>,
    /// When: RFC 3339 (`2026-12-01T09:00:00Z`) or from now (`+30m`, `in 2h`).
    #[arg(long, value_name = "TIME", required = true, value_parser = parse_at)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// Switch the flag on then.
    #[arg(long)]
    pub enable: bool,
    /// Switch the flag off then.
    #[arg(long)]
    pub disable: bool,
    /// Set the rollout percentage then.
    #[arg(long, short = 'p', value_name = "P", value_parser = parse_percent)]
    pub percentage: Option<f64>,
    /// Apply this JSON merge patch then (an object, as `PATCH .../flags/KEY` takes).
    #[arg(long, value_name = "JSON")]
    pub patch: Option<String>,
}

/// `schedule` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// List scheduled changes (pending ones, and applied or failed ones of the last 7 days).
    #[command(after_help = "Examples:\n  \
        flag-cli --env production schedule list\n  \
        flag-cli --env production schedule list new_checkout --output json")]
    List {
        /// Only this flag's.
        key: Option<String>,
    },
    /// Cancel a pending scheduled change.
    #[command(
        after_help = "Example:\n  flag-cli --env production schedule cancel new_checkout sch_0123456789abcdef"
    )]
    Cancel {
        /// The flag's key.
        key: String,
        /// The scheduled change's id (from `schedule list`).
        id: String,
    },
}

/// Parses `--at`: RFC 3339, or `+DURATION` / `in DURATION` from now.
pub fn parse_at(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let t = s.trim();
    let relative = t
        .strip_prefix('+')
        .or_else(|| t.strip_prefix("in "))
        .map(str::trim);
    if let Some(d) = relative {
        let d = humantime::parse_duration(d)
            .map_err(|e| format!("{s:?} is not a duration like +30m or 'in 2h': {e}"))?;
        let d = chrono::Duration::from_std(d).map_err(|_| format!("{s:?} is too far ahead"))?;
        return chrono::Utc::now()
            .checked_add_signed(d)
            .ok_or_else(|| format!("{s:?} is too far ahead"));
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            format!(
                "{s:?} is not a time: give RFC 3339 (2026-12-01T09:00:00Z) or a duration from now (+30m, 'in 2h'): {e}"
            )
        })
}
