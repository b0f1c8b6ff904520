//! Shared by the tests: the flags they evaluate, and an OpenFeature client bound to a provider.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use flag_openfeature::FlagProvider;
use flag_sdk::{Flag, FlagClient};
use open_feature::{Client, OpenFeature};
use serde_json::{json, Value};

/// An OpenFeature client bound, under a name no other test uses, to a provider over `flags`
/// (the API is a process-wide singleton and tests run in parallel).
pub async fn openfeature_client(flags: FlagClient) -> Client {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!("test-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let mut api = OpenFeature::singleton_mut().await;
    api.set_named_provider(&name, FlagProvider::new(flags))
        .await;
    api.create_named_client(&name)
}

/// The flags of the tests, as JSON (for the server) and as [`Flag`]s (offline).
pub fn flag_docs() -> Vec<Value> {
    vec![
        json!({"key": "dark_mode", "enabled": true, "percentage": 100}),
        json!({"key": "killed", "enabled": false, "percentage": 100}),
        json!({"key": "canary", "enabled": true, "percentage": 25}),
        json!({"key": "new_checkout", "enabled": true, "percentage": 0, "rules": [
            {"id": "staff", "percentage": 100, "conditions": [
                {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]},
            {"id": "adults", "percentage": 100, "conditions": [
                {"attribute": "age", "operator": "gte", "values": [18]}]},
            {"id": "early", "percentage": 100, "conditions": [
                {"attribute": "signed_up", "operator": "before", "values": ["2026-01-01T00:00:00Z"]}]},
            {"id": "beta", "percentage": 100, "conditions": [
                {"attribute": "groups", "operator": "contains", "values": ["beta"]}]}]}),
        json!({"key": "checkout_button", "type": "string", "enabled": true,
            "variants": [{"key": "blue", "value": "#0050ff"}, {"key": "green", "value": "#00a050"}],
            "rules": [{"id": "staff", "serve": {"variant": "green"}, "conditions": [
                {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]}],
            "default_serve": {"split": [{"variant": "blue", "weight": 5000}, {"variant": "green", "weight": 5000}]}}),
        json!({"key": "by_account", "type": "string", "enabled": true, "stickiness": "account_id",
            "variants": [{"key": "a", "value": "A"}, {"key": "b", "value": "B"}],
            "default_serve": {"split": [{"variant": "a", "weight": 5000}, {"variant": "b", "weight": 5000}]}}),
        json!({"key": "banner", "type": "string", "enabled": false, "off_variant": "none",
            "variants": [{"key": "none", "value": ""}, {"key": "sale", "value": "50% off"}],
            "default_serve": {"variant": "sale"}}),
        json!({"key": "no_off", "type": "string", "enabled": false,
            "variants": [{"key": "sale", "value": "50% off"}], "default_serve": {"variant": "sale"}}),
        json!({"key": "gated", "type": "string", "enabled": true, "off_variant": "closed",
            "prerequisites": [{"flag": "new_checkout", "variants": ["on"]}],
            "variants": [{"key": "closed", "value": "closed"}, {"key": "open", "value": "open"}],
            "default_serve": {"variant": "open"}}),
        json!({"key": "max_items", "type": "number", "enabled": true,
            "variants": [{"key": "ten", "value": 10}, {"key": "half", "value": 2.5}],
            "rules": [{"id": "de", "serve": {"variant": "half"}, "conditions": [
                {"attribute": "country", "operator": "in", "values": ["DE"]}]}],
            "default_serve": {"variant": "ten"}}),
        json!({"key": "limits", "type": "json", "enabled": true,
            "variants": [{"key": "v1", "value": {"rps": 100, "burst": [1, 2.5], "name": "std", "strict": true}},
                         {"key": "list", "value": [1, 2]}],
            "rules": [{"id": "beta", "serve": {"variant": "list"}, "conditions": [
                {"attribute": "plan", "operator": "in", "values": ["beta"]}]}],
            "default_serve": {"variant": "v1"}}),
    ]
}

/// The flags of the tests.
pub fn flags() -> Vec<Flag> {
    flag_docs()
        .into_iter()
        .map(|doc| Flag::from_value(doc.clone()).unwrap_or_else(|e| panic!("{doc}: {e:?}")))
        .collect()
}
