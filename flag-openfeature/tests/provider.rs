//! The provider through the standard OpenFeature API, over an offline `FlagClient`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{flags, openfeature_client};
use flag_openfeature::FlagProvider;
use flag_sdk::{Context, FlagClient};
use open_feature::provider::{FeatureProvider, ProviderStatus};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationErrorCode, EvaluationReason,
    FlagMetadataValue, StructValue, Value,
};

fn user(id: &str) -> EvaluationContext {
    EvaluationContext::default().with_targeting_key(id)
}

fn meta_str(meta: &open_feature::FlagMetadata, key: &str) -> Option<String> {
    match meta.values.get(key) {
        Some(FlagMetadataValue::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn meta_bucket(meta: &open_feature::FlagMetadata) -> Option<u16> {
    match meta.values.get("bucket") {
        Some(FlagMetadataValue::Int(b)) => Some(*b as u16),
        _ => None,
    }
}

#[tokio::test]
async fn boolean_flags_answer_value_variant_and_reason() {
    let client = openfeature_client(FlagClient::offline(flags())).await;

    let on = client
        .get_bool_details("dark_mode", None, None)
        .await
        .unwrap();
    assert!(on.value);
    assert_eq!(on.variant.as_deref(), Some("on"));
    assert_eq!(on.reason, Some(EvaluationReason::Static));
    assert_eq!(
        meta_str(&on.flag_metadata, "kind").as_deref(),
        Some("default")
    );

    let killed = client
        .get_bool_details("killed", Some(&user("42")), None)
        .await
        .unwrap();
    assert!(!killed.value);
    assert_eq!(killed.variant.as_deref(), Some("off"));
    assert_eq!(killed.reason, Some(EvaluationReason::Disabled));
    assert_eq!(
        meta_str(&killed.flag_metadata, "kind").as_deref(),
        Some("off")
    );

    assert!(client
        .get_bool_value("dark_mode", None, None)
        .await
        .unwrap());
}

#[tokio::test]
async fn targeting_rules_see_every_kind_of_context_field() {
    let client = openfeature_client(FlagClient::offline(flags())).await;
    let check = |ctx: EvaluationContext, rule: &'static str| {
        let client = &client;
        async move {
            let d = client
                .get_bool_details("new_checkout", Some(&ctx), None)
                .await
                .unwrap();
            assert!(d.value, "rule {rule}");
            assert_eq!(
                d.reason,
                Some(EvaluationReason::TargetingMatch),
                "rule {rule}"
            );
            assert_eq!(meta_str(&d.flag_metadata, "kind").as_deref(), Some("rule"));
            assert_eq!(meta_str(&d.flag_metadata, "rule").as_deref(), Some(rule));
        }
    };
    check(
        user("1").with_custom_field("email", "ann@example.com"),
        "staff",
    )
    .await;
    check(user("2").with_custom_field("age", 30), "adults").await;
    check(user("3").with_custom_field("age", 18.5), "adults").await;
    let signed_up = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    check(user("4").with_custom_field("signed_up", signed_up), "early").await;
    let groups =
        EvaluationContextFieldValue::new_struct(vec!["alpha".to_owned(), "beta".to_owned()]);
    check(user("5").with_custom_field("groups", groups), "beta").await;

    // No rule matches: the default (0 %), DEFAULT since the flag has rules.
    let d = client
        .get_bool_details(
            "new_checkout",
            Some(
                &user("6")
                    .with_custom_field("age", 12)
                    .with_custom_field("email", "x@elsewhere.org"),
            ),
            None,
        )
        .await
        .unwrap();
    assert!(!d.value);
    assert_eq!(d.variant.as_deref(), Some("off"));
    assert_eq!(d.reason, Some(EvaluationReason::Default));

    // A structure of another kind is left out, like a missing attribute.
    let other = EvaluationContextFieldValue::new_struct(42u8);
    let d = client
        .get_bool_details(
            "new_checkout",
            Some(&user("7").with_custom_field("groups", other)),
            None,
        )
        .await
        .unwrap();
    assert!(!d.value);
}

#[tokio::test]
async fn a_split_answers_the_same_variant_and_bucket_as_the_sdk() {
    let flags = FlagClient::offline(flags());
    let client = openfeature_client(flags.clone()).await;
    let mut seen = std::collections::HashSet::new();
    for i in 0..200 {
        let id = format!("user-{i}");
        let d = client
            .get_string_details("checkout_button", Some(&user(&id)), None)
            .await
            .unwrap();
        let sdk = flags.evaluate("checkout_button", &Context::new().user_id(id.as_str()));
        assert_eq!(d.variant.as_deref(), sdk.variant.as_deref(), "{id}");
        assert_eq!(
            Some(d.value.as_str()),
            sdk.value.as_ref().and_then(|v| v.as_str())
        );
        assert_eq!(d.reason, Some(EvaluationReason::Split));
        assert_eq!(meta_str(&d.flag_metadata, "kind").as_deref(), Some("split"));
        assert_eq!(meta_bucket(&d.flag_metadata), sdk.reason.bucket);
        assert!(sdk.reason.bucket.is_some());
        seen.insert(d.variant.unwrap());

        // A boolean percentage is a split too.
        let c = client
            .get_bool_details("canary", Some(&user(&id)), None)
            .await
            .unwrap();
        let sdk = flags.evaluate("canary", &Context::new().user_id(id.as_str()));
        assert_eq!(c.value, sdk.enabled);
        assert_eq!(c.reason, Some(EvaluationReason::Split));
        assert_eq!(meta_bucket(&c.flag_metadata), sdk.reason.bucket);
    }
    assert_eq!(seen.len(), 2, "both arms are served");

    // Without a targeting key nothing hashes: the split's first variant; a rollout is off.
    let d = client
        .get_string_details("checkout_button", None, None)
        .await
        .unwrap();
    assert_eq!(d.variant.as_deref(), Some("blue"));
    assert_eq!(d.reason, Some(EvaluationReason::Default));
    assert_eq!(meta_bucket(&d.flag_metadata), None);
    let c = client.get_bool_details("canary", None, None).await.unwrap();
    assert!(!c.value);
    assert_eq!(c.reason, Some(EvaluationReason::Default));

    // A matched rule that serves one variant.
    let staff = user("u1").with_custom_field("email", "ann@example.com");
    let d = client
        .get_string_details("checkout_button", Some(&staff), None)
        .await
        .unwrap();
    assert_eq!(
        (d.value.as_str(), d.variant.as_deref()),
        ("#00a050", Some("green"))
    );
    assert_eq!(d.reason, Some(EvaluationReason::TargetingMatch));
}

#[tokio::test]
async fn the_targeting_key_is_the_flags_stickiness_attribute() {
    let flags = FlagClient::offline(flags());
    let client = openfeature_client(flags.clone()).await;
    for i in 0..50 {
        let id = format!("acct-{i}");
        let d = client
            .get_string_details("by_account", Some(&user(&id)), None)
            .await
            .unwrap();
        let sdk = flags.evaluate("by_account", &Context::new().set("account_id", id.as_str()));
        assert_eq!(d.variant.as_deref(), sdk.variant.as_deref());
        assert_eq!(meta_bucket(&d.flag_metadata), sdk.reason.bucket);
        assert!(sdk.reason.bucket.is_some());
    }
}

#[tokio::test]
async fn numbers_as_int_and_float() {
    let client = openfeature_client(FlagClient::offline(flags())).await;
    let d = client
        .get_int_details("max_items", Some(&user("1")), None)
        .await
        .unwrap();
    assert_eq!((d.value, d.variant.as_deref()), (10, Some("ten")));
    assert_eq!(d.reason, Some(EvaluationReason::Default));
    let d = client
        .get_float_details("max_items", Some(&user("1")), None)
        .await
        .unwrap();
    assert_eq!(d.value, 10.0);

    let de = user("1").with_custom_field("country", "DE");
    let d = client
        .get_float_details("max_items", Some(&de), None)
        .await
        .unwrap();
    assert_eq!((d.value, d.variant.as_deref()), (2.5, Some("half")));
    assert_eq!(d.reason, Some(EvaluationReason::TargetingMatch));
    let err = client
        .get_int_details("max_items", Some(&de), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.code,
        EvaluationErrorCode::TypeMismatch,
        "2.5 is not an integer"
    );
}

#[tokio::test]
async fn json_objects_as_structures() {
    let client = openfeature_client(FlagClient::offline(flags())).await;
    let d = client
        .get_struct_details::<StructValue>("limits", Some(&user("1")), None)
        .await
        .unwrap();
    assert_eq!(d.variant.as_deref(), Some("v1"));
    assert_eq!(d.value.fields["rps"], Value::Int(100));
    assert_eq!(
        d.value.fields["burst"],
        Value::Array(vec![Value::Int(1), Value::Float(2.5)])
    );
    assert_eq!(d.value.fields["name"], Value::String("std".into()));
    assert_eq!(d.value.fields["strict"], Value::Bool(true));

    let beta = user("1").with_custom_field("plan", "beta");
    let err = client
        .get_struct_details::<StructValue>("limits", Some(&beta), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.code,
        EvaluationErrorCode::TypeMismatch,
        "an array is not a structure"
    );
}

#[tokio::test]
async fn disabled_flags_and_prerequisites() {
    let client = openfeature_client(FlagClient::offline(flags())).await;
    let d = client
        .get_string_details("banner", Some(&user("1")), None)
        .await
        .unwrap();
    assert_eq!((d.value.as_str(), d.variant.as_deref()), ("", Some("none")));
    assert_eq!(d.reason, Some(EvaluationReason::Disabled));

    let err = client
        .get_string_details("no_off", Some(&user("1")), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.code,
        EvaluationErrorCode::General("FLAG_DISABLED".into())
    );
    assert_eq!(
        client
            .get_string_value("no_off", None, None)
            .await
            .unwrap_or_else(|_| "default".into()),
        "default"
    );

    let d = client
        .get_string_details("gated", Some(&user("1")), None)
        .await
        .unwrap();
    assert_eq!(
        (d.value.as_str(), d.variant.as_deref()),
        ("closed", Some("closed"))
    );
    assert_eq!(d.reason, Some(EvaluationReason::TargetingMatch));
    assert_eq!(
        meta_str(&d.flag_metadata, "kind").as_deref(),
        Some("prerequisite_failed")
    );

    let staff = user("1").with_custom_field("email", "ann@example.com");
    let d = client
        .get_string_details("gated", Some(&staff), None)
        .await
        .unwrap();
    assert_eq!(d.value, "open");
    assert_eq!(
        d.reason,
        Some(EvaluationReason::Default),
        "prerequisites make it depend on the context"
    );
}

#[tokio::test]
async fn error_codes() {
    let client = openfeature_client(FlagClient::offline(flags())).await;
    let err = client
        .get_bool_details("nope", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::FlagNotFound);
    let err = client
        .get_string_details("max_items", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::TypeMismatch);
    let err = client
        .get_bool_details("checkout_button", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::TypeMismatch);
    let err = client
        .get_float_details("dark_mode", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::TypeMismatch);
    let err = client
        .get_struct_details::<StructValue>("checkout_button", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::TypeMismatch);
    let err = client
        .get_bool_details("dark_mode", Some(&user("")), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.code,
        EvaluationErrorCode::TargetingKeyMissing,
        "an empty key, not a missing one"
    );
}

/// A client of a server that is not there: no flags, status `Connecting`.
async fn unreachable_client() -> FlagClient {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    FlagClient::builder(format!("http://127.0.0.1:{port}"), "sdk-key")
        .init_timeout(Duration::from_millis(100))
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn provider_not_ready_before_the_first_flags() {
    let flags = unreachable_client().await;
    assert!(!flags.is_initialized());
    let provider = FlagProvider::new(flags.clone());
    assert_eq!(provider.status(), ProviderStatus::NotReady);
    assert_eq!(provider.metadata().name, flag_openfeature::PROVIDER_NAME);

    let client = openfeature_client(flags.clone()).await;
    let err = client
        .get_bool_details("dark_mode", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::ProviderNotReady);
    let err = client
        .get_string_details("checkout_button", Some(&user("1")), None)
        .await
        .unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::ProviderNotReady);
    flags.close().await;
}

#[tokio::test]
async fn initialize_waits_at_most_the_init_wait() {
    let flags = unreachable_client().await;
    let mut provider = FlagProvider::new(flags.clone()).with_init_wait(Duration::from_millis(200));
    let started = std::time::Instant::now();
    provider.initialize(&EvaluationContext::default()).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(provider.status(), ProviderStatus::NotReady);
    flags.close().await;
}

#[tokio::test]
async fn an_offline_client_is_ready_and_the_provider_is_shareable() {
    let provider = Arc::new(FlagProvider::new(FlagClient::offline(flags())));
    assert_eq!(provider.status(), ProviderStatus::Ready);
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let p = provider.clone();
            tokio::spawn(async move {
                p.resolve_bool_value("dark_mode", &user(&i.to_string()))
                    .await
                    .unwrap()
                    .value
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
}
