//! The command line: global options and every subcommand, with an example in each help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use flag_sdk::StaleDays;

pub use crate::release_args::{
    GuardOpArg, ReleaseArgs, ReleaseCommand, ScheduleArgs, ScheduleCommand, ServerReleaseArgs,
};
use crate::typed_args::{
    OffVariantArgs, PrerequisitesArgs, ServeArgs, TypedCreateArgs, VariantsArgs,
};

/// Command-line tool for the flag service.
#[derive(Debug, Parser)]
#[command(
    name = "flag-cli",
    version,
    about = "Manage feature flags: CRUD, toggles, rollouts, flags-as-code, progressive releases",
    after_help = "Examples:\n  \
        export FLAG_SERVER_URL=http://127.0.0.1:8080 FLAG_TOKEN=<admin token> FLAG_ENV=development\n  \
        flag-cli flags list\n  \
        flag-cli --env production flags rollout new_checkout 25 --reason \"canary\"\n  \
        flag-cli export -f flags.yaml && flag-cli plan -f flags.yaml\n\n\
        Exit codes: 0 success, 1 error, 2 drift found by `plan`, `apply --check` or\n\
        `promote --dry-run`, or stale flags found by `flags stale`."
)]
pub struct Cli {
    /// Options accepted before or after the subcommand.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the subcommand.
#[derive(Args)]
pub struct GlobalOpts {
    /// Base URL of the flag server.
    #[arg(
        long,
        global = true,
        env = "FLAG_SERVER_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// Admin token (sent as a bearer token; never printed).
    #[arg(long, global = true, env = "FLAG_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The environment to work on; required by every command that reads or writes flags.
    #[arg(long = "env", short = 'e', global = true, env = "FLAG_ENV")]
    pub env: Option<String>,
    /// Output format: `table` for people, `json` for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Why the change is made; sent as `X-Change-Reason` with every write and kept in the audit log.
    #[arg(long, global = true)]
    pub reason: Option<String>,
}

impl std::fmt::Debug for GlobalOpts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("GlobalOpts")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("env", &self.env)
            .field("output", &self.output)
            .field("reason", &self.reason)
            .finish()
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Tables and sentences for people.
    Table,
    /// Machine-readable JSON.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List or create environments.
    #[command(
        subcommand,
        after_help = "Examples:\n  flag-cli env list\n  flag-cli env create staging"
    )]
    Env(EnvCommand),
    /// Read, create, toggle, roll out and delete flags.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        flag-cli --env production flags list\n  \
        flag-cli --env production flags rollout new_checkout 25 --reason \"canary\"\n  \
        flag-cli --env production flags disable new_checkout --reason \"incident 512\""
    )]
    Flags(FlagsCommand),
    /// Write the environment's flags as a YAML document (JSON when the file ends in .json).
    #[command(after_help = "Examples:\n  \
        flag-cli --env production export                 # YAML on stdout\n  \
        flag-cli --env production export -f flags.yaml\n  \
        flag-cli --env production export -f flags.json   # JSON by extension")]
    Export {
        /// File to write; stdout when absent.
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
    },
    /// Show what `apply` would change; exit 2 when there is drift, 0 when there is none.
    #[command(after_help = "Examples:\n  \
        flag-cli --env production plan -f flags.yaml\n  \
        flag-cli --env production plan -f flags.yaml --prune   # also list flags apply would delete\n\n\
        Output: `+ key` created, `~ key` changed (`field: before -> after`), `- key` deleted.")]
    Plan(SyncArgs),
    /// Make the environment match the file, atomically.
    #[command(after_help = "Examples:\n  \
        flag-cli --env production apply -f flags.yaml --reason \"merge of PR 42\"\n  \
        flag-cli --env production apply -f flags.yaml --prune     # delete flags missing from the file\n  \
        flag-cli --env production apply -f flags.yaml --check     # exit 2 on drift, change nothing")]
    Apply {
        /// The file and pruning.
        #[command(flatten)]
        sync: SyncArgs,
        /// Only check: exit 2 when the environment differs from the file, change nothing.
        #[arg(long)]
        check: bool,
    },
    /// Release a flag step by step: a plan the server runs (default), or a local loop (--local).
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = "Examples:\n  \
        flag-cli --env production release new_checkout --steps 1,5,25,100 --interval 10m \\\n      \
        --guard-url https://status.internal/healthz --reason \"JIRA-123\" --follow\n  \
        flag-cli --env production release new_checkout --steps 1,10,100 --interval 30m \\\n      \
        --prometheus http://prometheus:9090 --query 'sum(rate(errors_total[5m]))' --max 0.5\n  \
        flag-cli --env production release status new_checkout --follow\n  \
        flag-cli --env production release pause new_checkout\n  \
        flag-cli --env production release new_checkout --steps 1,50,100 --interval 30s --local --check './healthy.sh'\n\n\
        By default the server runs the plan: it raises the percentage step by step, checks the\n\
        guard every --check-interval, and sets the flag back to --rollback-to (default 0) when the\n\
        guard fails. --follow shows its progress and exits 0 when it completes, 1 when it is rolled\n\
        back or aborted; Ctrl-C stops following, not the plan. With --local this process runs the\n\
        release instead: CHECK runs with `sh -c` before each step; a non-zero exit sets the\n\
        percentage back to 0 and exits 1, and Ctrl-C stops at the current step.\n\
        A flag key named like a subcommand (status, pause, resume, abort, list) cannot be released\n\
        with this form. The flag must be enabled for percentages to take effect."
    )]
    Release(ReleaseArgs),
    /// Schedule a change of a flag that the server applies at a given time; list or cancel them.
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = "Examples:\n  \
        flag-cli --env production schedule new_checkout --at 2026-12-01T09:00:00Z --enable --reason \"launch\"\n  \
        flag-cli --env production schedule new_checkout --at +30m --percentage 50\n  \
        flag-cli --env production schedule new_checkout --at 'in 2h' --patch '{\"enabled\": false}'\n  \
        flag-cli --env production schedule list\n  \
        flag-cli --env production schedule cancel new_checkout sch_0123456789abcdef\n\n\
        TIME is RFC 3339 (`2026-12-01T09:00:00Z`, `2026-12-01T10:00:00+01:00`) or a duration from\n\
        now (`+30m`, `in 2h`). A flag key named `list` or `cancel` cannot be scheduled with this form."
    )]
    Schedule(ScheduleArgs),
    /// Print the environment's changes as they happen (one line per change).
    #[command(after_help = "Examples:\n  \
        flag-cli --env production watch\n  \
        flag-cli --env production watch --output json | jq .key\n  \
        flag-cli --env production watch --count 1     # wait for the next change, then exit")]
    Watch {
        /// Exit after this many changes (put or delete).
        #[arg(long)]
        count: Option<u64>,
    },
    /// Evaluate a flag for a context and show why: result, reason, matched rule, bucket.
    #[command(after_help = "Examples:\n  \
        flag-cli --env production explain new_checkout --ctx user_id=42 --ctx country=DE\n  \
        flag-cli --env production explain new_checkout --ctx user_id=42 --ctx age:=42 --ctx beta:=true\n\n\
        `name=value` sets a string; `name:=json` sets a number, a boolean or a list of strings\n\
        (`tags:='[\"a\",\"b\"]'`). Evaluation is local, with the same code the SDK and server use.")]
    Explain {
        /// The flag's key.
        key: String,
        /// A context attribute: `name=string` or `name:=json`.
        #[arg(long = "ctx", short = 'c', value_name = "NAME=VALUE")]
        ctx: Vec<String>,
    },
    /// Issue, list and revoke the SDK keys of an environment.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        flag-cli --env production sdk-keys create --name checkout-service\n  \
        flag-cli --env production sdk-keys list"
    )]
    SdkKeys(SdkKeysCommand),
    /// List, show, write and delete the segments of an environment.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        flag-cli --env production segments put beta-testers.yaml\n  \
        flag-cli --env production segments list"
    )]
    Segments(crate::commands::segments::SegmentsCommand),
    /// Copy a flag's definition from one environment to another: print the plan, then apply it.
    #[command(after_help = "Examples:\n  \
        flag-cli promote new_checkout --from staging --to production --dry-run   # the plan only\n  \
        flag-cli promote new_checkout --from staging --to production --reason \"release 42\"\n  \
        flag-cli --env production promote new_checkout --from staging --enabled\n\n\
        Every field is copied except `enabled`: the target keeps its own unless --enabled or\n\
        --disabled is given, and a flag new to the target arrives disabled. Segments and\n\
        prerequisite flags are not copied: the target must have them.\n\
        Output as `plan`; with --dry-run, exit 2 when the target would change, 0 when it matches.")]
    Promote(crate::commands::promote::PromoteArgs),
    /// Find flag keys in a source tree, to know where to delete code (`path:line:col: key`).
    #[command(after_help = "Examples:\n  \
        flag-cli refs src new_checkout old_banner          # where these keys are used\n  \
        flag-cli --env production refs .                   # every flag of the environment\n  \
        flag-cli --env production refs . --stale           # only its stale flags (30 days)\n  \
        flag-cli --env production refs . --stale=90 -o json\n\n\
        A key matches as a whole token: the characters before and after it are not letters,\n\
        digits, '_', '.' or '-' (so `checkout` does not match `new_checkout`). The walk honours\n\
        .gitignore and .ignore files and skips hidden and binary files. The lines go to stdout,\n\
        grouped per key; the summary to stderr. Exit 0 whether keys are found or not.")]
    Refs(RefsArgs),
    /// List the SDK instances seen in the last hour: application, version, instance, SDK,
    /// last seen, streaming, and how many flags each evaluated.
    #[command(after_help = "Examples:\n  \
        flag-cli --env production clients\n  \
        flag-cli --env production clients --app checkout\n  \
        flag-cli --env production clients --output json | jq '.clients[].app_version'\n\n\
        Instances say who they are with the SDK builder's app_name, app_version and instance_id.")]
    Clients {
        /// Only the instances of this application.
        #[arg(long, value_name = "NAME")]
        app: Option<String>,
    },
}

/// Arguments of `refs`.
#[derive(Debug, Args)]
pub struct RefsArgs {
    /// The source tree (or one file) to search.
    pub path: PathBuf,
    /// Flag keys to look for; without any, the flags of the environment (needs --env).
    pub keys: Vec<String>,
    /// Look only for the environment's stale flags: stale in any way for DAYS days (30 when
    /// given without a value; a value needs `=`: `--stale=90`).
    #[arg(
        long,
        value_name = "DAYS",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "30",
        conflicts_with = "keys",
        value_parser = parse_days
    )]
    pub stale: Option<StaleDays>,
}

/// Arguments of `flags stale`.
#[derive(Debug, Args)]
pub struct StaleArgs {
    /// Stale in any way (not evaluated, expired or settled) for DAYS days. Default 30 when no
    /// other filter is given.
    #[arg(long, value_name = "DAYS", value_parser = parse_days)]
    pub days: Option<StaleDays>,
    /// Only flags past their `expires_at`.
    #[arg(long)]
    pub expired: bool,
    /// Only flags no SDK evaluated in the last DAYS days (never evaluated: and unchanged for
    /// DAYS days).
    #[arg(long = "not-evaluated", value_name = "DAYS", value_parser = parse_days)]
    pub not_evaluated: Option<StaleDays>,
    /// Only flags fully on or fully off and unchanged for DAYS days.
    #[arg(long, value_name = "DAYS", value_parser = parse_days)]
    pub settled: Option<StaleDays>,
}

/// Parses a number of days for the stale filters: 1 to 3650.
fn parse_days(s: &str) -> Result<StaleDays, String> {
    let n = s
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{s:?} is not a number of days (a whole number from 1 to 3650)"))?;
    StaleDays::new(n).map_err(|e| format!("{s:?}: {e}"))
}

/// `env` subcommands.
#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// List environments.
    #[command(after_help = "Example:\n  flag-cli env list --output json")]
    List,
    /// Create an environment (idempotent).
    #[command(after_help = "Example:\n  flag-cli env create staging")]
    Create {
        /// The environment's name: a-z, 0-9, '_', '-'.
        name: String,
    },
}

/// `flags` subcommands.
#[derive(Debug, Subcommand)]
pub enum FlagsCommand {
    /// List the environment's flags.
    #[command(after_help = "Example:\n  flag-cli --env production flags list --output json")]
    List,
    /// Show one flag.
    #[command(after_help = "Example:\n  flag-cli --env production flags get new_checkout")]
    Get {
        /// The flag's key.
        key: String,
    },
    /// Create a flag (disabled unless --enabled): boolean, or string/number/json with variants.
    #[command(after_help = "Examples:\n  \
        flag-cli --env production flags create new_checkout --description \"New checkout\" --percentage 0 --enabled\n  \
        flag-cli --env production flags create checkout_button --type string --variant blue='\"#0050ff\"' \\\n      \
        --variant green=#00a050 --split blue=50,green=50 --off-variant blue --enabled")]
    Create {
        /// The flag's key.
        key: String,
        /// Free text for people.
        #[arg(long, short = 'd')]
        description: Option<String>,
        /// Rollout percentage (0 to 100, two decimals); default 100.
        #[arg(long, short = 'p', value_parser = parse_percent)]
        percentage: Option<f64>,
        /// Create the flag switched on.
        #[arg(long)]
        enabled: bool,
        /// Who owns the flag.
        #[arg(long)]
        owner: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Type, variants, default serve, off variant, prerequisites.
        #[command(flatten)]
        typed: TypedCreateArgs,
    },
    /// Switch a flag on (JSON merge patch `{"enabled": true}`).
    #[command(
        after_help = "Example:\n  flag-cli --env production flags enable new_checkout --reason \"launch\""
    )]
    Enable {
        /// The flag's key.
        key: String,
    },
    /// Switch a flag off for everyone: the kill switch.
    #[command(
        after_help = "Example:\n  flag-cli --env production flags disable new_checkout --reason \"errors on checkout\""
    )]
    Disable {
        /// The flag's key.
        key: String,
    },
    /// Set a flag's rollout percentage.
    #[command(
        after_help = "Example:\n  flag-cli --env production flags rollout new_checkout 25 --reason \"canary\""
    )]
    Rollout {
        /// The flag's key.
        key: String,
        /// The new percentage, 0 to 100 with at most two decimals (`25`, `0.5`, `25%`).
        #[arg(value_parser = parse_percent)]
        percent: f64,
    },
    /// Set what a flag (or one of its rules, with --rule) serves: a variant or a split.
    #[command(visible_alias = "set-default")]
    Serve(ServeArgs),
    /// Add, change or remove the variants of a string, number or json flag.
    Variants(VariantsArgs),
    /// Set or clear the variant a flag serves when disabled or a prerequisite fails.
    OffVariant(OffVariantArgs),
    /// Add, change or remove the flags that must serve given variants first.
    Prerequisites(PrerequisitesArgs),
    /// Delete a flag.
    #[command(
        after_help = "Example:\n  flag-cli --env development flags delete old_flag --reason \"cleanup\""
    )]
    Delete {
        /// The flag's key.
        key: String,
    },
    /// List stale flags (not evaluated, expired, or fully on or off for a while); exit 2 when
    /// there are any, so a CI job can fail on them.
    #[command(after_help = "Examples:\n  \
        flag-cli --env production flags stale                      # stale in any way for 30 days\n  \
        flag-cli --env production flags stale --days 90\n  \
        flag-cli --env production flags stale --expired\n  \
        flag-cli --env production flags stale --not-evaluated 14 --settled 30 -o json\n\n\
        Filters given together must all hold. Exit 2 when a flag is listed, 0 when none is\n\
        (with a note on stderr). `flag-cli refs PATH --stale` finds their keys in the code.")]
    Stale(StaleArgs),
}

/// `sdk-keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum SdkKeysCommand {
    /// Issue an SDK key for the environment; the secret is shown once.
    #[command(
        after_help = "Example:\n  flag-cli --env production sdk-keys create --name checkout-service"
    )]
    Create {
        /// A label for people.
        #[arg(long)]
        name: Option<String>,
    },
    /// List the environment's SDK keys (without secrets).
    #[command(after_help = "Example:\n  flag-cli --env production sdk-keys list")]
    List,
    /// Revoke an SDK key by its id.
    #[command(after_help = "Example:\n  flag-cli --env production sdk-keys revoke 3f2a9c")]
    Revoke {
        /// The key's id (from `sdk-keys list`).
        id: String,
    },
}

/// The file of `plan` and `apply`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The flags document (`{flags: [...]}`), YAML or JSON.
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Also delete flags that are in the environment but not in the file.
    #[arg(long)]
    pub prune: bool,
}

/// Parses `25`, `0.5` or `25%`.
pub(crate) fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim().trim_end_matches('%');
    t.parse::<f64>()
        .ok()
        .filter(|p| p.is_finite())
        .ok_or_else(|| {
            format!("{s:?} is not a percentage (a number from 0 to 100, like 25 or 0.5)")
        })
}

/// Parses a humantime duration (`10m`, `30s`, `500ms`).
pub(crate) fn parse_interval(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration like 10m, 30s or 500ms: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release_args::parse_at;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example() {
        use clap::CommandFactory;
        fn walk(cmd: &clap::Command, path: &str) {
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                help.contains("flag-cli"),
                "{path} has no example in its help"
            );
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&Cli::command(), "flag-cli");
    }

    #[test]
    fn percents_and_intervals() {
        assert_eq!(parse_percent("25%"), Ok(25.0));
        assert_eq!(parse_percent("0.5"), Ok(0.5));
        assert!(parse_percent("lots").is_err());
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_interval("soon").is_err());
    }

    #[test]
    fn days_and_the_stale_option_of_refs() {
        assert_eq!(parse_days("30").map(StaleDays::get), Ok(30));
        assert!(parse_days("0").unwrap_err().contains("from 1 to 3650"));
        assert!(parse_days("a month")
            .unwrap_err()
            .contains("not a number of days"));
        let refs = |args: &[&str]| match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Command::Refs(r)) => Ok((r.path, r.keys, r.stale.map(StaleDays::get))),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(
            refs(&["flag-cli", "refs", "src", "--stale"]),
            Ok((PathBuf::from("src"), vec![], Some(30)))
        );
        // `--stale` never takes the path as its value.
        assert_eq!(
            refs(&["flag-cli", "refs", "--stale", "src"]),
            Ok((PathBuf::from("src"), vec![], Some(30)))
        );
        assert_eq!(
            refs(&["flag-cli", "refs", ".", "--stale=90"]),
            Ok((PathBuf::from("."), vec![], Some(90)))
        );
        assert_eq!(
            refs(&["flag-cli", "refs", ".", "a", "b"]),
            Ok((PathBuf::from("."), vec!["a".into(), "b".into()], None))
        );
        assert_eq!(
            refs(&["flag-cli", "refs", ".", "a", "--stale"]),
            Err(clap::error::ErrorKind::ArgumentConflict)
        );
    }

    #[test]
    fn release_and_schedule_forms() {
        let cli = Cli::try_parse_from([
            "flag-cli",
            "release",
            "k",
            "--steps",
            "1,100",
            "--interval",
            "1s",
            "--reason",
            "r",
        ])
        .unwrap();
        let Command::Release(r) = cli.command else {
            panic!()
        };
        assert!(r.command.is_none() && r.key.as_deref() == Some("k"));
        let cli =
            Cli::try_parse_from(["flag-cli", "release", "pause", "k", "--reason", "r"]).unwrap();
        let Command::Release(r) = cli.command else {
            panic!()
        };
        assert!(matches!(r.command, Some(ReleaseCommand::Pause { .. })));
        assert!(Cli::try_parse_from(["flag-cli", "release", "k"]).is_err());
        assert!(Cli::try_parse_from(["flag-cli", "schedule", "k", "--at", "+1m"]).is_err());
        let cli =
            Cli::try_parse_from(["flag-cli", "schedule", "k", "--at", "+1m", "--enable"]).unwrap();
        let Command::Schedule(s) = cli.command else {
            panic!()
        };
        assert!(s.enable && s.at.is_some());
        assert!(Cli::try_parse_from([
            "flag-cli",
            "schedule",
            "k",
            "--at",
            "+1m",
            "--enable",
            "--disable"
        ])
        .is_err());
        let cli = Cli::try_parse_from(["flag-cli", "schedule", "list"]).unwrap();
        let Command::Schedule(s) = cli.command else {
            panic!()
        };
        assert!(matches!(
            s.command,
            Some(ScheduleCommand::List { key: None })
        ));
    }

    #[test]
    fn times_absolute_and_relative() {
        let t = parse_at("2026-12-01T10:00:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T09:00:00+00:00");
        let soon = parse_at("+30m").unwrap() - chrono::Utc::now();
        assert!((29..=30).contains(&soon.num_minutes()), "{soon}");
        let later = parse_at("in 2h").unwrap() - chrono::Utc::now();
        assert!((119..=120).contains(&later.num_minutes()), "{later}");
        assert!(parse_at("tomorrow").is_err());
        assert!(parse_at("+soon").is_err());
    }

    #[test]
    fn global_options_after_the_subcommand() {
        let cli = Cli::try_parse_from(["flag-cli", "flags", "list", "--env", "dev", "-o", "json"])
            .unwrap();
        assert_eq!(cli.global.env.as_deref(), Some("dev"));
        assert_eq!(cli.global.output, Output::Json);
    }
}
