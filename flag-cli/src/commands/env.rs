//! `env list | create NAME`.

use flag_sdk::wire::{EnvironmentInfo, EnvironmentList};
use flag_sdk::EnvName;
use reqwest::Method;
use serde_json::json;

use super::{Ctx, Outcome};
use crate::cli::{EnvCommand, Output};
use crate::client::segment;
use crate::error::{Error, Result};
use crate::output;

/// Runs an `env` subcommand.
pub async fn run(ctx: &Ctx, cmd: EnvCommand) -> Result<Outcome> {
    match cmd {
        EnvCommand::List => list(ctx).await,
        EnvCommand::Create { name } => create(ctx, &name).await,
    }
}

async fn list(ctx: &Ctx) -> Result<Outcome> {
    let list: EnvironmentList = ctx.client.get("/environments", "environments").await?;
    let names: Vec<String> = list.environments.into_iter().map(|e| e.name).collect();
    match ctx.output {
        Output::Json => output::json(&json!({ "environments": names }))?,
        Output::Table => {
            output::table(
                &["ENVIRONMENT"],
                names.into_iter().map(|n| vec![n]).collect(),
            )?;
        }
    }
    Ok(Outcome::Done)
}

async fn create(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let env =
        EnvName::parse(name).map_err(|m| Error::Usage(format!("environment name {name:?} {m}")))?;
    let path = format!("/environments/{}", segment(env.as_str()));
    let info: EnvironmentInfo = ctx
        .client
        .call(Method::PUT, &path, None, &format!("environment {name:?}"))
        .await?;
    output::result(
        ctx.output,
        format!("environment {:?} is ready", env.as_str()),
        &info,
    )?;
    Ok(Outcome::Done)
}
