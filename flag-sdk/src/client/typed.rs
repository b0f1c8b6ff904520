//! The typed getters of [`FlagClient`]: the variant served, and string, number and JSON
//! values with the caller's default. Counted like `is_enabled_for`.

use std::sync::Arc;

use super::FlagClient;
use crate::{Context, StringValue};

impl FlagClient {
    /// The key of the variant a flag serves a context: `on` / `off` for a boolean flag;
    /// `None` for an unknown flag or one that serves nothing (disabled without an off
    /// variant). Counted like [`is_enabled_for`](Self::is_enabled_for); no allocation.
    ///
    /// ```
    /// use flag_sdk::{Context, Flag, FlagClient};
    /// let flag = Flag::from_json(br#"{"key": "checkout_button", "type": "string", "enabled": true,
    ///     "variants": [{"key": "blue", "value": "b"}, {"key": "green", "value": "g"}],
    ///     "default_serve": {"split": [{"variant": "blue", "weight": 5000}, {"variant": "green", "weight": 5000}]}}"#).unwrap();
    /// let flags = FlagClient::offline([flag]);
    /// let variant = flags.variant("checkout_button", &Context::new().user_id("42")).unwrap();
    /// assert!(["blue", "green"].contains(&&*variant));
    /// ```
    #[inline]
    pub fn variant(&self, key: &str, ctx: &Context) -> Option<Arc<str>> {
        self.shared
            .answer(key, ctx, |f, out| f.variant_key_of(&out))
            .flatten()
    }

    /// The value of a string flag for a context, or `default` when the flag is unknown, of
    /// another type or serves nothing. Reads as a `&str`; no allocation.
    ///
    /// ```
    /// use flag_sdk::{Context, Flag, FlagClient};
    /// let flag = Flag::from_json(br#"{"key": "banner", "type": "string", "enabled": true,
    ///     "variants": [{"key": "sale", "value": "50% off today"}], "default_serve": {"variant": "sale"}}"#).unwrap();
    /// let flags = FlagClient::offline([flag]);
    /// assert_eq!(&*flags.string_value("banner", &Context::new(), ""), "50% off today");
    /// assert_eq!(&*flags.string_value("missing", &Context::new(), "none"), "none");
    /// ```
    #[inline]
    pub fn string_value<'d>(&self, key: &str, ctx: &Context, default: &'d str) -> StringValue<'d> {
        self.shared
            .answer(key, ctx, |f, out| f.text_of(&out))
            .flatten()
            .map_or(StringValue::Default(default), StringValue::Served)
    }

    /// The value of a number flag for a context, or `default`. No allocation.
    ///
    /// ```
    /// use flag_sdk::{Context, Flag, FlagClient};
    /// let flag = Flag::from_json(br#"{"key": "max_items", "type": "number", "enabled": true,
    ///     "variants": [{"key": "ten", "value": 10}], "default_serve": {"variant": "ten"}}"#).unwrap();
    /// let flags = FlagClient::offline([flag]);
    /// assert_eq!(flags.number_value("max_items", &Context::new(), 5.0), 10.0);
    /// ```
    #[inline]
    pub fn number_value(&self, key: &str, ctx: &Context, default: f64) -> f64 {
        self.shared
            .answer(key, ctx, |f, out| f.number_of(&out))
            .flatten()
            .unwrap_or(default)
    }

    /// The value of a flag as JSON (a boolean flag's is `true` / `false`), or `default`.
    ///
    /// ```
    /// use flag_sdk::{Context, Flag, FlagClient};
    /// let flag = Flag::from_json(br#"{"key": "limits", "type": "json", "enabled": true,
    ///     "variants": [{"key": "v1", "value": {"rps": 100}}], "default_serve": {"variant": "v1"}}"#).unwrap();
    /// let flags = FlagClient::offline([flag]);
    /// assert_eq!(flags.json_value("limits", &Context::new(), serde_json::json!({}))["rps"], 100);
    /// ```
    pub fn json_value(
        &self,
        key: &str,
        ctx: &Context,
        default: serde_json::Value,
    ) -> serde_json::Value {
        self.shared
            .answer(key, ctx, |f, out| f.json_of(&out))
            .flatten()
            .unwrap_or(default)
    }
}
