//! `flag-cli`: the command-line tool of the flag service, for people and CI scripts.
//!
//! Exit codes: 0 success, 1 error, 2 drift found by `plan` / `apply --check` (or stale flags
//! found by `flags stale`), 130 interrupted.

mod cli;
mod client;
mod commands;
mod error;
mod output;
mod plan;
mod release_args;
mod show;
mod typed_args;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Outcome;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors exit 1, never 2 (which means drift).
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(cli).await {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Drift) => ExitCode::from(2),
        Err(e) => {
            output::note(format!("error: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}
