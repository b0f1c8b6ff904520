//! Our reasons and client states in OpenFeature's terms.

use flag_sdk::{ClientStatus, Evaluation, Flag, OpenFeatureReason};
use open_feature::provider::ProviderStatus;
use open_feature::{EvaluationReason, FlagMetadata};

/// The OpenFeature reason of an evaluation of `flag`, as the server's OFREP endpoints answer it:
///
/// | our reason | OpenFeature |
/// |---|---|
/// | `off` | `DISABLED` |
/// | `split`, or `rule` / `default` with a bucket (a percentage strictly between 0 and 100) | `SPLIT` |
/// | `rule` without a bucket | `TARGETING_MATCH` |
/// | `prerequisite_failed` | `TARGETING_MATCH` (the off variant, chosen by evaluating other flags for this context) |
/// | `default` without a bucket, for a flag with no rules and no prerequisites whose default cannot depend on the context (0 %, 100 %, one variant) | `STATIC` |
/// | `default` without a bucket otherwise | `DEFAULT` |
/// | `not_found`, `error` | `ERROR` (the provider answers an error code instead) |
///
/// ```
/// use flag_sdk::{Context, Flag, FlagClient};
/// use open_feature::EvaluationReason;
/// let flag = Flag::rollout("new_checkout", 25.0).unwrap();
/// let flags = FlagClient::offline([flag.clone()]);
/// let eval = flags.evaluate("new_checkout", &Context::new().user_id("42"));
/// assert_eq!(flag_openfeature::reason_of(&flag, &eval), EvaluationReason::Split);
/// let on = Flag::on("dark_mode").unwrap();
/// let eval = FlagClient::offline([on.clone()]).evaluate("dark_mode", &Context::new());
/// assert_eq!(flag_openfeature::reason_of(&on, &eval), EvaluationReason::Static);
/// ```
pub fn reason_of(flag: &Flag, eval: &Evaluation) -> EvaluationReason {
    match OpenFeatureReason::of(flag, eval) {
        OpenFeatureReason::Disabled => EvaluationReason::Disabled,
        OpenFeatureReason::Split => EvaluationReason::Split,
        OpenFeatureReason::TargetingMatch => EvaluationReason::TargetingMatch,
        OpenFeatureReason::Static => EvaluationReason::Static,
        OpenFeatureReason::Default => EvaluationReason::Default,
        OpenFeatureReason::Error => EvaluationReason::Error,
    }
}

/// Our reason as flag metadata: `kind` (`rule`, `split`, …), and `rule` and `bucket` when
/// they are set, like the `metadata` of the server's OFREP answers.
///
/// ```
/// use flag_sdk::{Context, Flag, FlagClient};
/// use open_feature::FlagMetadataValue;
/// let flags = FlagClient::offline([Flag::rollout("new_checkout", 25.0).unwrap()]);
/// let meta = flag_openfeature::metadata_of(&flags.evaluate("new_checkout", &Context::new().user_id("42")));
/// assert_eq!(meta.values["kind"], FlagMetadataValue::String("default".into()));
/// assert!(matches!(meta.values["bucket"], FlagMetadataValue::Int(_)));
/// ```
pub fn metadata_of(eval: &Evaluation) -> FlagMetadata {
    let mut meta = FlagMetadata::default().with_value("kind", eval.reason.kind.as_str());
    if let Some(rule) = &eval.reason.rule {
        meta.add_value("rule", &**rule);
    }
    if let Some(bucket) = eval.reason.bucket {
        meta.add_value("bucket", i64::from(bucket));
    }
    meta
}

/// The provider status of a client status: `Connecting` is `NotReady`, `Live` is `Ready`,
/// `Stale` is `STALE` (evaluating on earlier flags while reconnecting), `Refused` is `Error`
/// (the server refuses the SDK key; the client keeps its last flags and keeps asking).
///
/// ```
/// use flag_sdk::ClientStatus;
/// use open_feature::provider::ProviderStatus;
/// assert_eq!(flag_openfeature::provider_status(ClientStatus::Live), ProviderStatus::Ready);
/// assert_eq!(flag_openfeature::provider_status(ClientStatus::Connecting), ProviderStatus::NotReady);
/// ```
pub fn provider_status(status: ClientStatus) -> ProviderStatus {
    match status {
        ClientStatus::Connecting => ProviderStatus::NotReady,
        ClientStatus::Live => ProviderStatus::Ready,
        ClientStatus::Stale => ProviderStatus::STALE,
        _ => ProviderStatus::Error,
    }
}
