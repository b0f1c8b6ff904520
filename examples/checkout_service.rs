//! A small service that gates a code path on the `new_checkout` flag and says when it flips.
//!
//! ```sh
//! FLAG_SERVER_URL=http://127.0.0.1:8080 FLAG_SDK_KEY=sdk-... cargo run -p flag-examples --example checkout_service
//! # in another terminal:
//! flag-cli --env production flags enable new_checkout
//! ```
//!
//! It keeps running with the last known flags (or its backup file, or everything off) while
//! the server is down, and catches up when the server returns. Ctrl-C stops it cleanly.

use std::time::Duration;

use flag_sdk::{Context, FlagClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("FLAG_SERVER_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("FLAG_SDK_KEY")
        .map_err(|_| "set FLAG_SDK_KEY to an SDK key of the environment")?;
    let backup = std::env::temp_dir().join("checkout_service.flags.json");

    let flags = FlagClient::builder(url.as_str(), key)
        .init_timeout(Duration::from_secs(2))
        .backup_file(&backup)
        .build()
        .await?;
    println!(
        "checkout service started against {url} (flags at version {}, {})",
        flags.version(),
        if flags.is_initialized() {
            "live"
        } else {
            "server unreachable: backup or all off"
        }
    );

    let mut changes = flags.subscribe();
    let mut on = checkout(&flags, "42");
    println!("new_checkout is {}", if on { "ON" } else { "OFF" });
    loop {
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = checkout(&flags, "42");
                if now != on {
                    println!("new_checkout flipped {} (version {})", if now { "ON" } else { "OFF" }, flags.version());
                    on = now;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    flags.close().await;
    println!("stopped");
    Ok(())
}

/// The gated code path: which checkout a user gets.
fn checkout(flags: &FlagClient, user_id: &str) -> bool {
    let ctx = Context::new().user_id(user_id);
    if flags.is_enabled_for("new_checkout", &ctx) {
        // the new flow
        true
    } else {
        // the old flow
        false
    }
}
