//! The command line: global options and every subcommand, with an example in each help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
        Exit codes: 0 success, 1 error, 2 drift found by `plan` or `apply --check`."
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
    /// Raise a flag's percentage step by step, running a health check before each step.
    #[command(after_help = "Examples:\n  \
        flag-cli --env production release new_checkout --steps 1,5,25,100 --interval 10m \\\n      \
        --check './healthy.sh' --reason \"JIRA-123\"\n  \
        flag-cli --env production release new_checkout --steps 10,50,100 --interval 30s --dry-run\n\n\
        Before each step CHECK runs with `sh -c`; a non-zero exit sets the percentage back to 0\n\
        and exits 1. Ctrl-C stops at the current step and leaves the percentage as it is.\n\
        The flag must be enabled for percentages to take effect.")]
    Release(ReleaseArgs),
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

/// Arguments of `release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The flag's key.
    pub key: String,
    /// Percentages to raise to, in increasing order.
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_percent)]
    pub steps: Vec<f64>,
    /// Wait between steps: `10m`, `30s`, `500ms`, `1h 30m`.
    #[arg(long, value_parser = parse_interval, default_value = "10m")]
    pub interval: Duration,
    /// Health check run with `sh -c` before each step; a non-zero exit rolls back to 0.
    #[arg(long)]
    pub check: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Parses `25`, `0.5` or `25%`.
fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim().trim_end_matches('%');
    t.parse::<f64>()
        .ok()
        .filter(|p| p.is_finite())
        .ok_or_else(|| {
            format!("{s:?} is not a percentage (a number from 0 to 100, like 25 or 0.5)")
        })
}

/// Parses a humantime duration (`10m`, `30s`, `500ms`).
fn parse_interval(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration like 10m, 30s or 500ms: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn global_options_after_the_subcommand() {
        let cli = Cli::try_parse_from(["flag-cli", "flags", "list", "--env", "dev", "-o", "json"])
            .unwrap();
        assert_eq!(cli.global.env.as_deref(), Some("dev"));
        assert_eq!(cli.global.output, Output::Json);
    }
}
