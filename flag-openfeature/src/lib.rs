//! # flag-openfeature
//!
//! An [OpenFeature](https://openfeature.dev) provider for the flag service, on top of the Rust
//! SDK's [`FlagClient`]: an application uses the standard OpenFeature API and keeps local
//! evaluation (a snapshot kept up to date over a stream; no network per call).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use flag_openfeature::FlagProvider;
//! use flag_sdk::{Flag, FlagClient};
//! use open_feature::{EvaluationContext, OpenFeature};
//!
//! // In production: FlagClient::builder(url, sdk_key).build().await?
//! let flags = FlagClient::offline([Flag::rollout("new_checkout", 100.0).unwrap()]);
//! let mut api = OpenFeature::singleton_mut().await;
//! api.set_provider(FlagProvider::new(flags)).await;
//! let client = api.create_client();
//! drop(api);
//!
//! let ctx = EvaluationContext::default().with_targeting_key("user-42");
//! let on = client.get_bool_value("new_checkout", Some(&ctx), None).await.unwrap_or(false);
//! assert!(on);
//! # }
//! ```
//!
//! What maps to what (reasons, errors, context, status) is in `docs/openfeature.md`, and on
//! [`reason_of`], [`to_context`] and [`provider_status`].
#![deny(missing_docs)]

mod context;
mod reason;
mod value;

use std::time::Duration;

use flag_sdk::{ClientStatus, Evaluation, FlagClient, FlagType, ReasonKind};
use open_feature::provider::{
    FeatureProvider, ProviderMetadata, ProviderStatus, ResolutionDetails,
};
use open_feature::{
    EvaluationContext, EvaluationError, EvaluationErrorCode, EvaluationResult, StructValue,
};

pub use context::to_context;
/// The `open-feature` crate this provider implements, so that an application can use the
/// same version without naming it in its own `Cargo.toml`.
pub use open_feature;
pub use reason::{metadata_of, provider_status, reason_of};

/// The provider's name in its [`ProviderMetadata`].
pub const PROVIDER_NAME: &str = "flag-sdk";

/// An OpenFeature [`FeatureProvider`] that evaluates with a [`FlagClient`], locally.
///
/// - bool: boolean flags (variant `on` / `off`); int and float: number flags (an int must be
///   a whole number that fits an `i64`); string: string flags; struct: json flags whose value
///   is an object. A flag of another type is `TYPE_MISMATCH`, an unknown key
///   `FLAG_NOT_FOUND`, and any call before the client has flags (status `Connecting`)
///   `PROVIDER_NOT_READY`. An empty targeting key is `TARGETING_KEY_MISSING` (a missing
///   one is fine), as on the server's OFREP endpoints.
/// - A flag that serves nothing (disabled, or a prerequisite failed, with no `off_variant`) is
///   an error with code `FLAG_DISABLED` or `PREREQUISITE_FAILED`, so that the caller's
///   default applies (`get_string_value(..).await.unwrap_or(default)`).
/// - The targeting key is the flag's stickiness attribute; see [`to_context`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use flag_openfeature::FlagProvider;
/// use flag_sdk::{Flag, FlagClient};
/// use open_feature::{provider::FeatureProvider, EvaluationContext};
///
/// let provider = FlagProvider::new(FlagClient::offline([Flag::on("dark_mode").unwrap()]));
/// let details = provider.resolve_bool_value("dark_mode", &EvaluationContext::default()).await.unwrap();
/// assert!(details.value);
/// assert_eq!(details.variant.as_deref(), Some("on"));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FlagProvider {
    client: FlagClient,
    metadata: ProviderMetadata,
    init_wait: Duration,
}

impl FlagProvider {
    /// A provider evaluating with `client` (connected with [`FlagClient::builder`], or
    /// [`FlagClient::offline`] in tests).
    ///
    /// ```
    /// let provider = flag_openfeature::FlagProvider::new(flag_sdk::FlagClient::offline([]));
    /// ```
    pub fn new(client: FlagClient) -> FlagProvider {
        FlagProvider {
            client,
            metadata: ProviderMetadata::new(PROVIDER_NAME),
            init_wait: Duration::ZERO,
        }
    }

    /// How long `initialize` (run by `OpenFeature::set_provider`) waits for the client's first
    /// flags when it has none yet; zero (the default) does not wait, since
    /// [`FlagClientBuilder::init_timeout`](flag_sdk::FlagClientBuilder::init_timeout) already
    /// waited. Until flags arrive, evaluations answer `PROVIDER_NOT_READY`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let provider = flag_openfeature::FlagProvider::new(flag_sdk::FlagClient::offline([]))
    ///     .with_init_wait(Duration::from_secs(2));
    /// ```
    pub fn with_init_wait(mut self, wait: Duration) -> FlagProvider {
        self.init_wait = wait;
        self
    }

    /// The client the provider evaluates with (for [`FlagClient::status_changes`], `close`…).
    ///
    /// ```
    /// let provider = flag_openfeature::FlagProvider::new(flag_sdk::FlagClient::offline([]));
    /// assert_eq!(provider.client().version(), 0);
    /// ```
    pub fn client(&self) -> &FlagClient {
        &self.client
    }

    /// Not ready while the client has no flags at all: connecting, or refused before any.
    fn ready(&self) -> EvaluationResult<()> {
        let not_ready = match self.client.status() {
            ClientStatus::Connecting => true,
            ClientStatus::Refused => {
                !self.client.is_initialized()
                    && self.client.version() == 0
                    && self.client.snapshot().is_empty()
            }
            _ => false,
        };
        if not_ready {
            return Err(error(
                EvaluationErrorCode::ProviderNotReady,
                format!(
                    "the flag client has no flags yet ({})",
                    self.client.status()
                ),
            ));
        }
        Ok(())
    }

    /// Evaluates `key` as a flag of type `expected`, and reads the value with `read`.
    fn resolve<T>(
        &self,
        key: &str,
        context: &EvaluationContext,
        expected: FlagType,
        read: impl FnOnce(&Evaluation) -> EvaluationResult<T>,
    ) -> EvaluationResult<ResolutionDetails<T>> {
        self.ready()?;
        if context.targeting_key.as_deref() == Some("") {
            return Err(error(
                EvaluationErrorCode::TargetingKeyMissing,
                "the targeting key is empty: give a value or leave it out".into(),
            ));
        }
        let snapshot = self.client.snapshot();
        let flag = snapshot.get(key).ok_or_else(|| not_found(key))?;
        if flag.flag_type() != expected {
            return Err(type_mismatch(key, flag.flag_type(), expected));
        }
        let ctx = to_context(context, &flag.flag().stickiness);
        let eval = self.client.evaluate(key, &ctx);
        match eval.reason.kind {
            ReasonKind::NotFound => return Err(not_found(key)),
            ReasonKind::Error => return Err(type_mismatch(key, flag.flag_type(), expected)),
            _ => {}
        }
        let value = read(&eval)?;
        let variant = match expected {
            FlagType::Boolean => Some(
                if eval.enabled {
                    flag_sdk::ON
                } else {
                    flag_sdk::OFF
                }
                .to_owned(),
            ),
            _ => eval.variant.as_deref().map(str::to_owned),
        };
        Ok(ResolutionDetails {
            value,
            variant,
            reason: Some(reason_of(flag.flag(), &eval)),
            flag_metadata: Some(metadata_of(&eval)),
        })
    }
}

fn error(code: EvaluationErrorCode, message: String) -> EvaluationError {
    EvaluationError::builder()
        .code(code)
        .message(message)
        .build()
}

fn not_found(key: &str) -> EvaluationError {
    error(EvaluationErrorCode::FlagNotFound, format!("no flag {key}"))
}

fn type_mismatch(key: &str, actual: FlagType, expected: FlagType) -> EvaluationError {
    error(
        EvaluationErrorCode::TypeMismatch,
        format!(
            "flag {key} is a {} flag, not a {} flag",
            actual.as_str(),
            expected.as_str()
        ),
    )
}

/// The value served, or an error when the flag serves nothing (the caller's default applies).
fn served<'e>(key: &str, eval: &'e Evaluation) -> EvaluationResult<&'e serde_json::Value> {
    match (&eval.value, eval.reason.kind) {
        (Some(v), _) => Ok(v),
        (None, ReasonKind::PrerequisiteFailed) => Err(error(
            EvaluationErrorCode::General("PREREQUISITE_FAILED".into()),
            format!("flag {key}: a prerequisite failed and the flag has no off variant"),
        )),
        (None, _) => Err(error(
            EvaluationErrorCode::General("FLAG_DISABLED".into()),
            format!("flag {key} is disabled and has no off variant"),
        )),
    }
}

fn as_f64(key: &str, value: &serde_json::Value) -> EvaluationResult<f64> {
    value.as_f64().ok_or_else(|| {
        error(
            EvaluationErrorCode::TypeMismatch,
            format!("flag {key} serves {value}, not a number"),
        )
    })
}

#[open_feature::async_trait]
impl FeatureProvider for FlagProvider {
    /// Waits up to [`with_init_wait`](FlagProvider::with_init_wait) for the client's first flags.
    async fn initialize(&mut self, _context: &EvaluationContext) {
        if self.init_wait.is_zero() || self.client.status() != ClientStatus::Connecting {
            return;
        }
        let mut changes = self.client.status_changes();
        let _ = tokio::time::timeout(
            self.init_wait,
            changes.wait_for(|s| *s != ClientStatus::Connecting),
        )
        .await;
    }

    fn status(&self) -> ProviderStatus {
        provider_status(self.client.status())
    }

    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        self.resolve(flag_key, evaluation_context, FlagType::Boolean, |e| {
            Ok(e.enabled)
        })
    }

    async fn resolve_int_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        self.resolve(flag_key, evaluation_context, FlagType::Number, |e| {
            value::integer(flag_key, served(flag_key, e)?)
        })
    }

    async fn resolve_float_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        self.resolve(flag_key, evaluation_context, FlagType::Number, |e| {
            as_f64(flag_key, served(flag_key, e)?)
        })
    }

    async fn resolve_string_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        self.resolve(flag_key, evaluation_context, FlagType::String, |e| {
            let v = served(flag_key, e)?;
            v.as_str().map(str::to_owned).ok_or_else(|| {
                error(
                    EvaluationErrorCode::TypeMismatch,
                    format!("flag {flag_key} serves {v}, not a string"),
                )
            })
        })
    }

    async fn resolve_struct_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        self.resolve(flag_key, evaluation_context, FlagType::Json, |e| {
            value::structure(flag_key, served(flag_key, e)?)
        })
    }
}
