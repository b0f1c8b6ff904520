//! What an outcome serves, read for each kind of caller: on or off, the variant, a string or
//! number value without allocating, or JSON.

use std::sync::Arc;

use crate::model::FlagType;

use super::flag::{CompiledFlag, CompiledVariant, Outcome};

impl CompiledFlag {
    /// Whether an outcome counts as on: the `on` variant of a boolean flag; any flag of
    /// another type that is enabled.
    #[inline]
    pub(crate) fn enabled_of(&self, out: &Outcome<'_>) -> bool {
        match self.flag_type {
            FlagType::Boolean => out.variant == Some(0),
            _ => self.enabled,
        }
    }

    /// The variant an outcome serves.
    #[inline]
    pub(crate) fn variant_of(&self, out: &Outcome<'_>) -> Option<&CompiledVariant> {
        out.variant.and_then(|i| self.variants.get(usize::from(i)))
    }

    /// The key of the variant an outcome serves.
    #[inline]
    pub(crate) fn variant_key_of(&self, out: &Outcome<'_>) -> Option<Arc<str>> {
        self.variant_of(out).map(|v| v.key.clone())
    }

    /// The value an outcome serves, when this is a string flag (shared, not copied).
    #[inline]
    pub(crate) fn text_of(&self, out: &Outcome<'_>) -> Option<Arc<str>> {
        (self.flag_type == FlagType::String)
            .then(|| self.variant_of(out).and_then(|v| v.text.clone()))
            .flatten()
    }

    /// The value an outcome serves, when this is a number flag.
    #[inline]
    pub(crate) fn number_of(&self, out: &Outcome<'_>) -> Option<f64> {
        (self.flag_type == FlagType::Number)
            .then(|| self.variant_of(out).and_then(|v| v.value.as_f64()))
            .flatten()
    }

    /// The value an outcome serves, as JSON, whatever the flag's type.
    pub(crate) fn json_of(&self, out: &Outcome<'_>) -> Option<serde_json::Value> {
        self.variant_of(out).map(|v| (*v.value).clone())
    }
}
