//! An A/B test and a configuration value: which checkout button colour each of ten users
//! sees (a 50/50 split, sticky per user), and a number flag read with a default.
//!
//! ```sh
//! FLAG_SERVER_URL=http://127.0.0.1:8080 FLAG_SDK_KEY=sdk-... cargo run -p flag-examples --example ab_test
//! ```
//!
//! Flags it reads: `checkout_button` (a string flag) and `max_cart_items` (a number flag);
//! see the README's "A/B tests and configuration values". Unknown flags answer the defaults.

use std::time::Duration;

use flag_sdk::{Context, FlagClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("FLAG_SERVER_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("FLAG_SDK_KEY")
        .map_err(|_| "set FLAG_SDK_KEY to an SDK key of the environment")?;
    let flags = FlagClient::builder(url.as_str(), key)
        .init_timeout(Duration::from_secs(2))
        .build()
        .await?;

    for i in 1..=10 {
        let ctx = Context::new().user_id(format!("user-{i}"));
        // The variant names the arm for your analytics; the value is what the code uses.
        let arm = flags.variant("checkout_button", &ctx);
        let colour = flags.string_value("checkout_button", &ctx, "#0050ff");
        let max_items = flags.number_value("max_cart_items", &ctx, 20.0);
        println!(
            "user-{i:<2} arm {:<8} button {colour}  max cart items {max_items}",
            arm.as_deref().unwrap_or("-"),
        );
    }
    flags.close().await;
    Ok(())
}
