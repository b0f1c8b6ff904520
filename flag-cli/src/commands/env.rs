//! `env list | create NAME`.

use flag_sdk::EnvName;
use reqwest::Method;
use serde_json::{json, Value};

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
    let raw: Value = ctx.client.get("/environments", "environments").await?;
    let names = names(&raw)?;
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

/// Environment names from the list answer: `["a"]`, `[{"name": "a"}]` or `{"environments": ...}`.
fn names(raw: &Value) -> Result<Vec<String>> {
    let items = match raw {
        Value::Array(items) => items,
        Value::Object(o) => o
            .get("environments")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Error::Protocol("the environment list has no `environments` array".into())
            })?,
        _ => return Err(Error::Protocol("the environment list is not a list".into())),
    };
    items
        .iter()
        .map(|i| match i {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => o
                .get("name")
                .or_else(|| o.get("environment"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::Protocol("an environment has no name".into())),
            _ => Err(Error::Protocol(
                "an environment is neither a name nor an object".into(),
            )),
        })
        .collect()
}

async fn create(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let env =
        EnvName::parse(name).map_err(|m| Error::Usage(format!("environment name {name:?} {m}")))?;
    let path = format!("/environments/{}", segment(env.as_str()));
    let answer = ctx
        .client
        .call(Method::PUT, &path, None, &format!("environment {name:?}"))
        .await?;
    let value = if answer.is_null() {
        json!({ "name": env.as_str() })
    } else {
        answer
    };
    output::result(
        ctx.output,
        format!("environment {:?} is ready", env.as_str()),
        &value,
    )?;
    Ok(Outcome::Done)
}
