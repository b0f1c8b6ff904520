//! Typed flags: the variant options of `flags create`, and `flags serve | variants |
//! off-variant | prerequisites`, which change a flag through a JSON merge patch. A change
//! computed from the flag as read (a list edited) is sent with `If-Match`, so that a change made
//! in between is not overwritten.

use std::collections::HashSet;

use flag_sdk::wire::StoredFlag;
use flag_sdk::{FlagInput, FlagSpec, FlagType, PrerequisiteInput, Variant, OFF, ON};
use serde_json::{json, Value};

use super::flags::{fetch, on_off};
use super::Ctx;
use crate::error::{Error, Result};
use crate::output;
use crate::show;
use crate::typed_args::{
    serve_of, OffVariantArgs, PrerequisiteArg, PrerequisitesArgs, ServeArgs, TypedCreateArgs,
    VariantsArgs,
};

/// Completes the input of `flags create` with its typed options; `percentage` is what
/// `--percentage` gave. Checks locally what can be checked, so that nothing is sent for a
/// mistake in the command line.
pub fn create_input(
    input: &mut FlagInput,
    typed: &TypedCreateArgs,
    percentage: Option<f64>,
) -> Result<()> {
    let ty: FlagType = typed.flag_type.map_or(FlagType::Boolean, Into::into);
    input.flag_type = ty;
    let mut seen = HashSet::new();
    for v in &typed.variants {
        if !seen.insert(v.key.as_str()) {
            return Err(Error::Usage(format!("--variant {} is given twice", v.key)));
        }
        input.variants.push(Variant {
            key: v.key.clone(),
            value: v.value(ty).map_err(Error::Usage)?,
        });
    }
    let names: Vec<&str> = if ty.is_boolean() {
        vec![ON, OFF]
    } else {
        typed.variants.iter().map(|v| v.key.as_str()).collect()
    };
    let check = |option: &str, name: &str| {
        if names.contains(&name) {
            Ok(())
        } else if names.is_empty() {
            Err(Error::Usage(format!(
                "{option} {name}: the flag has no variants; give them with --variant KEY=VALUE"
            )))
        } else {
            Err(Error::Usage(format!(
                "{option} {name}: unknown variant; the flag's variants are {}",
                names.join(", ")
            )))
        }
    };
    if let Some(v) = &typed.default_serve {
        check("--default-serve", v)?;
    }
    if let Some(s) = &typed.split {
        for w in &s.0 {
            check("--split", &w.variant)?;
        }
    }
    if let Some(v) = &typed.off_variant {
        check("--off-variant", v)?;
    }
    input.default_serve = serve_of(typed.default_serve.as_deref(), typed.split.as_ref());
    input.off_variant = typed.off_variant.clone();
    input.prerequisites = typed.prerequisites.iter().map(prerequisite).collect();
    input.percentage = match (&input.default_serve, ty) {
        (Some(_), _) => None,
        (None, FlagType::Boolean) => Some(percentage.unwrap_or(100.0)),
        (None, _) => {
            return Err(Error::Usage(format!(
                "a {ty} flag needs --default-serve VARIANT or --split VARIANT=PERCENT,... \
                 (what contexts that match no rule are served); --percentage is for boolean flags"
            )))
        }
    };
    Ok(())
}

fn prerequisite(p: &PrerequisiteArg) -> PrerequisiteInput {
    PrerequisiteInput {
        flag: p.flag.clone(),
        variants: p.variants.clone(),
    }
}

/// `flags serve KEY (--variant V | --split ...) [--rule ID]`.
pub async fn serve(ctx: &Ctx, args: &ServeArgs) -> Result<()> {
    let Some(serve) = serve_of(args.variant.as_deref(), args.split.as_ref()) else {
        return Err(Error::Usage(
            "give --variant VARIANT or --split VARIANT=PERCENT,...".into(),
        ));
    };
    match &args.rule {
        None => {
            // A merge patch merges objects: the other form of serve is removed explicitly.
            let patch = json!({
                "default_serve": { "variant": serve.variant, "split": serve.split },
                "percentage": null,
            });
            write(ctx, &args.key, &patch, None, None).await
        }
        Some(id) => {
            let f = fetch(ctx, &args.key).await?;
            let mut input = FlagInput::from(&f.flag.spec);
            let ids: Vec<String> = input.rules.iter().map(|r| r.id.clone()).collect();
            let Some(rule) = input.rules.iter_mut().find(|r| r.id == *id) else {
                return Err(Error::Usage(format!(
                    "{} has no rule {id:?}; its rules are: {}",
                    ctx.flag_what(&args.key),
                    if ids.is_empty() {
                        "none".into()
                    } else {
                        ids.join(", ")
                    }
                )));
            };
            rule.serve = Some(serve);
            rule.percentage = None;
            let patch = json!({ "rules": input.rules });
            write(ctx, &args.key, &patch, Some(f.flag.version), Some(id)).await
        }
    }
}

/// `flags variants KEY --set KEY=VALUE --remove KEY`.
pub async fn variants(ctx: &Ctx, args: &VariantsArgs) -> Result<()> {
    let f = fetch(ctx, &args.key).await?;
    let spec = &f.flag.spec;
    if spec.flag_type.is_boolean() {
        return Err(Error::Usage(format!(
            "{} is a boolean flag: its variants are \"on\" and \"off\" and cannot be edited",
            ctx.flag_what(&args.key)
        )));
    }
    let mut list = spec.variants.clone();
    for key in &args.remove {
        let Some(i) = list.iter().position(|v| v.key == *key) else {
            return Err(Error::Usage(format!(
                "--remove {key}: {} has no such variant; its variants are {}",
                ctx.flag_what(&args.key),
                variant_keys(spec)
            )));
        };
        list.remove(i);
    }
    for set in &args.set {
        let value = set.value(spec.flag_type).map_err(Error::Usage)?;
        match list.iter_mut().find(|v| v.key == set.key) {
            Some(v) => v.value = value,
            None => list.push(Variant {
                key: set.key.clone(),
                value,
            }),
        }
    }
    let patch = json!({ "variants": list });
    write(ctx, &args.key, &patch, Some(f.flag.version), None).await
}

/// `flags off-variant KEY VARIANT | --clear`.
pub async fn off_variant(ctx: &Ctx, args: &OffVariantArgs) -> Result<()> {
    let value = match (&args.variant, args.clear) {
        (Some(v), false) => Value::String(v.clone()),
        _ => Value::Null,
    };
    write(ctx, &args.key, &json!({ "off_variant": value }), None, None).await
}

/// `flags prerequisites KEY --set FLAG=VARIANT --remove FLAG`.
pub async fn prerequisites(ctx: &Ctx, args: &PrerequisitesArgs) -> Result<()> {
    let f = fetch(ctx, &args.key).await?;
    let mut list: Vec<PrerequisiteInput> = f
        .flag
        .prerequisites
        .iter()
        .map(PrerequisiteInput::from)
        .collect();
    for flag in &args.remove {
        let Some(i) = list.iter().position(|p| p.flag == *flag) else {
            let now: Vec<&str> = list.iter().map(|p| p.flag.as_str()).collect();
            return Err(Error::Usage(format!(
                "--remove {flag}: {} has no prerequisite on it; its prerequisites are: {}",
                ctx.flag_what(&args.key),
                if now.is_empty() {
                    "none".into()
                } else {
                    now.join(", ")
                }
            )));
        };
        list.remove(i);
    }
    for set in &args.set {
        let p = prerequisite(set);
        match list.iter_mut().find(|q| q.flag == p.flag) {
            Some(q) => *q = p,
            None => list.push(p),
        }
    }
    let patch = json!({ "prerequisites": list });
    write(ctx, &args.key, &patch, Some(f.flag.version), None).await
}

fn variant_keys(spec: &FlagSpec) -> String {
    let keys: Vec<&str> = spec.variants.iter().map(|v| v.key.as_str()).collect();
    if keys.is_empty() {
        "none".into()
    } else {
        keys.join(", ")
    }
}

/// Sends a patch and says what the flag (or the rule changed) serves now.
async fn write(
    ctx: &Ctx,
    key: &str,
    patch: &Value,
    version: Option<u64>,
    rule: Option<&str>,
) -> Result<()> {
    let f: StoredFlag = ctx
        .client
        .patch_at(&ctx.flag_path(key)?, patch, version, &ctx.flag_what(key))
        .await?;
    let serves = match rule.and_then(|id| f.flag.rules.iter().find(|r| r.id == id)) {
        Some(r) => format!("rule {} serves {}", r.id, show::rule_serves(r)),
        None => show::summary(&f.flag),
    };
    let sentence = format!(
        "{}: {}, {serves} (version {})",
        ctx.flag_what(key),
        on_off(&f.flag),
        f.flag.version
    );
    output::result(ctx.output, sentence, &f)
}
