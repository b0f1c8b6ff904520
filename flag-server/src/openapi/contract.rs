//! Document-wide modifiers: the bearer scheme, and the answers and path grammar every
//! operation shares.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
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
/// - every `/api/v1` route needs the bearer token (an admin token or an SDK key);
/// - path parameters `env` and `key` carry the exact grammar of [`flag_sdk::EnvName`] and
///   [`flag_sdk::FlagKey`] (a name outside it is a 400);
/// - 400 wherever the request has parameters or a body, 401 and 403 wherever a token is
///   needed, 404 wherever an environment is named, 413 and 415 wherever a body is read, 503
///   on every `/api/v1` route (the store may be unreachable);
/// - every 4xx and 5xx answer is `application/problem+json` with a [`flag_sdk::wire::Problem`]:
///   a handler states only the status and description of its own error answers, e.g.
///   `(status = 409, description = "The key exists")`, and this gives them their content.
pub(super) struct Contract;

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

fn problem_content() -> utoipa::openapi::Content {
    use utoipa::openapi::{ContentBuilder, Ref};
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build()
}

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::ResponseBuilder;
    ResponseBuilder::new()
        .description(description)
        .content(api::problem::PROBLEM_JSON, problem_content())
        .into()
}

/// What a 404 of a path means: the resources its parameters name.
fn not_found(path: &str) -> &'static str {
    if path.contains("/segments/{key}") {
        "No such environment or segment"
    } else if path.contains("{key}") {
        "No such environment or flag"
    } else if path.contains("{id}") {
        "No such environment or SDK key"
    } else {
        "No such environment"
    }
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
                if let Some(params) = op.parameters.as_mut() {
                    // With `web::Path<(EnvName, FlagKey)>`, utoipa's actix support adds the
                    // path parameters again, undescribed, after those of `params(FlagPath)`:
                    // keep the first of each name and place.
                    let mut seen = Vec::new();
                    params.retain(|p| {
                        let id = (p.name.clone(), p.parameter_in.clone());
                        let first = !seen.contains(&id);
                        seen.push(id);
                        first
                    });
                }
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
                // Every `/api/v1` route takes a bearer token (an admin token or an SDK key).
                let needs_token = path.starts_with("/api/v1/");
                if needs_token {
                    op.security = Some(vec![SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                }
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
                    add("404", not_found(path));
                }
                if has_body {
                    add("413", "The body is larger than the server's limit");
                    add("415", "The body is not JSON");
                }
                if path.starts_with("/api/v1/") {
                    add("503", "Store unavailable; nothing was changed");
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    if let utoipa::openapi::RefOr::T(response) = response {
                        if is_error && response.content.is_empty() {
                            response
                                .content
                                .insert(api::problem::PROBLEM_JSON.to_owned(), problem_content());
                        }
                    }
                }
            }
        }
    }
}
