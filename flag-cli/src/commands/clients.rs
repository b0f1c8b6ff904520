//! `clients [--app NAME]`: the SDK instances of an environment seen in the last hour.

use std::time::Duration;

use chrono::Utc;
use flag_sdk::wire::ClientList;

use super::{Ctx, Outcome};
use crate::cli::Output;
use crate::client::segment;
use crate::error::Result;
use crate::output;

/// Lists the environment's SDK instances, of one application when `app` is given.
pub async fn run(ctx: &Ctx, app: Option<&str>) -> Result<Outcome> {
    let mut path = ctx.env_path("/clients")?;
    if let Some(app) = app {
        path.push_str(&format!("?app={}", segment(app)));
    }
    let list: ClientList = ctx.client.get(&path, &ctx.env_what()).await?;
    if ctx.output == Output::Json {
        output::json(&list)?;
        return Ok(Outcome::Done);
    }
    if list.clients.is_empty() {
        output::line(format!(
            "no SDK instance of {}{} seen in the last hour",
            app.map(|a| format!("application {a:?} in "))
                .unwrap_or_default(),
            ctx.env_what()
        ))?;
        return Ok(Outcome::Done);
    }
    let now = Utc::now();
    let text = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let rows = list
        .clients
        .iter()
        .map(|c| {
            let ago = (now - c.last_seen).num_seconds().max(0);
            let ago = humantime::format_duration(Duration::from_secs(ago.unsigned_abs()));
            vec![
                text(&c.app_name),
                text(&c.app_version),
                c.instance_id.clone(),
                text(&c.sdk),
                format!("{ago} ago"),
                if c.streaming { "yes" } else { "no" }.into(),
                c.flags.len().to_string(),
            ]
        })
        .collect();
    output::table(
        &[
            "APP",
            "VERSION",
            "INSTANCE",
            "SDK",
            "LAST SEEN",
            "STREAMING",
            "FLAGS",
        ],
        rows,
    )?;
    Ok(Outcome::Done)
}
