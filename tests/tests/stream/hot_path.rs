//! The hot path: evaluation through a connected client allocates nothing (counted by a
//! global allocator that counts per thread).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use flag_sdk::{Context, FlagClient};
use serde_json::json;

use crate::Server;

pub struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

fn allocations() -> u64 {
    ALLOCATIONS.with(|c| c.get())
}

#[tokio::test]
async fn evaluation_through_a_connected_client_does_not_allocate() {
    let server = Server::embedded().await;
    let admin = server.admin();
    admin.create("simple", true).await;
    admin
        .apply(json!({"flags": [
            {"key": "simple", "enabled": true, "percentage": 100},
            {"key": "canary", "enabled": true, "percentage": 25, "rules": [
                {"id": "staff", "percentage": 100, "conditions": [
                    {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]}]}
        ]}))
        .await;
    let (_, key) = admin.sdk_key().await;
    let client = FlagClient::builder(server.url(), key.as_str())
        .metrics_interval(Duration::from_secs(3600))
        .build()
        .await
        .unwrap();
    let ctx = Context::new().user_id("42").set("email", "ann@example.com");
    // The first sighting of an unknown key records its name once.
    client.is_enabled("ghost");
    // Warm the thread-local state of the snapshot swap.
    client.is_enabled("simple");

    // The counter does count.
    let probe = allocations();
    std::hint::black_box(Context::new().user_id("1"));
    assert!(allocations() > probe);

    let before = allocations();
    let mut on = 0;
    for _ in 0..1000 {
        on += client.is_enabled("simple") as u32;
        on += client.is_enabled_for("canary", &ctx) as u32;
        on += client.evaluate("canary", &ctx).enabled as u32;
        on += client.is_enabled("ghost") as u32;
    }
    let after = allocations();
    assert_eq!(on, 3000);
    assert_eq!(
        after - before,
        0,
        "evaluation allocated {} times",
        after - before
    );
    client.close().await;
}

#[tokio::test]
async fn typed_getters_through_a_connected_client_do_not_allocate() {
    let server = Server::embedded().await;
    let admin = server.admin();
    admin
        .apply(json!({"flags": [
            {"key": "button", "type": "string", "enabled": true,
             "variants": [{"key": "blue", "value": "#0050ff"}, {"key": "green", "value": "#00a050"}],
             "rules": [{"id": "staff", "conditions": [{"attribute": "email", "operator": "ends_with",
                 "values": ["@example.com"]}], "serve": {"variant": "green"}}],
             "default_serve": {"split": [{"variant": "blue", "weight": 5000}, {"variant": "green", "weight": 5000}]}},
            {"key": "limit", "type": "number", "enabled": true,
             "variants": [{"key": "low", "value": 10}, {"key": "high", "value": 50}],
             "default_serve": {"split": [{"variant": "low", "weight": 2500}, {"variant": "high", "weight": 7500}]}}
        ]}))
        .await;
    let (_, key) = admin.sdk_key().await;
    let client = FlagClient::builder(server.url(), key.as_str())
        .metrics_interval(Duration::from_secs(3600))
        .build()
        .await
        .unwrap();
    let staff = Context::new().user_id("42").set("email", "ann@example.com");
    let user = Context::new().user_id("7");
    client.is_enabled("ghost");
    client.string_value("ghost", &user, "d");
    client.is_enabled("button");

    let before = allocations();
    let mut chars = 0;
    let mut total = 0.0;
    for _ in 0..1000 {
        chars += client.string_value("button", &staff, "#000000").len();
        chars += client.string_value("button", &user, "#000000").len();
        chars += client.string_value("ghost", &user, "#000000").len();
        chars += client.variant("button", &user).map_or(0, |v| v.len());
        total += client.number_value("limit", &user, 1.0);
    }
    let after = allocations();
    let arm = client.variant("button", &user).unwrap();
    let expected_limit = client.number_value("limit", &user, 1.0);
    assert_eq!(chars, 1000 * (7 + 7 + 7 + arm.len()));
    assert!(expected_limit == 10.0 || expected_limit == 50.0);
    assert_eq!(total, 1000.0 * expected_limit);
    assert_eq!(
        after - before,
        0,
        "typed getters allocated {} times",
        after - before
    );
    client.close().await;
}
