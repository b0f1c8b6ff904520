//! The same A/B test as `ab_test`, through the standard OpenFeature API: the `flag-openfeature`
//! provider registered once, then only `open_feature` calls. Evaluation stays local (the
//! provider reads the SDK's snapshot; no request per call).
//!
//! ```sh
//! FLAG_SERVER_URL=http://127.0.0.1:8080 FLAG_SDK_KEY=sdk-... cargo run -p flag-examples --example openfeature
//! ```
//!
//! Flags it reads: `new_checkout` (boolean), `checkout_button` (string), `max_cart_items`
//! (number) and `limits` (json, an object); see the README's "A/B tests and configuration
//! values". A flag that is missing or of another type answers the default, with the error code.

use std::time::Duration;

use flag_openfeature::FlagProvider;
use flag_sdk::FlagClient;
use open_feature::{EvaluationContext, OpenFeature, StructValue};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("FLAG_SERVER_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("FLAG_SDK_KEY")
        .map_err(|_| "set FLAG_SDK_KEY to an SDK key of the environment")?;
    let flags = FlagClient::builder(url.as_str(), key)
        .init_timeout(Duration::from_secs(2))
        .build()
        .await?;

    let client = {
        let mut api = OpenFeature::singleton_mut().await;
        api.set_provider(FlagProvider::new(flags.clone())).await;
        api.create_client()
    };

    for i in 1..=10 {
        // The targeting key is the flag's stickiness attribute (`user_id` by default).
        let ctx = EvaluationContext::default()
            .with_targeting_key(format!("user-{i}"))
            .with_custom_field("country", if i % 2 == 0 { "DE" } else { "US" });
        let checkout = client
            .get_bool_value("new_checkout", Some(&ctx), None)
            .await
            .unwrap_or(false);
        let button = client
            .get_string_details("checkout_button", Some(&ctx), None)
            .await;
        let (colour, arm, reason) = match button {
            Ok(d) => (
                d.value,
                d.variant.unwrap_or_default(),
                d.reason.map(|r| r.to_string()).unwrap_or_default(),
            ),
            Err(e) => ("#0050ff".to_owned(), "-".to_owned(), e.code.to_string()),
        };
        let max_items = client
            .get_int_value("max_cart_items", Some(&ctx), None)
            .await
            .unwrap_or(20);
        let limits = client
            .get_struct_value::<StructValue>("limits", Some(&ctx), None)
            .await
            .map(|s| s.fields.len())
            .unwrap_or(0);
        println!(
            "user-{i:<2} new checkout {checkout:<5}  button {colour} (arm {arm}, {reason})  max cart items {max_items}  limits: {limits} fields"
        );
    }
    flags.close().await;
    Ok(())
}
