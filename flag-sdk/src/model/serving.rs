//! Validation of what a flag serves: its variants against its type, every `serve` and split
//! against its variants, the choice between `percentage` and `serve`, and the shape of its
//! prerequisites.

use std::collections::HashSet;

use super::limits::*;
use super::names::check_name;
use super::variants::{
    FlagType, Prerequisite, PrerequisiteInput, Serve, ServeInput, Variant, OFF, ON,
};
use super::{FlagKey, Percentage};
use crate::error::ValidationErrors;

/// Checks the grammar of a variant key (or a rule id: the same grammar).
pub(crate) fn check_variant_key(errors: &mut ValidationErrors, path: &str, key: &str) -> bool {
    match check_name(
        key,
        MAX_KEY_LEN_RULE,
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'),
    ) {
        Ok(()) => true,
        Err(m) => {
            errors.push(
                path,
                format!("{m}: a key is 1 to {MAX_KEY_LEN_RULE} characters of A-Z, a-z, 0-9, '_', '.', '-'"),
            );
            false
        }
    }
}

/// The grammar limit of rule ids and variant keys.
pub(crate) const MAX_KEY_LEN_RULE: usize = 128;

/// The variants a flag of `ty` may name: the listed ones, or `on` / `off` for a boolean flag.
pub(crate) struct VariantNames<'a> {
    ty: FlagType,
    names: HashSet<&'a str>,
}

impl<'a> VariantNames<'a> {
    pub(crate) fn contains(&self, name: &str) -> bool {
        if self.ty.is_boolean() {
            name == ON || name == OFF
        } else {
            self.names.contains(name)
        }
    }

    fn expected(&self) -> String {
        if self.ty.is_boolean() {
            "a boolean flag has the variants \"on\" and \"off\"".to_owned()
        } else {
            let mut names: Vec<&str> = self.names.iter().copied().collect();
            names.sort_unstable();
            format!("the flag's variants are {}", names.join(", "))
        }
    }

    /// Checks that `name` is a variant of the flag.
    pub(crate) fn check(&self, errors: &mut ValidationErrors, path: &str, name: &str) -> bool {
        if self.contains(name) {
            true
        } else {
            errors.push(
                path,
                format!("unknown variant {name:?}: {}", self.expected()),
            );
            false
        }
    }
}

/// Validates the variants of a flag of type `ty`, reporting problems at `variants[i]...`.
pub(crate) fn validate_variants<'a>(
    errors: &mut ValidationErrors,
    ty: FlagType,
    variants: &'a [Variant],
) -> VariantNames<'a> {
    let mut names = HashSet::new();
    if ty.is_boolean() {
        if !variants.is_empty() {
            errors.push(
                "variants",
                "a boolean flag has the implicit variants \"on\" and \"off\"; list variants only for a string, number or json flag",
            );
        }
        return VariantNames { ty, names };
    }
    if variants.is_empty() {
        errors.push(
            "variants",
            format!("a {ty} flag needs at least one variant"),
        );
    }
    if variants.len() > MAX_VARIANTS {
        errors.push(
            "variants",
            format!("at most {MAX_VARIANTS} variants are allowed"),
        );
    }
    for (i, v) in variants.iter().enumerate().take(MAX_VARIANTS) {
        let path = format!("variants[{i}]");
        if check_variant_key(errors, &format!("{path}.key"), &v.key) && !names.insert(&*v.key) {
            errors.push(
                format!("{path}.key"),
                format!("duplicate variant key {:?}", v.key),
            );
        }
        if !ty.accepts(&v.value) {
            errors.push(
                format!("{path}.value"),
                format!("must be a {ty} (the flag's type)"),
            );
        } else if serde_json::to_vec(&v.value).map_or(0, |b| b.len()) > MAX_VARIANT_VALUE {
            errors.push(
                format!("{path}.value"),
                format!("must be at most {MAX_VARIANT_VALUE} bytes of JSON"),
            );
        }
    }
    VariantNames { ty, names }
}

/// Validates what a rule or the default serves.
pub(crate) fn validate_serve(
    errors: &mut ValidationErrors,
    path: &str,
    input: &ServeInput,
    names: &VariantNames<'_>,
) -> Option<Serve> {
    match (&input.variant, &input.split) {
        (Some(v), None) => names
            .check(errors, &format!("{path}.variant"), v)
            .then(|| Serve::Variant(v.clone())),
        (None, Some(parts)) => {
            let before = errors.len();
            if parts.is_empty() {
                errors.push(format!("{path}.split"), "must hold at least one variant");
            }
            if parts.len() > MAX_VARIANTS {
                errors.push(
                    format!("{path}.split"),
                    format!("at most {MAX_VARIANTS} variants are allowed"),
                );
            }
            let mut seen = HashSet::new();
            let mut total: u32 = 0;
            for (i, part) in parts.iter().enumerate().take(MAX_VARIANTS) {
                let vpath = format!("{path}.split[{i}]");
                if names.check(errors, &format!("{vpath}.variant"), &part.variant)
                    && !seen.insert(part.variant.as_str())
                {
                    errors.push(
                        format!("{vpath}.variant"),
                        format!("{:?} is listed twice in the split", part.variant),
                    );
                }
                if part.weight > 10_000 {
                    errors.push(
                        format!("{vpath}.weight"),
                        "must be between 0 and 10000 (basis points)",
                    );
                }
                total += u32::from(part.weight);
            }
            if !parts.is_empty() && total != 10_000 && errors.len() == before {
                errors.push(
                    format!("{path}.split"),
                    format!("the weights sum to {total}; they must sum to 10000 (basis points)"),
                );
            }
            (errors.len() == before).then(|| Serve::Split(parts.clone()))
        }
        (Some(_), Some(_)) => {
            errors.push(
                path,
                "serve either one \"variant\" or a \"split\", not both",
            );
            None
        }
        (None, None) => {
            errors.push(
                path,
                "serve needs \"variant\" (e.g. {\"variant\": \"blue\"}) or \"split\"",
            );
            None
        }
    }
}

/// A rule's or the flag's decision: the percentage of a boolean flag, or what it serves.
/// Exactly one is given; a boolean flag without either serves 100% (as before variants).
pub(crate) fn validate_decision(
    errors: &mut ValidationErrors,
    path: &str,
    serve_field: &str,
    percentage: Option<f64>,
    serve: Option<&ServeInput>,
    names: &VariantNames<'_>,
) -> (Percentage, Option<Serve>) {
    let field = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    match (percentage, serve) {
        (Some(_), Some(_)) => {
            errors.push(
                field(serve_field),
                format!("give either \"percentage\" (a boolean flag's rollout) or \"{serve_field}\", not both"),
            );
            (Percentage::FULL, None)
        }
        (p, None) => {
            if !names.ty.is_boolean() {
                errors.push(
                    field(serve_field),
                    format!(
                        "a {} flag needs \"{serve_field}\" (e.g. {{\"variant\": \"...\"}}); \"percentage\" is for boolean flags",
                        names.ty
                    ),
                );
                return (Percentage::FULL, None);
            }
            let p = match Percentage::from_f64(p.unwrap_or(100.0)) {
                Ok(p) => p,
                Err(m) => {
                    errors.push(field("percentage"), m.to_string());
                    Percentage::FULL
                }
            };
            (p, None)
        }
        (None, Some(s)) => (
            Percentage::FULL,
            validate_serve(errors, &field(serve_field), s, names),
        ),
    }
}

/// Validates the prerequisites' shape; that the flags exist, have the variants and form no
/// cycle is checked against the whole environment (see [`super::references`]).
pub(crate) fn validate_prerequisites(
    errors: &mut ValidationErrors,
    own_key: &str,
    inputs: &[PrerequisiteInput],
) -> Vec<Prerequisite> {
    if inputs.len() > MAX_PREREQUISITES {
        errors.push(
            "prerequisites",
            format!("at most {MAX_PREREQUISITES} prerequisites are allowed"),
        );
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, p) in inputs.iter().enumerate().take(MAX_PREREQUISITES) {
        let path = format!("prerequisites[{i}]");
        let before = errors.len();
        let flag = match FlagKey::parse(&p.flag) {
            Ok(k) => Some(k),
            Err(m) => {
                errors.push(format!("{path}.flag"), m.to_string());
                None
            }
        };
        if p.flag == own_key {
            errors.push(
                format!("{path}.flag"),
                "a flag cannot be its own prerequisite",
            );
        } else if !seen.insert(p.flag.as_str()) {
            errors.push(
                format!("{path}.flag"),
                format!("{:?} is listed twice", p.flag),
            );
        }
        if p.variants.is_empty() {
            errors.push(
                format!("{path}.variants"),
                "must name at least one variant (e.g. [\"on\"])",
            );
        }
        for (j, v) in p.variants.iter().enumerate().take(MAX_VARIANTS) {
            check_variant_key(errors, &format!("{path}.variants[{j}]"), v);
        }
        if let (Some(flag), true) = (flag, errors.len() == before) {
            out.push(Prerequisite {
                flag,
                variants: p.variants.clone(),
            });
        }
    }
    out
}
