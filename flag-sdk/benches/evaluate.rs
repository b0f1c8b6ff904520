//! Evaluation cost per call, in a snapshot of 10 and of 10,000 flags.
//!
//! `cargo bench -p flag-sdk --bench evaluate`. Compare each figure with the `baseline` group of
//! the same run (a bare hash-map lookup of the key and a bare murmur3 of the hashed bytes): this
//! machine is shared and noisy, ratios travel better than nanoseconds.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use flag_sdk::{Context, Flag, Snapshot};
use rustc_hash::FxHashMap;
use serde_json::json;

fn five_rules(key: &str) -> Flag {
    Flag::from_value(json!({
        "key": key, "enabled": true, "percentage": 25,
        "rules": [
            {"id": "countries", "percentage": 100, "conditions": [
                {"attribute": "country", "operator": "in", "values": ["FR", "IT", "ES", "PT"]}]},
            {"id": "new-app", "percentage": 100, "conditions": [
                {"attribute": "app_version", "operator": "semver_gte", "values": ["3.0.0"]}]},
            {"id": "staff", "percentage": 100, "conditions": [
                {"attribute": "email", "operator": "matches", "values": ["@example\\.com$"]}]},
            {"id": "big-spenders", "percentage": 100, "conditions": [
                {"attribute": "orders", "operator": "gt", "values": [100]}]},
            {"id": "new-accounts", "percentage": 50, "conditions": [
                {"attribute": "signup", "operator": "after", "values": ["2026-06-01T00:00:00Z"]}]},
        ],
    }))
    .unwrap()
}

/// A string flag split 50/50 between two variants by `user_id`: an A/B test.
fn split_2way(key: &str) -> Flag {
    Flag::from_value(json!({
        "key": key, "type": "string", "enabled": true,
        "variants": [{"key": "control", "value": "old"}, {"key": "treatment", "value": "new"}],
        "default_serve": {"split": [
            {"variant": "control", "weight": 5000}, {"variant": "treatment", "weight": 5000}]},
    }))
    .unwrap()
}

/// A snapshot of `n` flags that includes the benchmarked ones.
fn snapshot(n: usize) -> Snapshot {
    let mut flags = vec![
        Flag::on("on_off").unwrap(),
        Flag::rollout("rollout_25", 25.0).unwrap(),
        five_rules("five_rules"),
        split_2way("split_2way"),
    ];
    flags.extend((flags.len()..n).map(|i| Flag::rollout(&format!("filler_{i}"), 50.0).unwrap()));
    Snapshot::compile("bench", 1, flags)
}

fn bench(c: &mut Criterion) {
    // Matches no rule until the last one is tried (worst case: every condition evaluated).
    let ctx = Context::new()
        .user_id("user-123456")
        .set("country", "DE")
        .set("app_version", "2.9.1")
        .set("email", "someone@elsewhere.org")
        .set("orders", 12)
        .set("signup", "2025-01-01T00:00:00Z");

    let mut baseline = c.benchmark_group("baseline");
    let map: FxHashMap<Box<str>, u64> = (0..10_000)
        .map(|i| (format!("filler_{i}").into_boxed_str(), i))
        .collect();
    baseline.bench_function("fxhashmap_get", |b| {
        b.iter(|| black_box(&map).get(black_box("filler_77")))
    });
    baseline.bench_function("murmur3_slice", |b| {
        b.iter(|| mur3::murmurhash3_x86_32(black_box(b"rollout_25:user-123456"), 0))
    });
    baseline.finish();

    for n in [10, 10_000] {
        let snap = snapshot(n);
        let mut group = c.benchmark_group(format!("is_enabled/{n}_flags"));
        group.bench_function("on_off", |b| {
            b.iter(|| black_box(&snap).is_enabled(black_box("on_off"), &ctx))
        });
        group.bench_function("rollout_25", |b| {
            b.iter(|| black_box(&snap).is_enabled(black_box("rollout_25"), &ctx))
        });
        group.bench_function("five_rules", |b| {
            b.iter(|| black_box(&snap).is_enabled(black_box("five_rules"), &ctx))
        });
        group.finish();
        // Typed flags, compared with `is_enabled/rollout_25` of the same run.
        let mut group = c.benchmark_group(format!("variants/{n}_flags"));
        group.bench_function("split_2way_variant", |b| {
            b.iter(|| black_box(&snap).variant(black_box("split_2way"), &ctx))
        });
        group.bench_function("split_2way_string_value", |b| {
            b.iter(|| {
                black_box(&snap)
                    .string_value(black_box("split_2way"), &ctx, "old")
                    .len()
            })
        });
        group.finish();
        let mut group = c.benchmark_group(format!("evaluate/{n}_flags"));
        group.bench_function("rollout_25", |b| {
            b.iter(|| black_box(&snap).evaluate(black_box("rollout_25"), &ctx))
        });
        group.bench_function("five_rules", |b| {
            b.iter(|| black_box(&snap).evaluate(black_box("five_rules"), &ctx))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
