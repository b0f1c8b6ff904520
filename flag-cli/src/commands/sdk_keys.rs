//! `sdk-keys create [--name N] | list | revoke ID`.

use chrono::SecondsFormat;
use flag_sdk::wire::{IssuedSdkKey, NewSdkKey, SdkKeyList};
use reqwest::Method;
use serde_json::json;

use super::{Ctx, Outcome};
use crate::cli::{Output, SdkKeysCommand};
use crate::client::segment;
use crate::error::{Error, Result};
use crate::output;

/// Runs an `sdk-keys` subcommand.
pub async fn run(ctx: &Ctx, cmd: SdkKeysCommand) -> Result<Outcome> {
    match cmd {
        SdkKeysCommand::Create { name } => create(ctx, name).await?,
        SdkKeysCommand::List => list(ctx).await?,
        SdkKeysCommand::Revoke { id } => revoke(ctx, &id).await?,
    }
    Ok(Outcome::Done)
}

async fn create(ctx: &Ctx, name: Option<String>) -> Result<()> {
    let body =
        serde_json::to_value(NewSdkKey { name }).map_err(|e| Error::Protocol(e.to_string()))?;
    let key: IssuedSdkKey = ctx
        .client
        .call(
            Method::POST,
            &ctx.env_path("/sdk-keys")?,
            Some(&body),
            &ctx.env_what(),
        )
        .await?;
    if ctx.output == Output::Json {
        return output::json(&key);
    }
    output::line(format!(
        "issued SDK key {} ({}) for {}\nsecret (shown only now, store it safely):\n{}",
        key.info.id,
        key.info.name,
        ctx.env_what(),
        key.key
    ))
}

async fn list(ctx: &Ctx) -> Result<()> {
    let list: SdkKeyList = ctx
        .client
        .get(&ctx.env_path("/sdk-keys")?, &ctx.env_what())
        .await?;
    if ctx.output == Output::Json {
        return output::json(&list);
    }
    let rows = list
        .keys
        .iter()
        .map(|k| {
            vec![
                k.id.clone(),
                k.name.clone(),
                k.created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                k.created_by.clone(),
            ]
        })
        .collect();
    output::table(&["ID", "NAME", "CREATED", "BY"], rows)
}

async fn revoke(ctx: &Ctx, id: &str) -> Result<()> {
    let path = ctx.env_path(&format!("/sdk-keys/{}", segment(id)))?;
    let what = format!("SDK key {id:?} in {}", ctx.env_what());
    ctx.client.send(Method::DELETE, &path, None, &what).await?;
    output::result(
        ctx.output,
        format!("revoked {what}"),
        &json!({ "revoked": id }),
    )
}
