//! The server's configuration: command-line flags and `FLAG_*` environment variables
//! (a flag wins over its variable), 12-factor style.
//!
//! ```
//! use clap::Parser;
//! let config = flag_server::Config::parse_from(["flag-server", "--listen", "127.0.0.1:0"]);
//! assert_eq!(config.listen, "127.0.0.1:0");
//! ```

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything `flag-server` can be told at start.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "flag-server",
    version,
    about = "Feature-flag server: admin REST API, SDK API and SSE stream"
)]
pub struct Config {
    /// Address to bind; port 0 picks a free port (the chosen address is logged).
    #[arg(long, env = "FLAG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// When set, Redis is the store (`redis://...`, `rediss://...`).
    #[arg(long, env = "FLAG_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Key namespace in Redis, so several deployments can share one Redis.
    #[arg(long, env = "FLAG_REDIS_PREFIX", default_value = "flags")]
    pub redis_prefix: String,

    /// Directory of the embedded store, used when no Redis URL is set.
    #[arg(long, env = "FLAG_DATA_DIR", default_value = "./flag-data")]
    pub data_dir: PathBuf,

    /// Admin tokens, comma-separated. Each is `secret` or `name:secret`; the name is the actor
    /// recorded in the audit log (unnamed tokens are `admin`, `admin-2`, ...). Unset: one
    /// token is generated at start and printed once.
    #[arg(long, env = "FLAG_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Tracing filter, e.g. `info` or `flag_server=debug,actix_web=info`.
    #[arg(long, env = "FLAG_LOG", default_value = "info")]
    pub log: String,

    /// Log line format.
    #[arg(long, env = "FLAG_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Largest accepted request body, in bytes; larger bodies get 413.
    #[arg(long, env = "FLAG_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,

    /// Changes kept per environment for stream replay: a client that reconnects with an older
    /// `Last-Event-ID` gets a fresh snapshot instead.
    #[arg(long, env = "FLAG_CHANGE_LOG_LEN", default_value_t = crate::store::CHANGE_LOG_LEN,
          value_parser = at_least_one)]
    pub change_log_len: usize,

    /// Origins allowed to call the OFREP routes from a browser (CORS), comma-separated, e.g.
    /// `https://app.example.com`; `*` allows any. None by default.
    #[arg(long, env = "FLAG_CORS_ORIGINS", value_delimiter = ',', value_parser = cors_origin)]
    pub cors_origins: Vec<String>,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "FLAG_WORKERS")]
    pub workers: Option<usize>,

    /// Edge mode: follow this upstream flag server (or edge) instead of using a store, and
    /// serve its SDK routes from memory (see `docs/contract.md`, "Edge mode").
    #[arg(long, env = "FLAG_UPSTREAM_URL", requires = "upstream_keys", value_parser = upstream_url)]
    pub upstream_url: Option<String>,

    /// Edge mode: the SDK keys this edge follows the upstream with, comma-separated, one per
    /// environment it serves.
    #[arg(
        long,
        env = "FLAG_UPSTREAM_KEYS",
        hide_env_values = true,
        value_delimiter = ',',
        requires = "upstream_url"
    )]
    pub upstream_keys: Vec<String>,

    /// Edge mode: a file holding the last flags received, written on every change and read at
    /// start when the upstream cannot be reached.
    #[arg(long, env = "FLAG_UPSTREAM_BACKUP", requires = "upstream_url")]
    pub upstream_backup: Option<PathBuf>,

    /// Edge mode: how long, in seconds, the upstream's answer about an application's SDK key
    /// (valid or not) is trusted before it is asked again.
    #[arg(long, env = "FLAG_UPSTREAM_KEY_TTL", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub upstream_key_ttl: u64,

    /// Stop on SIGTERM / ctrl-c (turned off by tests that run several servers in one process).
    #[arg(skip = true)]
    pub handle_signals: bool,

    /// Print the OpenAPI document to stdout and exit.
    #[arg(long)]
    pub print_openapi: bool,
}

/// A CORS origin: `*`, or `scheme://host[:port]` with no path.
fn cors_origin(s: &str) -> Result<String, String> {
    let s = s.trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        _ if s == "*" => Ok(s.to_owned()),
        Some(host)
            if !host.is_empty()
                && host.parse::<actix_web::http::uri::Authority>().is_ok()
                && !host.contains('@') =>
        {
            Ok(s.to_owned())
        }
        _ => Err(format!(
            "{s:?} is not an origin: write `*` or `scheme://host[:port]` (http or https, no path)"
        )),
    }
}

/// An upstream's base URL: `http://` or `https://`, a host, no query.
fn upstream_url(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ']) => Ok(s.to_owned()),
        _ => Err(format!(
            "{s:?} is not an upstream URL: write `http://host[:port]` or `https://host[:port]`"
        )),
    }
}

/// A count of at least one.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?} is not a whole number of at least 1")),
    }
}

impl Default for Config {
    /// The documented defaults, ignoring the process's environment and arguments.
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            redis_url: None,
            redis_prefix: "flags".into(),
            data_dir: PathBuf::from("./flag-data"),
            admin_token: None,
            log: "info".into(),
            log_format: LogFormat::Text,
            body_limit: 1024 * 1024,
            change_log_len: crate::store::CHANGE_LOG_LEN,
            cors_origins: Vec::new(),
            workers: None,
            upstream_url: None,
            upstream_keys: Vec::new(),
            upstream_backup: None,
            upstream_key_ttl: 10,
            handle_signals: true,
            print_openapi: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_parsed() {
        let c = Config::try_parse_from([
            "flag-server",
            "--listen",
            "0.0.0.0:9000",
            "--admin-token",
            "ops:s3cret",
            "--log-format",
            "json",
            "--body-limit",
            "2048",
            "--redis-url",
            "redis://127.0.0.1:6379/",
        ])
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.admin_token.as_deref(), Some("ops:s3cret"));
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.body_limit, 2048);
        assert_eq!(c.redis_url.as_deref(), Some("redis://127.0.0.1:6379/"));
        assert!(c.handle_signals);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Config::try_parse_from(["flag-server", "--log-format", "xml"]).is_err());
        assert!(Config::try_parse_from(["flag-server", "--body-limit", "lots"]).is_err());
        for bad in [
            "example.com",
            "https://",
            "https://a.example/path",
            "ftp://a",
        ] {
            assert!(
                Config::try_parse_from(["flag-server", "--cors-origins", bad]).is_err(),
                "{bad}"
            );
        }
        let c = Config::try_parse_from([
            "flag-server",
            "--cors-origins",
            "https://app.example.com,http://localhost:3000",
        ])
        .unwrap();
        assert_eq!(c.cors_origins.len(), 2);
    }

    #[test]
    fn edge_options_are_parsed_and_checked() {
        let c = Config::try_parse_from([
            "flag-server",
            "--upstream-url",
            "http://flags.internal:8080/",
            "--upstream-keys",
            "sdk-a,sdk-b",
            "--upstream-key-ttl",
            "3",
        ])
        .unwrap();
        assert_eq!(
            c.upstream_url.as_deref(),
            Some("http://flags.internal:8080")
        );
        assert_eq!(c.upstream_keys, ["sdk-a", "sdk-b"]);
        assert_eq!(c.upstream_key_ttl, 3);
        // Each needs the other; a URL must be http(s).
        assert!(Config::try_parse_from(["flag-server", "--upstream-url", "http://a"]).is_err());
        assert!(Config::try_parse_from(["flag-server", "--upstream-keys", "k"]).is_err());
        assert!(Config::try_parse_from([
            "flag-server",
            "--upstream-url",
            "flags.internal",
            "--upstream-keys",
            "k"
        ])
        .is_err());
        assert!(Config::try_parse_from(["flag-server", "--upstream-key-ttl", "0"]).is_err());
    }

    #[test]
    fn defaults_match_the_contract() {
        let d = Config::default();
        assert_eq!(d.listen, "127.0.0.1:8080");
        assert_eq!(d.redis_prefix, "flags");
        assert_eq!(d.data_dir, PathBuf::from("./flag-data"));
        assert_eq!(d.log, "info");
        assert_eq!(d.body_limit, 1024 * 1024);
    }
}
