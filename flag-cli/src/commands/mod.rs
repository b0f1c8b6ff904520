//! The commands, one module per domain, and what they share.

mod clients;
mod env;
mod explain;
mod explain_path;
mod flags;
pub(crate) mod promote;
mod refs;
mod release;
mod release_server;
mod release_watch;
mod schedule;
mod sdk_keys;
pub(crate) mod segments;
mod stale;
mod sync;
mod typed;
mod watch;

use flag_sdk::EnvName;

use crate::cli::{Cli, Command, Output};
use crate::client::{segment, Client};
use crate::error::{Error, Result};

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done: exit 0.
    Done,
    /// `plan`, `apply --check` or `promote --dry-run` found drift, or `flags stale` found
    /// stale flags: exit 2.
    Drift,
}

/// What every command gets: the client, the output mode and the environment, if any.
#[derive(Debug)]
pub struct Ctx {
    /// The admin API client.
    pub client: Client,
    /// Table or JSON.
    pub output: Output,
    /// The `--reason`, if any.
    pub reason: Option<String>,
    env: Option<EnvName>,
}

impl Ctx {
    /// The environment; [`Error::MissingEnv`] when none was given.
    pub fn env(&self) -> Result<&str> {
        self.env
            .as_ref()
            .map(EnvName::as_str)
            .ok_or(Error::MissingEnv)
    }

    /// `/environments/{env}` plus `rest`.
    pub fn env_path(&self, rest: &str) -> Result<String> {
        Ok(format!("/environments/{}{rest}", segment(self.env()?)))
    }

    /// `/environments/{env}/flags/{key}`.
    pub fn flag_path(&self, key: &str) -> Result<String> {
        self.env_path(&format!("/flags/{}", segment(key)))
    }

    /// Names a flag for messages.
    pub fn flag_what(&self, key: &str) -> String {
        match self.env() {
            Ok(env) => format!("flag {key:?} in environment {env:?}"),
            Err(_) => format!("flag {key:?}"),
        }
    }

    /// Names the environment for messages.
    pub fn env_what(&self) -> String {
        match self.env() {
            Ok(env) => format!("environment {env:?}"),
            Err(_) => "environment".into(),
        }
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<Outcome> {
    let g = cli.global;
    let env = g
        .env
        .as_deref()
        .map(|e| EnvName::parse(e).map_err(|m| Error::Usage(format!("--env / FLAG_ENV {e:?} {m}"))))
        .transpose()?;
    let ctx = Ctx {
        client: Client::new(&g.server, g.token, g.reason.as_deref())?,
        output: g.output,
        reason: g.reason,
        env,
    };
    match cli.command {
        Command::Env(c) => env::run(&ctx, c).await,
        Command::Flags(c) => flags::run(&ctx, c).await,
        Command::Export { file } => sync::export(&ctx, file.as_deref()).await,
        Command::Plan(args) => sync::plan(&ctx, &args).await,
        Command::Apply { sync: args, check } => sync::apply(&ctx, &args, check).await,
        Command::Release(args) => release_server::run(&ctx, &args).await,
        Command::Schedule(args) => schedule::run(&ctx, &args).await,
        Command::Watch { count } => watch::run(&ctx, count).await,
        Command::Explain { key, ctx: attrs } => explain::run(&ctx, &key, &attrs).await,
        Command::SdkKeys(c) => sdk_keys::run(&ctx, c).await,
        Command::Segments(c) => segments::run(&ctx, c).await,
        Command::Promote(args) => promote::run(&ctx, &args).await,
        Command::Refs(args) => refs::run(&ctx, &args).await,
        Command::Clients { app } => clients::run(&ctx, app.as_deref()).await,
    }
}
