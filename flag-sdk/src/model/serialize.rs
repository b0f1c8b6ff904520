//! The JSON of a flag and a rule: a boolean flag written before variants existed serializes
//! exactly as it always did (no `type`, `variants`, `prerequisites`, `default_serve`,
//! `off_variant` or `serve`), and `percentage` is left out where a `serve` replaces it.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::{FlagSpec, Rule};

impl Serialize for FlagSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("FlagSpec", 15)?;
        out.serialize_field("key", &self.key)?;
        if self.flag_type.is_boolean() {
            out.skip_field("type")?;
        } else {
            out.serialize_field("type", &self.flag_type)?;
        }
        out.serialize_field("description", &self.description)?;
        out.serialize_field("enabled", &self.enabled)?;
        if self.variants.is_empty() {
            out.skip_field("variants")?;
        } else {
            out.serialize_field("variants", &self.variants)?;
        }
        if self.prerequisites.is_empty() {
            out.skip_field("prerequisites")?;
        } else {
            out.serialize_field("prerequisites", &self.prerequisites)?;
        }
        out.serialize_field("rules", &self.rules)?;
        match &self.default_serve {
            None => {
                out.serialize_field("percentage", &self.percentage)?;
                out.skip_field("default_serve")?;
            }
            Some(serve) => {
                out.skip_field("percentage")?;
                out.serialize_field("default_serve", serve)?;
            }
        }
        match &self.off_variant {
            None => out.skip_field("off_variant")?,
            Some(v) => out.serialize_field("off_variant", v)?,
        }
        out.serialize_field("stickiness", &self.stickiness)?;
        out.serialize_field("salt", &self.salt)?;
        out.serialize_field("tags", &self.tags)?;
        out.serialize_field("owner", &self.owner)?;
        out.serialize_field("expires_at", &self.expires_at)?;
        out.end()
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Rule", 3)?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("conditions", &self.conditions)?;
        match &self.serve {
            None => {
                out.serialize_field("percentage", &self.percentage)?;
                out.skip_field("serve")?;
            }
            Some(serve) => {
                out.skip_field("percentage")?;
                out.serialize_field("serve", serve)?;
            }
        }
        out.end()
    }
}
