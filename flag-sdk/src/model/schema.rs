//! `utoipa::ToSchema` for the model's newtypes, the operators and the context, whose JSON is
//! written by hand (so a derive would describe their Rust shape, not their JSON): the grammar
//! of names, the bounds of a percentage, the operators' names, a context's attributes.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::{EnvName, FlagKey, Operator, Percentage, MAX_ENV_LEN, MAX_KEY_LEN};
use crate::Context;

fn name(pattern: &str, max: usize, example: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .min_length(Some(1))
        .max_length(Some(max))
        .examples([serde_json::Value::from(example)])
        .into()
}

impl PartialSchema for FlagKey {
    fn schema() -> RefOr<Schema> {
        name(
            FlagKey::PATTERN,
            MAX_KEY_LEN,
            "new_checkout",
            "A flag key: 1 to 128 characters of A-Z, a-z, 0-9, '_', '.', '-', starting with a letter or digit.",
        )
    }
}

impl ToSchema for FlagKey {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("FlagKey")
    }
}

impl PartialSchema for EnvName {
    fn schema() -> RefOr<Schema> {
        name(
            EnvName::PATTERN,
            MAX_ENV_LEN,
            "production",
            "An environment name: 1 to 64 characters of a-z, 0-9, '_', '-', starting with a letter or digit.",
        )
    }
}

impl ToSchema for EnvName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EnvName")
    }
}

impl PartialSchema for Percentage {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .description(Some(
                "A rollout percentage: 0 to 100, at most two decimals.",
            ))
            .minimum(Some(0))
            .maximum(Some(100))
            .examples([serde_json::json!(25)])
            .into()
    }
}

impl ToSchema for Percentage {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Percentage")
    }
}

/// From [`Operator::ALL`]: a derive would not see the names the `operators!` macro gives.
impl PartialSchema for Operator {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A condition operator."))
            .enum_values(Some(Operator::ALL.iter().map(|o| o.as_str())))
            .into()
    }
}

impl ToSchema for Operator {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Operator")
    }
}

/// A context attribute: a string, a number, a boolean or a list of strings.
fn attribute() -> RefOr<Schema> {
    OneOfBuilder::new()
        .description(Some(
            "The value of a context attribute: a string, a number, a boolean or a list of strings.",
        ))
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)))
        .into()
}

impl PartialSchema for Context {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .description(Some(
                "Attributes by name: strings, numbers, booleans or lists of strings.",
            ))
            .additional_properties(Some(utoipa::openapi::Ref::from_schema_name("Attribute")))
            .property_names(Some(ObjectBuilder::new().schema_type(Type::String)))
            .examples([serde_json::json!({"user_id": "42", "country": "DE"})])
            .into()
    }
}

impl ToSchema for Context {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Context")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("Attribute".to_owned(), attribute()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_patterns_are_the_parsers() {
        let key = regex::Regex::new(FlagKey::PATTERN).unwrap();
        let env = regex::Regex::new(EnvName::PATTERN).unwrap();
        for s in [
            "a",
            "new_checkout",
            "A.b-c_9",
            "-x",
            "",
            ".a",
            "é",
            &"k".repeat(128),
            &"k".repeat(129),
        ] {
            assert_eq!(key.is_match(s), FlagKey::parse(s).is_ok(), "{s:?}");
            assert_eq!(env.is_match(s), EnvName::parse(s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn operators_are_named_as_in_json() {
        let RefOr::T(Schema::Object(o)) = Operator::schema() else {
            panic!("an object schema")
        };
        let names: Vec<serde_json::Value> = Operator::ALL
            .iter()
            .map(|o| serde_json::to_value(o).unwrap())
            .collect();
        assert_eq!(o.enum_values, Some(names));
    }
}
