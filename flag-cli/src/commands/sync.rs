//! Flags-as-code: `export`, `plan` and `apply`.
//!
//! The document is `{flags: [...]}`, sorted by key, each flag in a fixed field order without the
//! fields the server sets and without fields that hold their default, so that a git diff shows
//! only what changed.

use std::path::Path;

use flag_sdk::wire::ApplyRequest;
use flag_sdk::{FlagInput, FlagSpec};
use serde_json::Value;
use serde_yaml::{Mapping, Value as Yaml};

use super::flags::fetch_all;
use super::{Ctx, Outcome};
use crate::cli::{Output, SyncArgs};
use crate::error::{Error, Result};
use crate::output;
use crate::plan::{Plan, PlanText};

/// Field order of an exported flag: who and what first, the long rules last.
const FIELD_ORDER: &[&str] = &[
    "key",
    "type",
    "description",
    "owner",
    "tags",
    "enabled",
    "variants",
    "prerequisites",
    "percentage",
    "default_serve",
    "off_variant",
    "stickiness",
    "salt",
    "expires_at",
    "rules",
];

/// `export [-f FILE]`.
pub async fn export(ctx: &Ctx, file: Option<&Path>) -> Result<Outcome> {
    let list = fetch_all(ctx).await?;
    let flags: Vec<&FlagSpec> = list.flags.iter().map(|f| &f.flag.spec).collect();
    let mut doc = document(&flags)?;
    // Segments only when the environment has any: the document of an environment without
    // segments stays exactly `{flags: [...]}`.
    let segments = super::segments::fetch_segments(ctx).await?.segments;
    if let (false, Yaml::Mapping(m)) = (segments.is_empty(), &mut doc) {
        m.insert(
            "segments".into(),
            super::segments::export_segments(&segments)?,
        );
    }
    let as_json = match file {
        Some(p) => is_json(p),
        None => ctx.output == Output::Json,
    };
    let text = if as_json {
        serde_json::to_string_pretty(&doc)
            .map(|s| s + "\n")
            .map_err(|e| Error::Output(e.to_string()))?
    } else {
        serde_yaml::to_string(&doc).map_err(|e| Error::Output(e.to_string()))?
    };
    match file {
        None => output::line(text.trim_end())?,
        Some(path) => {
            std::fs::write(path, text).map_err(|source| Error::File {
                path: path.to_owned(),
                source,
            })?;
            let sentence = format!(
                "wrote {} flags of {} (version {}) to {}",
                flags.len(),
                ctx.env_what(),
                list.version,
                path.display()
            );
            let value = serde_json::json!({
                "environment": ctx.env()?, "version": list.version,
                "flags": flags.len(), "file": path.display().to_string(),
            });
            output::result(ctx.output, sentence, &value)?;
        }
    }
    Ok(Outcome::Done)
}

/// `plan -f FILE [--prune]`: exit 2 on drift.
pub async fn plan(ctx: &Ctx, args: &SyncArgs) -> Result<Outcome> {
    let doc = read_document(&args.file)?;
    let plan = send(ctx, &doc, true, args.prune).await?;
    show(ctx, &plan, &args.file, false)?;
    Ok(if plan.has_drift() {
        Outcome::Drift
    } else {
        Outcome::Done
    })
}

/// `apply -f FILE [--prune] [--check]`.
pub async fn apply(ctx: &Ctx, args: &SyncArgs, check: bool) -> Result<Outcome> {
    if check {
        return plan(ctx, args).await;
    }
    let doc = read_document(&args.file)?;
    let plan = send(ctx, &doc, false, args.prune).await?;
    show(ctx, &plan, &args.file, true)?;
    Ok(Outcome::Done)
}

async fn send(ctx: &Ctx, doc: &ApplyRequest, dry_run: bool, prune: bool) -> Result<Plan> {
    let path = ctx.env_path(&format!("/apply?dry_run={dry_run}&prune={prune}"))?;
    ctx.client.post(&path, doc, &ctx.env_what()).await
}

fn show(ctx: &Ctx, plan: &Plan, file: &Path, applied: bool) -> Result<()> {
    if ctx.output == Output::Json {
        let mut raw = serde_json::to_value(plan).map_err(|e| Error::Output(e.to_string()))?;
        if let Value::Object(o) = &mut raw {
            o.insert("drift".into(), Value::Bool(plan.has_drift()));
        }
        return output::json(&raw);
    }
    for line in plan.lines() {
        output::line(line)?;
    }
    if let Some(s) = &plan.segments {
        for (sign, keys) in [("+", &s.created), ("~", &s.updated), ("-", &s.deleted)] {
            for key in keys {
                output::line(format!("{sign} segment {key}"))?;
            }
        }
    }
    let env = ctx.env_what();
    let summary = match (plan.has_drift(), applied) {
        (false, _) => format!(
            "no changes: {env} matches {} ({} flags)",
            file.display(),
            plan.unchanged.len()
        ),
        (true, false) => format!("plan for {env}: {}", plan.counts()),
        (true, true) => format!("applied to {env}: {}", plan.counts()),
    };
    output::line(summary)?;
    if !plan.kept.is_empty() {
        output::note(format!(
            "note: {} flag(s) in {env} are not in the file and are kept ({}); --prune deletes them",
            plan.kept.len(),
            plan.kept.join(", ")
        ));
    }
    Ok(())
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Reads a flags document, YAML or (by extension) JSON, as the body of apply.
pub fn read_document(path: &Path) -> Result<ApplyRequest> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::File {
        path: path.to_owned(),
        source,
    })?;
    let doc: Value = if is_json(path) {
        serde_json::from_str(&text).map_err(|e| Error::Document {
            path: path.to_owned(),
            message: format!("not valid JSON: {e}"),
        })?
    } else {
        serde_yaml::from_str(&text).map_err(|e| Error::Document {
            path: path.to_owned(),
            message: format!("not valid YAML: {e}"),
        })?
    };
    let doc =
        match doc.get("flags") {
            Some(Value::Array(_)) => doc,
            Some(Value::Null) | None if doc.is_object() => {
                // An empty `flags:` in YAML is null: treat it as no flags.
                let mut doc = doc;
                doc["flags"] = Value::Array(Vec::new());
                doc
            }
            _ => return Err(Error::Document {
                path: path.to_owned(),
                message:
                    "expected a document of the form `flags: [...]` (what `flag-cli export` writes)"
                        .into(),
            }),
        };
    // The body of apply; only an unknown top-level field is left to fail here.
    serde_json::from_value(doc).map_err(|e| Error::Document {
        path: path.to_owned(),
        message: format!("not a flags document: {e}"),
    })
}

/// The export document `{flags: [...]}` of a set of flags' specs, sorted by key.
pub fn document<F: AsRef<FlagSpec>>(flags: &[F]) -> Result<Yaml> {
    let mut sorted: Vec<&FlagSpec> = flags.iter().map(AsRef::as_ref).collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let items = sorted
        .into_iter()
        .map(export_flag)
        .collect::<Result<Vec<_>>>()?;
    let mut doc = Mapping::new();
    doc.insert("flags".into(), Yaml::Sequence(items));
    Ok(Yaml::Mapping(doc))
}

/// One spec as exported: fixed field order, defaults left out, whole numbers without `.0`.
fn export_flag(flag: &FlagSpec) -> Result<Yaml> {
    let input = FlagInput::from(flag);
    let Yaml::Mapping(mut fields) =
        serde_yaml::to_value(&input).map_err(|e| Error::Output(e.to_string()))?
    else {
        return Err(Error::Output(
            "a flag did not serialize to a mapping".into(),
        ));
    };
    let mut out = Mapping::new();
    for name in FIELD_ORDER {
        let Some(value) = fields.remove(*name) else {
            continue;
        };
        let default = match (*name, &value) {
            (_, Yaml::Null) => true,
            (_, Yaml::Sequence(s)) => s.is_empty(),
            ("description", Yaml::String(s)) => s.is_empty(),
            ("stickiness", Yaml::String(s)) => s == "user_id",
            ("salt", Yaml::String(s)) => s == flag.key.as_str(),
            _ => false,
        };
        if !default || matches!(*name, "key" | "enabled" | "percentage") {
            out.insert((*name).into(), whole_numbers(value));
        }
    }
    // Anything the model gains later is kept, after the known fields.
    for (k, v) in fields {
        if !v.is_null() {
            out.insert(k, whole_numbers(v));
        }
    }
    Ok(Yaml::Mapping(out))
}

/// `5.0` becomes `5` (percentages are f64 in the input model).
fn whole_numbers(v: Yaml) -> Yaml {
    match v {
        Yaml::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => {
                Yaml::Number((f as i64).into())
            }
            _ => Yaml::Number(n),
        },
        Yaml::Sequence(s) => Yaml::Sequence(s.into_iter().map(whole_numbers).collect()),
        Yaml::Mapping(m) => {
            Yaml::Mapping(m.into_iter().map(|(k, v)| (k, whole_numbers(v))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flag_sdk::Flag;

    #[test]
    fn export_is_minimal_sorted_and_ordered() {
        let b = Flag::from_json(
            br#"{"key": "b", "enabled": true, "percentage": 25, "rules": [
            {"id": "staff", "percentage": 100, "conditions": [
                {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]}]}"#,
        )
        .unwrap();
        let a = Flag::from_json(
            br#"{"key": "a", "description": "A", "percentage": 0.5, "salt": "s", "tags": ["t"]}"#,
        )
        .unwrap();
        let text = serde_yaml::to_string(&document(&[&b, &a]).unwrap()).unwrap();
        let expected = "flags:\n\
            - key: a\n  description: A\n  tags:\n  - t\n  enabled: false\n  percentage: 0.5\n  salt: s\n\
            - key: b\n  enabled: true\n  percentage: 25\n  rules:\n  - id: staff\n    conditions:\n    \
            - attribute: email\n      operator: ends_with\n      values:\n      - '@example.com'\n    percentage: 100\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn exported_document_reads_back_as_the_same_flags() {
        let f = Flag::from_json(
            br#"{"key": "x", "enabled": true, "percentage": 12.5, "owner": "o",
            "expires_at": "2027-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let text = serde_yaml::to_string(&document(&[&f]).unwrap()).unwrap();
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        let back = Flag::from_value(doc["flags"][0].clone()).unwrap();
        assert_eq!(back, f);
    }
}
