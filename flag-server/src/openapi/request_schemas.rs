//! Schemas of what clients send: a flag with its rules and conditions, a merge patch of it,
//! and the apply document. These describe `FlagInput` and a JSON merge patch with the bounds
//! validation enforces (`flag_sdk::model::limits`), which the input types do not carry; a
//! test checks that their fields are the model's. Everything the server answers is described
//! by the wire and model types themselves.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A test of one context attribute. The values must parse for the operator: numbers for
/// `lt`..`gte`, semantic versions for `semver_*`, RFC 3339 instants for `before`/`after`, a
/// regular expression (Rust `regex` syntax) for `matches`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ConditionInput)]
pub struct ConditionDoc {
    /// The context attribute.
    #[schema(example = "country", min_length = 1, max_length = 1024)]
    pub attribute: String,
    /// The operator.
    pub operator: flag_sdk::Operator,
    /// Matches when the attribute matches any value (`not_in`: none). 1 to 1000 values,
    /// strings of at most 1024 bytes or numbers.
    #[schema(schema_with = condition_values)]
    pub values: Vec<serde_json::Value>,
    /// Invert the result (a missing attribute then matches). Default false.
    #[schema(required = false)]
    pub negate: bool,
    /// Compare text ignoring case: only for `in`, `not_in`, `starts_with`, `ends_with`,
    /// `contains`. Default false.
    #[schema(required = false)]
    pub case_insensitive: bool,
}

fn bounded_string(min: usize, max: usize) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length((min > 0).then_some(min))
        .max_length(Some(max))
        .build()
}

/// 1 to 1000 values, each a string of at most 1024 bytes or a number.
fn condition_values() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let value = OneOfBuilder::new()
        .item(bounded_string(0, 1024))
        .item(ObjectBuilder::new().schema_type(Type::Number));
    ArrayBuilder::new()
        .items(value)
        .min_items(Some(1))
        .max_items(Some(1000))
        .examples([serde_json::json!(["DE", "FR"])])
        .build()
}

/// At most 50 tags of 1 to 1024 bytes; `nullable` for a merge patch.
fn tags(nullable: bool) -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, SchemaType, Type};
    let ty = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::new(Type::Array)
    };
    ArrayBuilder::new()
        .schema_type(ty)
        .items(bounded_string(1, 1024))
        .max_items(Some(50))
        .build()
}

fn input_tags() -> utoipa::openapi::schema::Array {
    tags(false)
}

fn patch_tags() -> utoipa::openapi::schema::Array {
    tags(true)
}

/// A prerequisite: another flag of the environment must serve one of `variants` first.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PrerequisiteInput)]
pub struct PrerequisiteDoc {
    /// The other flag's key.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", max_length = 128)]
    pub flag: String,
    /// Its variants that let this flag through, e.g. `["on"]`.
    #[schema(min_items = 1)]
    pub variants: Vec<String>,
}

/// A targeting rule; the first rule whose conditions all match decides.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RuleInput)]
pub struct ConditionsRuleDoc {
    /// Unique within the flag; shown in evaluation reasons. Same grammar as a flag key.
    #[schema(
        example = "eu-canary",
        pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
        max_length = 128
    )]
    pub id: String,
    /// All must match (at most 20). Default none: the rule matches every context.
    #[schema(required = false, max_items = 20)]
    pub conditions: Vec<ConditionDoc>,
    /// A boolean flag's rollout among matching contexts: 0 to 100, at most two decimals.
    /// Default 100. Not with `serve`.
    #[schema(example = 25, required = false, minimum = 0, maximum = 100)]
    pub percentage: f64,
    /// What the rule serves: one variant or a split (a flag that is not boolean needs it).
    /// Not with `percentage`.
    #[schema(required = false)]
    pub serve: Option<flag_sdk::Serve>,
}

/// A flag as sent by a client. Unknown fields are rejected; `version`, `updated_at` and
/// `updated_by` are accepted and ignored (so an exported document can be applied). Lengths
/// are limits in bytes of UTF-8 (JSON Schema counts characters: they agree for ASCII).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FlagInput)]
pub struct FlagInputDoc {
    /// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`
    #[schema(
        example = "new_checkout",
        pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
        max_length = 128
    )]
    pub key: String,
    /// Default `boolean`.
    #[serde(rename = "type")]
    #[schema(required = false)]
    pub flag_type: flag_sdk::FlagType,
    /// Default empty.
    #[schema(required = false, max_length = 4096)]
    pub description: String,
    /// Default false (new flags ship dark).
    #[schema(required = false)]
    pub enabled: bool,
    /// The values of a string, number or json flag (1 to 100, keys unique, values of the
    /// flag's type); none for a boolean flag (its variants are `on` and `off`).
    #[schema(required = false, max_items = 100)]
    pub variants: Vec<flag_sdk::Variant>,
    /// At most 20; each names another flag of the environment, with no cycle and at most 8
    /// deep.
    #[schema(required = false, max_items = 20)]
    pub prerequisites: Vec<PrerequisiteDoc>,
    /// Default none. At most 100; ids unique.
    #[schema(required = false, max_items = 100)]
    pub rules: Vec<ConditionsRuleDoc>,
    /// A boolean flag's rollout: 0 to 100, at most two decimals. Default 100. Not with
    /// `default_serve`.
    #[schema(required = false, minimum = 0, maximum = 100)]
    pub percentage: f64,
    /// What contexts matching no rule are served (a flag that is not boolean needs it).
    #[schema(required = false)]
    pub default_serve: Option<flag_sdk::Serve>,
    /// The variant served when the flag is disabled or a prerequisite fails (a boolean
    /// flag's is `off`).
    #[schema(required = false, max_length = 128)]
    pub off_variant: Option<String>,
    /// Default `user_id`.
    #[schema(min_length = 1, max_length = 1024)]
    pub stickiness: Option<String>,
    /// Default the key.
    #[schema(max_length = 1024)]
    pub salt: Option<String>,
    /// Default none. At most 50, none empty.
    #[schema(required = false, schema_with = input_tags)]
    pub tags: Vec<String>,
    /// Default none.
    #[schema(max_length = 1024)]
    pub owner: Option<String>,
    /// RFC 3339 instant.
    pub expires_at: Option<DateTime<Utc>>,
    /// Ignored: set by the server.
    #[schema(required = false, value_type = Object)]
    pub version: Option<serde_json::Value>,
    /// Ignored: set by the server.
    #[schema(required = false, value_type = Object)]
    pub updated_at: Option<serde_json::Value>,
    /// Ignored: set by the server.
    #[schema(required = false, value_type = Object)]
    pub updated_by: Option<serde_json::Value>,
}

/// A JSON merge patch (RFC 7386) of a flag: the fields to change, `null` to reset one to its
/// default. The result must be a valid flag with the same key.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FlagPatch)]
pub struct FlagPatchDoc {
    /// Must stay the path's key.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", max_length = 128)]
    pub key: Option<String>,
    /// Free text, at most 4096 bytes.
    #[schema(max_length = 4096)]
    pub description: Option<String>,
    /// The kill switch.
    pub enabled: Option<bool>,
    /// The flag's type.
    #[serde(rename = "type")]
    pub flag_type: Option<flag_sdk::FlagType>,
    /// Replaces the variants.
    #[schema(max_items = 100)]
    pub variants: Option<Vec<flag_sdk::Variant>>,
    /// Replaces the prerequisites.
    #[schema(max_items = 20)]
    pub prerequisites: Option<Vec<PrerequisiteDoc>>,
    /// Replaces the rules.
    #[schema(max_items = 100)]
    pub rules: Option<Vec<ConditionsRuleDoc>>,
    /// 0 to 100, at most two decimals.
    #[schema(minimum = 0, maximum = 100)]
    pub percentage: Option<f64>,
    /// What contexts matching no rule are served.
    pub default_serve: Option<flag_sdk::Serve>,
    /// The variant served when disabled.
    #[schema(max_length = 128)]
    pub off_variant: Option<String>,
    /// The attribute hashed.
    #[schema(min_length = 1, max_length = 1024)]
    pub stickiness: Option<String>,
    /// Mixed into the hash.
    #[schema(max_length = 1024)]
    pub salt: Option<String>,
    /// Labels.
    #[schema(schema_with = patch_tags)]
    pub tags: Option<Vec<String>>,
    /// Owner.
    #[schema(max_length = 1024)]
    pub owner: Option<String>,
    /// RFC 3339 instant.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The document of `apply`, as `flag-cli export` writes it: the request-side schema of
/// [`flag_sdk::wire::ApplyRequest`], whose flags are [`FlagInputDoc`]s.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApplyDocument)]
pub struct ApplyDocumentDoc {
    flags: Vec<FlagInputDoc>,
    /// The segments the environment should hold; absent: segments are left as they are.
    /// Applied before the flags, so flags can reference them.
    #[schema(required = false)]
    segments: Vec<SegmentInputDoc>,
}

/// A segment as sent by a client (`PUT .../segments/{key}`, `apply`): its key must equal the
/// path's. A context is in the segment when the referencing condition's attribute is one of
/// `included`; or else when it is not one of `excluded` and the segment has conditions and
/// all of them match. Unknown fields are rejected.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SegmentInput)]
pub struct SegmentInputDoc {
    /// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`
    #[schema(
        example = "beta-testers",
        pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
        max_length = 128
    )]
    pub key: String,
    /// At most 4096 bytes. Default empty.
    #[schema(required = false, max_length = 4096)]
    pub description: String,
    /// Values always in the segment: at most 10000 strings of at most 1024 bytes. Default empty.
    #[schema(required = false, max_items = 10000)]
    pub included: Vec<String>,
    /// Values never in it (unless also included): as `included`. Default empty.
    #[schema(required = false, max_items = 10000)]
    pub excluded: Vec<String>,
    /// At most 20 conditions; `in_segment` / `not_in_segment` are not allowed here. Default empty.
    #[schema(required = false, max_items = 20)]
    pub conditions: Vec<ConditionDoc>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    use utoipa::PartialSchema;

    use super::*;

    fn fields<T: PartialSchema>() -> BTreeSet<String> {
        fields_of(T::schema())
    }

    /// The property names of an object schema, or of every part of an `allOf` (a reference
    /// stands for the flag's spec, which `Flag` flattens).
    fn fields_of(schema: RefOr<Schema>) -> BTreeSet<String> {
        match schema {
            RefOr::T(Schema::Object(o)) => o.properties.keys().cloned().collect(),
            RefOr::T(Schema::AllOf(all)) => all.items.into_iter().flat_map(fields_of).collect(),
            RefOr::Ref(r) if r.ref_location.ends_with("/FlagSpec") => {
                fields::<flag_sdk::FlagSpec>()
            }
            _ => panic!("not an object schema"),
        }
    }

    /// The request schemas name exactly the model's fields: nothing here can drift from it.
    #[test]
    fn request_schemas_have_the_models_fields() {
        let flag = fields::<flag_sdk::Flag>();
        assert_eq!(fields::<FlagInputDoc>(), flag);
        let set_by_server = ["version", "updated_at", "updated_by"].map(String::from);
        let patch: BTreeSet<String> = flag
            .iter()
            .filter(|f| !set_by_server.contains(f))
            .cloned()
            .collect();
        assert_eq!(fields::<FlagPatchDoc>(), patch);
        assert_eq!(fields::<ConditionsRuleDoc>(), fields::<flag_sdk::Rule>());
        assert_eq!(fields::<ConditionDoc>(), fields::<flag_sdk::Condition>());
        assert_eq!(fields::<SegmentInputDoc>(), fields::<flag_sdk::Segment>());
        // What a client may send is what `FlagInput` reads (every field given, so that none
        // is left out of its JSON as a default).
        let input = serde_json::to_value(
            flag_sdk::FlagInput::from_value(serde_json::json!({
                "key": "a", "type": "string", "variants": [{"key": "v", "value": "x"}],
                "prerequisites": [{"flag": "b", "variants": ["on"]}],
                "percentage": 5, "default_serve": {"variant": "v"}, "off_variant": "v",
            }))
            .unwrap(),
        )
        .unwrap();
        let read: BTreeSet<String> = input.as_object().unwrap().keys().cloned().collect();
        assert_eq!(read, patch);
    }
}
