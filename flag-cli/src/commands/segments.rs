//! `segments list | get KEY | put FILE|- | delete KEY`, and the segments part of `export`.

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use flag_sdk::wire::SegmentList;
use flag_sdk::{Segment, SegmentInput};
use reqwest::Method;
use serde_json::{json, Value};
use serde_yaml::{Mapping, Value as Yaml};

use super::{Ctx, Outcome};
use crate::cli::Output;
use crate::client::segment;
use crate::error::{Error, Result};
use crate::output;

/// `segments` subcommands.
#[derive(Debug, Subcommand)]
pub enum SegmentsCommand {
    /// List the environment's segments.
    #[command(after_help = "Example:\n  flag-cli --env production segments list")]
    List,
    /// Show one segment as JSON.
    #[command(after_help = "Example:\n  flag-cli --env production segments get beta-testers")]
    Get {
        /// The segment's key.
        key: String,
    },
    /// Create or replace a segment from a JSON or YAML file (`-` reads standard input).
    #[command(
        after_help = "Example:\n  echo '{\"key\": \"beta-testers\", \"included\": [\"u1\"]}' | flag-cli --env production segments put -"
    )]
    Put {
        /// The segment document (`{"key": ..., "included": [...], ...}`), or `-`.
        file: PathBuf,
    },
    /// Delete a segment (refused while a flag uses it).
    #[command(after_help = "Example:\n  flag-cli --env production segments delete beta-testers")]
    Delete {
        /// The segment's key.
        key: String,
    },
}

/// Runs a `segments` subcommand.
pub async fn run(ctx: &Ctx, cmd: SegmentsCommand) -> Result<Outcome> {
    match cmd {
        SegmentsCommand::List => list(ctx).await?,
        SegmentsCommand::Get { key } => get(ctx, &key).await?,
        SegmentsCommand::Put { file } => put(ctx, &file).await?,
        SegmentsCommand::Delete { key } => delete(ctx, &key).await?,
    }
    Ok(Outcome::Done)
}

fn segment_path(ctx: &Ctx, key: &str) -> Result<String> {
    ctx.env_path(&format!("/segments/{}", segment(key)))
}

/// The environment's segments.
pub async fn fetch_segments(ctx: &Ctx) -> Result<SegmentList> {
    ctx.client
        .get(&ctx.env_path("/segments")?, &ctx.env_what())
        .await
}

async fn list(ctx: &Ctx) -> Result<()> {
    let list = fetch_segments(ctx).await?;
    if ctx.output == Output::Json {
        return output::json(&list);
    }
    let rows = list
        .segments
        .iter()
        .map(|s| {
            vec![
                s.key.to_string(),
                s.included.len().to_string(),
                s.excluded.len().to_string(),
                s.conditions.len().to_string(),
                s.description.clone(),
            ]
        })
        .collect();
    output::table(
        &["KEY", "INCLUDED", "EXCLUDED", "CONDITIONS", "DESCRIPTION"],
        rows,
    )
}

async fn get(ctx: &Ctx, key: &str) -> Result<()> {
    let what = format!("segment {key:?} in {}", ctx.env_what());
    let seg: Segment = ctx.client.get(&segment_path(ctx, key)?, &what).await?;
    output::json(&seg)
}

/// Reads a segment document from a file or standard input (`-`), JSON or YAML.
fn read_segment(file: &PathBuf) -> Result<Value> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|source| Error::File {
                path: file.clone(),
                source,
            })?;
        s
    } else {
        std::fs::read_to_string(file).map_err(|source| Error::File {
            path: file.clone(),
            source,
        })?
    };
    // YAML is a superset of JSON.
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| Error::Document {
        path: file.clone(),
        message: format!("not valid JSON or YAML: {e}"),
    })?;
    if !doc.is_object() {
        return Err(Error::Document {
            path: file.clone(),
            message: "expected a segment object `{\"key\": ..., \"included\": [...]}`".into(),
        });
    }
    Ok(doc)
}

async fn put(ctx: &Ctx, file: &PathBuf) -> Result<()> {
    let doc = read_segment(file)?;
    let key = doc
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Document {
            path: file.clone(),
            message: "the segment has no \"key\"".into(),
        })?
        .to_owned();
    let what = format!("segment {key:?} in {}", ctx.env_what());
    let seg: Segment = ctx
        .client
        .call(Method::PUT, &segment_path(ctx, &key)?, Some(&doc), &what)
        .await?;
    output::result(
        ctx.output,
        format!("wrote {what}"),
        &json!({ "segment": seg }),
    )
}

async fn delete(ctx: &Ctx, key: &str) -> Result<()> {
    let what = format!("segment {key:?} in {}", ctx.env_what());
    ctx.client
        .send(Method::DELETE, &segment_path(ctx, key)?, None, &what)
        .await?;
    output::result(
        ctx.output,
        format!("deleted {what}"),
        &json!({ "deleted": key }),
    )
}

/// The export form of segments, sorted by key: fixed field order, empty fields left out.
pub fn export_segments(segments: &[Segment]) -> Result<Yaml> {
    let mut sorted: Vec<&Segment> = segments.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let items = sorted
        .into_iter()
        .map(|s| {
            let input = SegmentInput::from(s);
            let Yaml::Mapping(mut fields) =
                serde_yaml::to_value(&input).map_err(|e| Error::Output(e.to_string()))?
            else {
                return Err(Error::Output(
                    "a segment did not serialize to a mapping".into(),
                ));
            };
            let mut out = Mapping::new();
            for name in ["key", "description", "included", "excluded", "conditions"] {
                let Some(value) = fields.remove(name) else {
                    continue;
                };
                let empty = match &value {
                    Yaml::String(s) => s.is_empty() && name != "key",
                    Yaml::Sequence(s) => s.is_empty(),
                    Yaml::Null => true,
                    _ => false,
                };
                if !empty {
                    out.insert(name.into(), value);
                }
            }
            Ok(Yaml::Mapping(out))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Yaml::Sequence(items))
}
