//! The OpenAPI document, generated from the handlers' annotations with `utoipa`, served at
//! `GET /openapi.json` and committed as `openapi/openapi.json`.
//!
//! Regenerate the committed file after an API change:
//!
//! ```text
//! cargo run -p flag-server -- --print-openapi > openapi/openapi.json
//! ```
//!
//! (or `UPDATE_OPENAPI=1 cargo test -p flag-tests --test api openapi`). A test fails when the
//! committed file differs from what the server generates.
//!
//! This module describes routes only. The schemas are those of the types the server
//! answers and reads: the messages of [`flag_sdk::wire`] and the model and evaluation types
//! they hold, which derive `utoipa::ToSchema` behind flag-sdk's `openapi` feature. Only the
//! request bodies of a flag (`FlagInput`, `FlagPatch`, `ApplyDocument`) are described here,
//! with the bounds validation enforces (see `request_schemas`).

mod contract;
pub mod params;
mod request_schemas;

use std::sync::OnceLock;

use utoipa::OpenApi;

pub use contract::{CHANGE_REASON_PATTERN, IF_MATCH_PATTERN};
pub use request_schemas::*;

use crate::api;
use crate::api::ofrep::OfrepDoc;
use contract::{BearerAuth, Contract};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "flag-server",
        description = "Feature flags: admin REST API, SDK API and SSE stream. Errors are application/problem+json.",
        license(name = "Apache-2.0")
    ),
    paths(
        api::environments::list, api::environments::create, api::environments::delete,
        api::flags::list, api::flags::create, api::flags::get, api::flags::replace, api::flags::patch, api::flags::delete,
        api::promote::promote,
        api::segments::list, api::segments::get, api::segments::replace, api::segments::delete,
        api::apply::apply, api::audit::list,
        api::releases::schedule, api::releases::flag_schedules, api::releases::schedules, api::releases::cancel,
        api::releases::start, api::releases::get, api::releases::list,
        api::releases::pause, api::releases::resume, api::releases::abort,
        api::sdk_keys::create, api::sdk_keys::list, api::sdk_keys::revoke,
        api::stream::environment_stream, api::stream::sdk_stream,
        api::sdk::flags, api::sdk::evaluate, api::sdk::metrics,
        api::ops::healthz, api::ops::readyz, api::ops::metrics, api::ops::openapi,
        api::ofrep::evaluate_one, api::ofrep::evaluate_all, api::ofrep::events::events,
        api::clients::list,
    ),
    components(schemas(flag_sdk::wire::Problem, flag_sdk::FieldError, flag_sdk::Flag, flag_sdk::wire::FlagUsage)),
    modifiers(&BearerAuth, &Contract, &OfrepDoc),
    tags(
        (name = "environments", description = "Environments"),
        (name = "flags", description = "Flags of an environment"),
        (name = "segments", description = "Segments of an environment, named by `in_segment` / `not_in_segment` conditions"),
        (name = "audit", description = "Change history"),
        (name = "releases", description = "Scheduled changes and release plans the server drives"),
        (name = "sdk-keys", description = "SDK keys"),
        (name = "stream", description = "Server-Sent Events"),
        (name = "sdk", description = "For SDKs: the key names the environment"),
        (name = "ops", description = "No token needed"),
        (name = "ofrep", description = "OpenFeature Remote Evaluation Protocol: an SDK key as bearer or X-API-Key"),
        (name = "clients", description = "Who runs what: the SDK instances seen, by the headers they send"),
    )
)]
pub struct ApiDoc;

/// The document as pretty-printed JSON with a final newline (generated once).
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        let mut text = doc.to_pretty_json().unwrap_or_else(|_| "{}".into());
        text.push('\n');
        text
    })
}
