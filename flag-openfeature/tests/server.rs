//! The provider over a `FlagClient` following a real server (embedded store, port 0).

mod common;

use std::time::Duration;

use common::{flag_docs, openfeature_client};
use flag_openfeature::FlagProvider;
use flag_sdk::{Context, FlagClient};
use flag_tests::app::{StoreChoice, TestApp};
use open_feature::provider::{FeatureProvider, ProviderStatus};
use open_feature::{
    EvaluationContext, EvaluationErrorCode, EvaluationReason, FlagMetadataValue, StructValue, Value,
};
use serde_json::json;

#[tokio::test]
async fn evaluates_a_live_servers_flags_and_follows_changes() {
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    for doc in flag_docs() {
        app.create_flag("production", &doc).await;
    }
    let key = app.sdk_key("production").await;
    let flags = FlagClient::builder(app.address.as_str(), key)
        .init_timeout(Duration::from_secs(5))
        .build()
        .await
        .unwrap();
    assert!(flags.is_initialized());
    let provider = FlagProvider::new(flags.clone());
    assert_eq!(provider.status(), ProviderStatus::Ready);
    let client = openfeature_client(flags.clone()).await;

    // Each type.
    assert!(client
        .get_bool_value("dark_mode", None, None)
        .await
        .unwrap());
    let ctx = EvaluationContext::default()
        .with_targeting_key("u1")
        .with_custom_field("country", "DE");
    assert_eq!(
        client
            .get_float_value("max_items", Some(&ctx), None)
            .await
            .unwrap(),
        2.5
    );
    assert_eq!(
        client.get_int_value("max_items", None, None).await.unwrap(),
        10
    );
    let limits = client
        .get_struct_value::<StructValue>("limits", None, None)
        .await
        .unwrap();
    assert_eq!(limits.fields["rps"], Value::Int(100));

    // A rule, a split (same variant and bucket as the SDK), errors.
    let staff = EvaluationContext::default()
        .with_targeting_key("u1")
        .with_custom_field("email", "ann@example.com");
    let d = client
        .get_bool_details("new_checkout", Some(&staff), None)
        .await
        .unwrap();
    assert_eq!(
        (d.value, d.reason),
        (true, Some(EvaluationReason::TargetingMatch))
    );
    for i in 0..50 {
        let id = format!("user-{i}");
        let ctx = EvaluationContext::default().with_targeting_key(id.as_str());
        let d = client
            .get_string_details("checkout_button", Some(&ctx), None)
            .await
            .unwrap();
        let sdk = flags.evaluate("checkout_button", &Context::new().user_id(id.as_str()));
        assert_eq!(d.variant.as_deref(), sdk.variant.as_deref());
        assert_eq!(d.reason, Some(EvaluationReason::Split));
        assert_eq!(
            d.flag_metadata.values.get("bucket"),
            sdk.reason
                .bucket
                .map(|b| FlagMetadataValue::Int(b.into()))
                .as_ref()
        );
    }
    let err = client.get_bool_value("nope", None, None).await.unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::FlagNotFound);
    let err = client
        .get_string_value("max_items", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::TypeMismatch);

    // A change on the server reaches the provider through the stream.
    let res = app
        .admin_patch(
            "/environments/production/flags/dark_mode",
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d = client
            .get_bool_details("dark_mode", None, None)
            .await
            .unwrap();
        if d.reason == Some(EvaluationReason::Disabled) {
            assert!(!d.value);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the change did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    flags.close().await;
}
