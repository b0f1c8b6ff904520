//! Our reasons and client states in OpenFeature's terms.

use flag_sdk::{ClientStatus, Evaluation, Flag, FlagType, ReasonKind, Serve};
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
    match (eval.reason.kind, eval.reason.bucket) {
        (ReasonKind::Off, _) => EvaluationReason::Disabled,
        (ReasonKind::Split, _) => EvaluationReason::Split,
        (ReasonKind::Rule | ReasonKind::Default, Some(_)) => EvaluationReason::Split,
        (ReasonKind::Rule, None) => EvaluationReason::TargetingMatch,
        (ReasonKind::PrerequisiteFailed, _) => EvaluationReason::TargetingMatch,
        (ReasonKind::Default, None) if is_static(flag) => EvaluationReason::Static,
        (ReasonKind::Default, None) => EvaluationReason::Default,
        (ReasonKind::NotFound | ReasonKind::Error, _) => EvaluationReason::Error,
    }
}

/// Whether an enabled flag's answer cannot depend on the context: no rules, no prerequisites,
/// and a default that does not hash.
fn is_static(flag: &Flag) -> bool {
    if !flag.rules.is_empty() || !flag.prerequisites.is_empty() {
        return false;
    }
    match &flag.default_serve {
        Some(Serve::Variant(_)) => true,
        Some(Serve::Split(parts)) => parts.iter().filter(|p| p.weight > 0).count() <= 1,
        None => {
            let bp = flag.percentage.basis_points();
            flag.flag_type != FlagType::Boolean || bp == 0 || bp >= 10_000
        }
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
    let mut meta = FlagMetadata::default().with_value("kind", kind_name(eval.reason.kind));
    if let Some(rule) = &eval.reason.rule {
        meta.add_value("rule", &**rule);
    }
    if let Some(bucket) = eval.reason.bucket {
        meta.add_value("bucket", i64::from(bucket));
    }
    meta
}

/// The JSON name of a reason kind (`prerequisite_failed`, …).
pub(crate) fn kind_name(kind: ReasonKind) -> &'static str {
    match kind {
        ReasonKind::Off => "off",
        ReasonKind::Rule => "rule",
        ReasonKind::Default => "default",
        ReasonKind::NotFound => "not_found",
        ReasonKind::Split => "split",
        ReasonKind::PrerequisiteFailed => "prerequisite_failed",
        ReasonKind::Error => "error",
    }
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
