//! `sdk-keys create [--name N] | list | revoke ID`.

use reqwest::Method;
use serde_json::{json, Value};

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

fn text(v: &Value, field: &str) -> String {
    match v.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

async fn create(ctx: &Ctx, name: Option<String>) -> Result<()> {
    let body = match name {
        Some(n) => json!({ "name": n }),
        None => json!({}),
    };
    let key = ctx
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
    let secret = ["secret", "key", "token"]
        .iter()
        .map(|f| text(&key, f))
        .find(|s| !s.is_empty())
        .ok_or_else(|| Error::Protocol("the new SDK key has no secret".into()))?;
    output::line(format!(
        "issued SDK key {} ({}) for {}\nsecret (shown only now, store it safely):\n{secret}",
        text(&key, "id"),
        text(&key, "name"),
        ctx.env_what()
    ))
}

async fn list(ctx: &Ctx) -> Result<()> {
    let raw: Value = ctx
        .client
        .get(&ctx.env_path("/sdk-keys")?, &ctx.env_what())
        .await?;
    if ctx.output == Output::Json {
        return output::json(&raw);
    }
    let items = match &raw {
        Value::Array(items) => items.clone(),
        other => other
            .get("keys")
            .or_else(|| other.get("sdk_keys"))
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| Error::Protocol("the SDK key list is not a list".into()))?,
    };
    let rows = items
        .iter()
        .map(|k| {
            vec![
                text(k, "id"),
                text(k, "name"),
                text(k, "created_at"),
                text(k, "created_by"),
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
