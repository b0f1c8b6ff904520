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
