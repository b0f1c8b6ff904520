//! From a validated model back to its input form: what `PATCH` merges into and what tools
//! edit before validating again.

use super::input::{ConditionInput, FlagInput, RuleInput};
use super::variants::{PrerequisiteInput, ServeInput};
use super::{Condition, Flag, FlagSpec, Rule};

impl From<&Flag> for FlagInput {
    fn from(flag: &Flag) -> FlagInput {
        FlagInput::from(&flag.spec)
    }
}

impl From<&FlagSpec> for FlagInput {
    fn from(flag: &FlagSpec) -> FlagInput {
        FlagInput {
            key: flag.key.to_string(),
            flag_type: flag.flag_type,
            description: flag.description.clone(),
            enabled: flag.enabled,
            variants: flag.variants.clone(),
            prerequisites: flag
                .prerequisites
                .iter()
                .map(PrerequisiteInput::from)
                .collect(),
            rules: flag.rules.iter().map(RuleInput::from).collect(),
            percentage: flag
                .default_serve
                .is_none()
                .then(|| flag.percentage.as_f64()),
            default_serve: flag.default_serve.as_ref().map(ServeInput::from),
            off_variant: flag.off_variant.clone(),
            stickiness: Some(flag.stickiness.clone()),
            salt: Some(flag.salt.clone()),
            tags: flag.tags.clone(),
            owner: flag.owner.clone(),
            expires_at: flag.expires_at.map(|t| t.to_rfc3339()),
            version: None,
            updated_at: None,
            updated_by: None,
        }
    }
}

impl From<&Rule> for RuleInput {
    fn from(r: &Rule) -> RuleInput {
        RuleInput {
            id: r.id.clone(),
            conditions: r.conditions.iter().map(ConditionInput::from).collect(),
            percentage: r.serve.is_none().then(|| r.percentage.as_f64()),
            serve: r.serve.as_ref().map(ServeInput::from),
        }
    }
}

impl From<&Condition> for ConditionInput {
    fn from(c: &Condition) -> ConditionInput {
        ConditionInput {
            attribute: c.attribute().to_owned(),
            operator: c.operator().as_str().to_owned(),
            values: c
                .values()
                .iter()
                .cloned()
                .map(serde_json::Value::String)
                .collect(),
            negate: c.negate(),
            case_insensitive: c.case_insensitive(),
        }
    }
}
