//! The arguments of typed flags: `--type`, `--variant KEY=VALUE`, `--split a=50,b=50`,
//! `--prerequisite FLAG=VARIANT`, and the `flags serve | variants | off-variant |
//! prerequisites` subcommands.

use clap::{Args, ValueEnum};
use flag_sdk::{FlagType, ServeInput, Weighted};
use serde_json::Value;

/// The `--type` of a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    /// On or off (the default): the variants `on` and `off`.
    Boolean,
    /// A string per variant.
    String,
    /// A number per variant.
    Number,
    /// Any JSON value per variant.
    Json,
}

impl From<TypeArg> for FlagType {
    fn from(t: TypeArg) -> FlagType {
        match t {
            TypeArg::Boolean => FlagType::Boolean,
            TypeArg::String => FlagType::String,
            TypeArg::Number => FlagType::Number,
            TypeArg::Json => FlagType::Json,
        }
    }
}

/// `KEY=VALUE` of `--variant` / `--set`, the value as typed (parsed once the type is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantArg {
    /// The variant's key.
    pub key: String,
    /// The value as written.
    pub raw: String,
}

impl VariantArg {
    /// The value for a flag of type `ty`: JSON; for a string flag, text that is not a JSON
    /// string is the string itself (`blue=#0050ff`).
    pub fn value(&self, ty: FlagType) -> Result<Value, String> {
        let parsed = serde_json::from_str::<Value>(&self.raw);
        match (ty, parsed) {
            (FlagType::String, Ok(v @ Value::String(_))) => Ok(v),
            (FlagType::String, _) => Ok(Value::String(self.raw.clone())),
            (FlagType::Boolean, _) => Err(format!(
                "--variant {}: a boolean flag has the variants \"on\" and \"off\"; \
                 pass --type string, number or json for a flag with variants",
                self.key
            )),
            (_, Ok(v)) => Ok(v),
            (_, Err(e)) => Err(format!(
                "--variant {}={}: the value of a {ty} variant is JSON ({e}); \
                 quote it for the shell, e.g. {}='{{\"limit\": 5}}' or {}=5",
                self.key, self.raw, self.key, self.key
            )),
        }
    }
}

/// Parses `KEY=VALUE`.
pub fn parse_variant_arg(s: &str) -> Result<VariantArg, String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok(VariantArg {
            key: k.trim().to_owned(),
            raw: v.to_owned(),
        }),
        _ => Err(format!(
            "{s:?} is not KEY=VALUE (a variant key, `=`, and its value as JSON: blue='\"#0050ff\"')"
        )),
    }
}

/// A split as given: `blue=50,green=50`, in basis points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitArg(pub Vec<Weighted>);

/// Parses `blue=50,green=50`: percentages with at most two decimals, summing to 100.
pub fn parse_split(s: &str) -> Result<SplitArg, String> {
    let mut parts = Vec::new();
    let mut total: u32 = 0;
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (variant, pct) = part.split_once('=').ok_or_else(|| {
            format!("{part:?} in split {s:?} is not VARIANT=PERCENT (like blue=50,green=50)")
        })?;
        let variant = variant.trim();
        let pct_text = pct.trim().trim_end_matches('%');
        let p: f64 = pct_text
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && (0.0..=100.0).contains(p))
            .ok_or_else(|| {
                format!("{part:?} in split {s:?}: {pct:?} is not a percentage from 0 to 100")
            })?;
        let bp = (p * 100.0).round();
        if (p * 100.0 - bp).abs() > 1e-6 {
            return Err(format!(
                "{part:?} in split {s:?}: a percentage has at most two decimals"
            ));
        }
        if variant.is_empty() {
            return Err(format!("{part:?} in split {s:?} has no variant before `=`"));
        }
        if parts.iter().any(|w: &Weighted| w.variant == variant) {
            return Err(format!("split {s:?} names variant {variant:?} twice"));
        }
        total += bp as u32;
        parts.push(Weighted {
            variant: variant.to_owned(),
            weight: bp as u16,
        });
    }
    if parts.is_empty() {
        return Err(format!(
            "{s:?} is not a split: give VARIANT=PERCENT pairs like blue=50,green=50"
        ));
    }
    if total != 10_000 {
        return Err(format!(
            "split {s:?} sums to {}%, not 100%",
            f64::from(total) / 100.0
        ));
    }
    Ok(SplitArg(parts))
}

/// `FLAG=VARIANT[,VARIANT...]` of `--prerequisite` / `--set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrerequisiteArg {
    /// The flag required.
    pub flag: String,
    /// The variants of it that let this flag through.
    pub variants: Vec<String>,
}

/// Parses `FLAG=VARIANT[,VARIANT...]`.
pub fn parse_prerequisite(s: &str) -> Result<PrerequisiteArg, String> {
    let err = || format!("{s:?} is not FLAG=VARIANT[,VARIANT...] (like new_checkout=on)");
    let (flag, vs) = s.split_once('=').ok_or_else(err)?;
    let variants: Vec<String> = vs
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    if flag.trim().is_empty() || variants.is_empty() {
        return Err(err());
    }
    Ok(PrerequisiteArg {
        flag: flag.trim().to_owned(),
        variants,
    })
}

/// What `--variant V` or `--split ...` serves.
pub fn serve_of(variant: Option<&str>, split: Option<&SplitArg>) -> Option<ServeInput> {
    match (variant, split) {
        (Some(v), _) => Some(ServeInput {
            variant: Some(v.to_owned()),
            split: None,
        }),
        (None, Some(s)) => Some(ServeInput {
            variant: None,
            split: Some(s.0.clone()),
        }),
        (None, None) => None,
    }
}

/// The typed-flag options of `flags create`.
#[derive(Debug, Args)]
pub struct TypedCreateArgs {
    /// The type of the values served (default boolean).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub flag_type: Option<TypeArg>,
    /// A variant `KEY=VALUE`, the value as JSON (repeatable); for a string flag, text that is
    /// not a JSON string is taken as is (`blue=#0050ff`).
    #[arg(long = "variant", value_name = "KEY=VALUE", value_parser = parse_variant_arg)]
    pub variants: Vec<VariantArg>,
    /// The variant served to contexts that match no rule.
    #[arg(long, value_name = "VARIANT", conflicts_with_all = ["split", "percentage"])]
    pub default_serve: Option<String>,
    /// A split served to contexts that match no rule: `blue=50,green=50` (percentages, two
    /// decimals at most, summing to 100).
    #[arg(long, value_name = "VARIANT=PERCENT,...", value_parser = parse_split,
          conflicts_with = "percentage")]
    pub split: Option<SplitArg>,
    /// The variant served when the flag is disabled or a prerequisite fails.
    #[arg(long, value_name = "VARIANT")]
    pub off_variant: Option<String>,
    /// A flag that must serve one of the listed variants first: `new_checkout=on` (repeatable).
    #[arg(long = "prerequisite", value_name = "FLAG=VARIANT[,VARIANT]",
          value_parser = parse_prerequisite)]
    pub prerequisites: Vec<PrerequisiteArg>,
}

/// Arguments of `flags serve`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    flag-cli --env production flags serve checkout_button --variant green\n  \
    flag-cli --env production flags serve checkout_button --split blue=50,green=50 --reason \"A/B test\"\n  \
    flag-cli --env production flags serve checkout_button --rule beta --split blue=20,green=80\n\n\
    Without --rule this sets the flag's default_serve (what contexts that match no rule get)\n\
    and drops its percentage; with --rule it sets what that rule serves.")]
pub struct ServeArgs {
    /// The flag's key.
    pub key: String,
    /// Serve this one variant.
    #[arg(
        long,
        value_name = "VARIANT",
        conflicts_with = "split",
        required_unless_present = "split"
    )]
    pub variant: Option<String>,
    /// Serve a split: `blue=50,green=50` (percentages summing to 100).
    #[arg(long, value_name = "VARIANT=PERCENT,...", value_parser = parse_split)]
    pub split: Option<SplitArg>,
    /// Change what this rule serves instead of the default.
    #[arg(long, value_name = "RULE_ID")]
    pub rule: Option<String>,
}

/// Arguments of `flags variants`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    flag-cli --env production flags variants checkout_button --set blue='\"#0000ff\"'\n  \
    flag-cli --env production flags variants checkout_button --set red=#ff0000 --remove green\n  \
    flag-cli --env production flags variants max_items --set large=50\n\n\
    --set changes a variant's value or adds the variant at the end; values are JSON, and for a\n\
    string flag text that is not a JSON string is taken as is. Removing a variant that a rule,\n\
    the default or the off variant serves is refused by the server.")]
pub struct VariantsArgs {
    /// The flag's key.
    pub key: String,
    /// Set a variant's value, adding the variant when new: `KEY=VALUE` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_variant_arg,
          required_unless_present = "remove")]
    pub set: Vec<VariantArg>,
    /// Remove a variant (repeatable).
    #[arg(long = "remove", value_name = "KEY")]
    pub remove: Vec<String>,
}

/// Arguments of `flags off-variant`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    flag-cli --env production flags off-variant checkout_button blue\n  \
    flag-cli --env production flags off-variant checkout_button --clear\n\n\
    Without an off variant, a disabled flag that is not boolean serves nothing and SDKs answer\n\
    the default they were given.")]
pub struct OffVariantArgs {
    /// The flag's key.
    pub key: String,
    /// The variant served when the flag is disabled or a prerequisite fails.
    #[arg(required_unless_present = "clear")]
    pub variant: Option<String>,
    /// Remove the off variant.
    #[arg(long, conflicts_with = "variant")]
    pub clear: bool,
}

/// Arguments of `flags prerequisites`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    flag-cli --env production flags prerequisites checkout_button --set new_checkout=on\n  \
    flag-cli --env production flags prerequisites checkout_button --remove new_checkout\n\n\
    The flag serves its off variant unless every prerequisite serves one of its listed variants\n\
    (`on` / `off` for a boolean flag) for the same context.")]
pub struct PrerequisitesArgs {
    /// The flag's key.
    pub key: String,
    /// Require a flag to serve one of the variants: `FLAG=VARIANT[,VARIANT]` (repeatable).
    #[arg(long = "set", value_name = "FLAG=VARIANT[,VARIANT]", value_parser = parse_prerequisite,
          required_unless_present = "remove")]
    pub set: Vec<PrerequisiteArg>,
    /// Drop the prerequisite on this flag (repeatable).
    #[arg(long = "remove", value_name = "FLAG")]
    pub remove: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        let s = parse_split("blue=50,green=50").unwrap();
        assert_eq!(s.0[0].weight, 5000);
        assert_eq!(
            parse_split("a=33.33,b=33.33,c=33.34").unwrap().0[2].weight,
            3334
        );
        assert_eq!(parse_split("a=0.25%,b=99.75").unwrap().0[0].weight, 25);
        assert!(parse_split("a=50,b=40")
            .unwrap_err()
            .contains("sums to 90%"));
        assert!(parse_split("a=50.001,b=49.999")
            .unwrap_err()
            .contains("two decimals"));
        assert!(parse_split("a=50,a=50").unwrap_err().contains("twice"));
        assert!(parse_split("a").is_err());
        assert!(parse_split("a=x,b=100").is_err());
    }

    #[test]
    fn variant_values() {
        let v = |s: &str| parse_variant_arg(s).unwrap();
        assert_eq!(
            v("blue=\"#0050ff\"").value(FlagType::String),
            Ok(Value::String("#0050ff".into()))
        );
        assert_eq!(
            v("blue=#0050ff").value(FlagType::String),
            Ok(Value::String("#0050ff".into()))
        );
        assert_eq!(
            v("n=5").value(FlagType::String),
            Ok(Value::String("5".into()))
        );
        assert_eq!(v("n=5").value(FlagType::Number), Ok(serde_json::json!(5)));
        assert_eq!(v("eq=a=b").raw, "a=b");
        assert!(v("n=five").value(FlagType::Number).is_err());
        assert!(v("n=1").value(FlagType::Boolean).is_err());
        assert!(parse_variant_arg("novalue").is_err());
    }

    #[test]
    fn prerequisites() {
        let p = parse_prerequisite("new_checkout=on,off").unwrap();
        assert_eq!(p.flag, "new_checkout");
        assert_eq!(p.variants, ["on", "off"]);
        assert!(parse_prerequisite("x=").is_err());
        assert!(parse_prerequisite("x").is_err());
    }
}
