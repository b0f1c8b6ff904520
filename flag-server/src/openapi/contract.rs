//! Document-wide modifiers: the bearer scheme, and the answers and path grammar every
//! operation shares.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, PartialSchema};

use crate::api;

pub(super) struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An admin token (admin routes) or an SDK key (/api/v1/sdk/*)",
                    ))
                    .build(),
            ),
        );
    }
}

/// What every operation may answer besides its own successes, and the grammar of the path
/// names, applied to the whole document so that no operation can forget them:
///
/// - path parameters `env` and `key` carry the exact grammar of [`flag_sdk::EnvName`] and
///   [`flag_sdk::FlagKey`] (a name outside it is a 400);
/// - 400 wherever the request has parameters or a body, 401 and 403 wherever a token is
///   needed, 404 wherever an environment is named, 413 and 415 wherever a body is read, 503
///   on every `/api/v1` route (the store may be unreachable).
pub(super) struct Contract;

/// `^[a-z0-9][a-z0-9_-]{0,63}$`, as [`flag_sdk::EnvName::parse`] checks it (and as the
/// schema of [`flag_sdk::EnvName`] declares it; a test checks they agree).
pub const ENV_NAME_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,63}$";
/// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`, as [`flag_sdk::FlagKey::parse`] checks it.
pub const FLAG_KEY_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$";

/// `If-Match`: `*`, or one version, quoted (its ETag) or not, optionally weak.
pub const IF_MATCH_PATTERN: &str = "^(\\*|(W/)?\"[0-9]{1,19}\"|[0-9]{1,19})$";
/// `X-Change-Reason`: visible ASCII and spaces, at most 1024 bytes.
pub const CHANGE_REASON_PATTERN: &str = "^[\\t\\x20-\\x7E]{0,1024}$";

fn pattern_schema(
    pattern: &str,
    example: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .examples([serde_json::Value::from(example)])
        .into()
}

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            api::problem::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .into()
}

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let creates_env = path == "/api/v1/environments/{env}";
            let ops = [
                (&mut item.get, false),
                (&mut item.put, creates_env),
                (&mut item.post, false),
                (&mut item.patch, false),
                (&mut item.delete, false),
            ];
            for (op, creates) in ops {
                let Some(op) = op else { continue };
                for param in op.parameters.iter_mut().flatten() {
                    if matches!(param.parameter_in, ParameterIn::Header) && param.name == "If-Match"
                    {
                        param.schema = Some(pattern_schema(IF_MATCH_PATTERN, "\"7\""));
                    }
                    if matches!(param.parameter_in, ParameterIn::Header)
                        && param.name == "X-Change-Reason"
                    {
                        param.schema =
                            Some(pattern_schema(CHANGE_REASON_PATTERN, "raise the canary"));
                    }
                    if !matches!(param.parameter_in, ParameterIn::Path) {
                        continue;
                    }
                    match param.name.as_str() {
                        "env" => param.schema = Some(flag_sdk::EnvName::schema()),
                        "key" => param.schema = Some(flag_sdk::FlagKey::schema()),
                        _ => {}
                    }
                }
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = op.request_body.is_some();
                let needs_token = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem_response(description));
                };
                if has_params || has_body {
                    add(
                        "400",
                        "Bad input: a parameter, header or body that is not valid",
                    );
                }
                if needs_token {
                    add("401", "No token, or an unknown or revoked one");
                    add(
                        "403",
                        "The wrong kind of token (an SDK key on an admin route, or the reverse)",
                    );
                }
                if path.contains("{env}") && !creates {
                    add("404", "No such environment");
                }
                if has_body {
                    add("413", "The body is larger than the server's limit");
                    add("415", "The body is not JSON");
                }
                if path.starts_with("/api/v1/") {
                    add("503", "Store unavailable; nothing was changed");
                }
            }
        }
    }
}

/// The schema of [`flag_sdk::wire::StoredFlag`]: a [`flag_sdk::Flag`] with `usage`. (The
/// wire type flattens the flag, which `utoipa` cannot describe but as an object; this states
/// the same JSON as the flag's schema and the usage's.)
pub(super) struct StoredFlagSchema;

impl Modify for StoredFlagSchema {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
        use utoipa::openapi::Ref;
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut usage_ref = Ref::from_schema_name("FlagUsage");
        usage_ref.description =
            "Evaluation counts from SDKs (`POST /sdk/metrics`); present in admin reads".into();
        let usage = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("usage", usage_ref);
        components.schemas.insert(
            "StoredFlag".to_owned(),
            AllOfBuilder::new()
                .description(Some(
                    "A flag as the server answers it: the flag's fields, plus `usage` in admin reads",
                ))
                .item(Ref::from_schema_name("Flag"))
                .item(usage)
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    use utoipa::PartialSchema;

    fn pattern<T: PartialSchema>() -> Option<String> {
        match T::schema() {
            RefOr::T(Schema::Object(o)) => o.pattern,
            _ => None,
        }
    }

    #[test]
    fn the_path_patterns_are_the_models() {
        assert_eq!(
            pattern::<flag_sdk::EnvName>().as_deref(),
            Some(super::ENV_NAME_PATTERN)
        );
        assert_eq!(
            pattern::<flag_sdk::FlagKey>().as_deref(),
            Some(super::FLAG_KEY_PATTERN)
        );
    }
}
