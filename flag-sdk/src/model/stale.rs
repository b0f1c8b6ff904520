//! Stale flags: flags no SDK evaluates any more, flags past their `expires_at`, and flags that
//! serve one thing to everyone and have not changed for a while. These are the flags whose
//! code can be deleted; the admin list filters them (`GET /environments/{env}/flags?stale_days=30`).
//!
//! Everything here is pure: the caller passes `now`, so the rules are tested with explicit
//! instants.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Flag, FlagSpec, FlagType, Percentage, Serve, OFF, ON};

/// Why a flag is stale. JSON: `"not_evaluated"`, `"expired"`, `"settled"`; listed in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StaleReason {
    /// No SDK evaluated it in the last N days (never evaluated: and unchanged for N days).
    NotEvaluated,
    /// Past its `expires_at`.
    Expired,
    /// Serves one thing to everyone (disabled, or one variant for every context) and unchanged
    /// for N days.
    Settled,
}

impl StaleReason {
    /// The reason's name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            StaleReason::NotEvaluated => "not_evaluated",
            StaleReason::Expired => "expired",
            StaleReason::Settled => "settled",
        }
    }
}

impl std::fmt::Display for StaleReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A number of days for the stale tests: 1 to [`StaleDays::MAX`] (ten years). Zero is refused,
/// so that a flag created or evaluated today is never stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StaleDays(u16);

/// A number of days outside `1..=3650`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a whole number of days from 1 to {max}, got {got}", max = StaleDays::MAX)]
pub struct StaleDaysError {
    /// The number given.
    pub got: u64,
}

impl StaleDays {
    /// The largest number of days: ten years.
    pub const MAX: u16 = 3650;

    /// Checks that `days` is from 1 to [`StaleDays::MAX`].
    ///
    /// ```
    /// use flag_sdk::StaleDays;
    /// assert_eq!(StaleDays::new(30).unwrap().get(), 30);
    /// assert!(StaleDays::new(0).is_err());
    /// assert!(StaleDays::new(3651).is_err());
    /// ```
    pub fn new(days: u64) -> Result<StaleDays, StaleDaysError> {
        match u16::try_from(days) {
            Ok(d) if (1..=Self::MAX).contains(&d) => Ok(StaleDays(d)),
            _ => Err(StaleDaysError { got: days }),
        }
    }

    /// The number of days.
    pub fn get(self) -> u16 {
        self.0
    }

    /// `now` minus this many days.
    fn before(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(i64::from(self.0))
    }
}

impl<'de> Deserialize<'de> for StaleDays {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        StaleDays::new(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// What a flag serves when it serves the same to every context ([`FlagSpec::settled`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Disabled: every context gets the off variant (or, for a flag of another type without
    /// one, nothing: SDKs answer their default).
    Disabled,
    /// Enabled, and every context gets this variant (`on` or `off` for a boolean flag).
    Serves(String),
}

/// One outcome of a rule, of the default or of a failed prerequisite.
#[derive(PartialEq, Eq)]
enum Outcome<'a> {
    Variant(&'a str),
    Nothing,
}

/// What a rule or the default serves when it is one variant for every context it decides.
fn outcome(boolean: bool, percentage: Percentage, serve: &Option<Serve>) -> Option<Outcome<'_>> {
    match serve {
        None if boolean => match percentage.basis_points() {
            0 => Some(Outcome::Variant(OFF)),
            10_000 => Some(Outcome::Variant(ON)),
            _ => None,
        },
        // Validation gives every rule and the default of a flag of another type a `serve`.
        None => None,
        Some(Serve::Variant(v)) => Some(Outcome::Variant(v)),
        Some(Serve::Split(parts)) => {
            let mut weighted = parts.iter().filter(|p| p.weight > 0);
            match (weighted.next(), weighted.next()) {
                (Some(only), None) => Some(Outcome::Variant(&only.variant)),
                _ => None,
            }
        }
    }
}

impl FlagSpec {
    /// Whether the flag serves the same to every context, and what: [`Settled::Disabled`] when
    /// it is disabled; [`Settled::Serves`] when it is enabled and every rule, the default and
    /// (with prerequisites) the off variant serve one and the same variant, with no split. A
    /// boolean flag at 0% everywhere is fully off (`Serves("off")`), one at 100% everywhere
    /// (no rules, or only rules at 100%) fully on. `None`: different contexts can get
    /// different values.
    ///
    /// ```
    /// use flag_sdk::{FlagSpec, Settled};
    /// assert_eq!(FlagSpec::off("a").unwrap().settled(), Some(Settled::Disabled));
    /// assert_eq!(FlagSpec::on("a").unwrap().settled(), Some(Settled::Serves("on".into())));
    /// assert_eq!(FlagSpec::rollout("a", 25.0).unwrap().settled(), None);
    /// ```
    pub fn settled(&self) -> Option<Settled> {
        if !self.enabled {
            return Some(Settled::Disabled);
        }
        let boolean = self.flag_type == FlagType::Boolean;
        let first = outcome(boolean, self.percentage, &self.default_serve)?;
        for rule in &self.rules {
            if outcome(boolean, rule.percentage, &rule.serve)? != first {
                return None;
            }
        }
        if !self.prerequisites.is_empty() {
            // A context whose prerequisites fail gets the off variant.
            let off = if boolean {
                Outcome::Variant(OFF)
            } else {
                self.off_variant
                    .as_deref()
                    .map_or(Outcome::Nothing, Outcome::Variant)
            };
            if off != first {
                return None;
            }
        }
        match first {
            Outcome::Variant(v) => Some(Settled::Serves(v.to_owned())),
            Outcome::Nothing => None,
        }
    }
}

/// Which stale tests a flag must pass, as the admin list's query gives them. The tests given
/// are ANDed; [`StaleFilter::stale_days`] is one test that passes when any of the three does.
///
/// ```
/// use chrono::{Duration, Utc};
/// use flag_sdk::{Flag, StaleDays, StaleFilter, StaleReason};
/// let now = Utc::now();
/// let mut flag = Flag::from_json(br#"{"key": "old_banner", "enabled": false}"#).unwrap();
/// flag.updated_at = Some(now - Duration::days(90));
/// let filter = StaleFilter { stale_days: Some(StaleDays::new(30).unwrap()), ..StaleFilter::default() };
/// // Never evaluated and unchanged for 90 days; disabled for 90 days.
/// assert_eq!(
///     filter.check(&flag, None, now),
///     Some(vec![StaleReason::NotEvaluated, StaleReason::Settled])
/// );
/// // Evaluated yesterday: still settled.
/// assert_eq!(filter.check(&flag, Some(now - Duration::days(1)), now), Some(vec![StaleReason::Settled]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StaleFilter {
    /// No SDK evaluated the flag in the last N days: its last evaluation is at least N days
    /// old, or it was never evaluated and is unchanged for N days (so a new flag is not stale).
    pub not_evaluated_days: Option<StaleDays>,
    /// Past its `expires_at`.
    pub expired: bool,
    /// [`FlagSpec::settled`] and unchanged for N days.
    pub settled_days: Option<StaleDays>,
    /// Any of the three, each with N days.
    pub stale_days: Option<StaleDays>,
}

impl StaleFilter {
    /// Whether any test is asked for (otherwise every flag passes and none has reasons).
    pub fn is_active(&self) -> bool {
        self.not_evaluated_days.is_some()
            || self.expired
            || self.settled_days.is_some()
            || self.stale_days.is_some()
    }

    /// `None` when the flag fails a test the filter asks for (or the filter asks for none);
    /// otherwise the reasons that hold, in [`StaleReason`] order. A reason is tested with its
    /// own parameter's days, or else with `stale_days`'s; `expired` is tested when asked for or
    /// with `stale_days`. `last_evaluated` is the flag's usage; a flag without `updated_at`
    /// (never written by a server) counts as unchanged for any number of days.
    pub fn check(
        &self,
        flag: &Flag,
        last_evaluated: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Vec<StaleReason>> {
        if !self.is_active() {
            return None;
        }
        let unchanged_since = |cutoff: DateTime<Utc>| flag.updated_at.map_or(true, |t| t <= cutoff);
        let not_evaluated = |days: StaleDays| {
            let cutoff = days.before(now);
            match last_evaluated {
                Some(t) => t <= cutoff,
                None => unchanged_since(cutoff),
            }
        };
        let expired = flag.expires_at.is_some_and(|t| t <= now);
        let settled =
            |days: StaleDays| flag.settled().is_some() && unchanged_since(days.before(now));

        let passes = self.not_evaluated_days.map_or(true, not_evaluated)
            && (!self.expired || expired)
            && self.settled_days.map_or(true, settled)
            && self
                .stale_days
                .map_or(true, |d| not_evaluated(d) || expired || settled(d));
        if !passes {
            return None;
        }
        let mut reasons = Vec::with_capacity(3);
        if self
            .not_evaluated_days
            .or(self.stale_days)
            .is_some_and(not_evaluated)
        {
            reasons.push(StaleReason::NotEvaluated);
        }
        if (self.expired || self.stale_days.is_some()) && expired {
            reasons.push(StaleReason::Expired);
        }
        if self.settled_days.or(self.stale_days).is_some_and(settled) {
            reasons.push(StaleReason::Settled);
        }
        Some(reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-30T12:00:00Z".parse().unwrap()
    }

    fn days(n: u64) -> StaleDays {
        StaleDays::new(n).unwrap()
    }

    /// A flag from JSON, last changed `age` days before [`now`].
    fn flag(value: serde_json::Value, age: i64) -> Flag {
        let mut f: Flag = serde_json::from_value(value).unwrap();
        f.updated_at = Some(now() - Duration::days(age));
        f
    }

    fn spec(value: serde_json::Value) -> FlagSpec {
        FlagSpec::from_value(value).unwrap()
    }

    fn serves(v: &str) -> Option<Settled> {
        Some(Settled::Serves(v.into()))
    }

    #[test]
    fn boolean_flags_fully_on_or_off() {
        let rule = |p: u32| json!({"id": format!("r{p}"), "conditions": [{"attribute": "country", "operator": "in", "values": ["DE"]}], "percentage": p});
        // Disabled: off, whatever it would serve.
        let s = spec(json!({"key": "a", "enabled": false, "percentage": 30, "rules": [rule(50)]}));
        assert_eq!(s.settled(), Some(Settled::Disabled));
        // 100% with no rules, or with rules at 100%: on.
        assert_eq!(
            spec(json!({"key": "a", "enabled": true, "percentage": 100})).settled(),
            serves("on")
        );
        assert_eq!(
            spec(json!({"key": "a", "enabled": true, "percentage": 100, "rules": [rule(100)]}))
                .settled(),
            serves("on")
        );
        // Every rule and the default at 0%: off.
        assert_eq!(
            spec(json!({"key": "a", "enabled": true, "percentage": 0, "rules": [rule(0)]}))
                .settled(),
            serves("off")
        );
        // A rollout, a rule that differs from the default, a rule at 50%: not settled.
        assert_eq!(
            spec(json!({"key": "a", "enabled": true, "percentage": 99.99})).settled(),
            None
        );
        assert_eq!(
            spec(json!({"key": "a", "enabled": true, "percentage": 100, "rules": [rule(0)]}))
                .settled(),
            None
        );
        assert_eq!(
            spec(json!({"key": "a", "enabled": true, "percentage": 0, "rules": [rule(50)]}))
                .settled(),
            None
        );
        // A default that serves a variant of a boolean flag.
        assert_eq!(
            spec(json!({"key": "a", "enabled": true, "default_serve": {"variant": "on"}}))
                .settled(),
            serves("on")
        );
        assert_eq!(
            spec(
                json!({"key": "a", "enabled": true, "default_serve": {"split": [
                {"variant": "on", "weight": 5000}, {"variant": "off", "weight": 5000}]}})
            )
            .settled(),
            None
        );
    }

    #[test]
    fn a_prerequisite_makes_a_fully_on_flag_conditional() {
        let s = spec(json!({"key": "a", "enabled": true, "percentage": 100,
            "prerequisites": [{"flag": "b", "variants": ["on"]}]}));
        assert_eq!(s.settled(), None);
        // Off everywhere stays off when a prerequisite fails.
        let s = spec(json!({"key": "a", "enabled": true, "percentage": 0,
            "prerequisites": [{"flag": "b", "variants": ["on"]}]}));
        assert_eq!(s.settled(), serves("off"));
    }

    #[test]
    fn typed_flags_settle_on_one_variant() {
        let typed = |extra: serde_json::Value| {
            let mut v = json!({"key": "color", "type": "string", "enabled": true,
                "variants": [{"key": "blue", "value": "#00f"}, {"key": "green", "value": "#0f0"}],
                "default_serve": {"variant": "blue"}});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            spec(v)
        };
        assert_eq!(typed(json!({})).settled(), serves("blue"));
        assert_eq!(
            typed(json!({"enabled": false})).settled(),
            Some(Settled::Disabled)
        );
        // A split is not settled, unless one share has all the weight.
        assert_eq!(
            typed(
                json!({"default_serve": {"split": [{"variant": "blue", "weight": 5000},
                {"variant": "green", "weight": 5000}]}})
            )
            .settled(),
            None
        );
        assert_eq!(
            typed(
                json!({"default_serve": {"split": [{"variant": "blue", "weight": 0},
                {"variant": "green", "weight": 10000}]}})
            )
            .settled(),
            serves("green")
        );
        // A rule that serves another variant targets some contexts; one that serves the same
        // changes nothing.
        let rule = |v: &str| {
            json!([{"id": "r", "conditions": [{"attribute": "country",
            "operator": "in", "values": ["DE"]}], "serve": {"variant": v}}])
        };
        assert_eq!(typed(json!({"rules": rule("green")})).settled(), None);
        assert_eq!(
            typed(json!({"rules": rule("blue")})).settled(),
            serves("blue")
        );
        // With a prerequisite, contexts that fail it get the off variant (or nothing).
        let pre = json!([{"flag": "b", "variants": ["on"]}]);
        assert_eq!(typed(json!({"prerequisites": pre})).settled(), None);
        assert_eq!(
            typed(json!({"prerequisites": pre, "off_variant": "blue"})).settled(),
            serves("blue")
        );
    }

    #[test]
    fn days_are_from_one_to_ten_years() {
        assert!(StaleDays::new(0).is_err());
        assert_eq!(StaleDays::new(1).unwrap().get(), 1);
        assert_eq!(StaleDays::new(3650).unwrap().get(), 3650);
        let e = StaleDays::new(3651).unwrap_err().to_string();
        assert_eq!(e, "must be a whole number of days from 1 to 3650, got 3651");
        assert!(StaleDays::new(u64::MAX).is_err());
        assert!(serde_json::from_value::<StaleDays>(json!(0)).is_err());
        assert_eq!(
            serde_json::from_value::<StaleDays>(json!(7)).unwrap().get(),
            7
        );
    }

    #[test]
    fn not_evaluated() {
        let f = StaleFilter {
            not_evaluated_days: Some(days(30)),
            ..StaleFilter::default()
        };
        let on = json!({"key": "a", "enabled": true, "percentage": 50});
        let ago = |d: i64| Some(now() - Duration::days(d));
        // Evaluated 31 days ago: stale, however recently it changed.
        assert_eq!(
            f.check(&flag(on.clone(), 0), ago(31), now()),
            Some(vec![StaleReason::NotEvaluated])
        );
        // Evaluated 29 days ago: not stale.
        assert_eq!(f.check(&flag(on.clone(), 400), ago(29), now()), None);
        // Exactly 30 days: no evaluation in the last 30 days.
        assert!(f.check(&flag(on.clone(), 400), ago(30), now()).is_some());
        // Never evaluated: stale only once unchanged for 30 days, so a new flag is not.
        assert_eq!(f.check(&flag(on.clone(), 0), None, now()), None);
        assert_eq!(f.check(&flag(on.clone(), 29), None, now()), None);
        assert_eq!(
            f.check(&flag(on.clone(), 31), None, now()),
            Some(vec![StaleReason::NotEvaluated])
        );
        // Without updated_at (never written by a server): as old as can be.
        let mut bare = flag(on, 0);
        bare.updated_at = None;
        assert!(f.check(&bare, None, now()).is_some());
    }

    #[test]
    fn expired() {
        let f = StaleFilter {
            expired: true,
            ..StaleFilter::default()
        };
        let at =
            |t: DateTime<Utc>| json!({"key": "a", "enabled": true, "expires_at": t.to_rfc3339()});
        assert_eq!(
            f.check(&flag(at(now() - Duration::seconds(1)), 0), None, now()),
            Some(vec![StaleReason::Expired])
        );
        assert_eq!(
            f.check(&flag(at(now() + Duration::days(1)), 900), None, now()),
            None
        );
        assert_eq!(
            f.check(
                &flag(json!({"key": "a", "enabled": true}), 900),
                None,
                now()
            ),
            None
        );
    }

    #[test]
    fn settled_for_n_days() {
        let f = StaleFilter {
            settled_days: Some(days(14)),
            ..StaleFilter::default()
        };
        let off = json!({"key": "a", "enabled": false});
        assert_eq!(
            f.check(&flag(off.clone(), 15), Some(now()), now()),
            Some(vec![StaleReason::Settled])
        );
        // Switched off yesterday: a kill switch in use, not a flag to delete.
        assert_eq!(f.check(&flag(off, 1), Some(now()), now()), None);
        // A rollout is never settled.
        let half = json!({"key": "a", "enabled": true, "percentage": 50});
        assert_eq!(f.check(&flag(half, 900), None, now()), None);
    }

    #[test]
    fn stale_days_is_any_of_the_three_and_filters_are_anded() {
        let any = StaleFilter {
            stale_days: Some(days(30)),
            ..StaleFilter::default()
        };
        let half = json!({"key": "a", "enabled": true, "percentage": 50});
        let evaluated_today = Some(now());
        // Each reason alone is enough.
        assert_eq!(
            any.check(&flag(half.clone(), 31), None, now()),
            Some(vec![StaleReason::NotEvaluated])
        );
        let mut expired = half.clone();
        expired["expires_at"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(
            any.check(&flag(expired.clone(), 0), evaluated_today, now()),
            Some(vec![StaleReason::Expired])
        );
        let on = json!({"key": "a", "enabled": true, "percentage": 100});
        assert_eq!(
            any.check(&flag(on.clone(), 31), evaluated_today, now()),
            Some(vec![StaleReason::Settled])
        );
        // None of them: a rollout evaluated today.
        assert_eq!(
            any.check(&flag(half.clone(), 900), evaluated_today, now()),
            None
        );
        // All three, in order.
        let mut all = on.clone();
        all["expires_at"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(
            any.check(&flag(all.clone(), 60), None, now()),
            Some(vec![
                StaleReason::NotEvaluated,
                StaleReason::Expired,
                StaleReason::Settled
            ])
        );
        // ANDed: expired and settled for 90 days; the flag changed 60 days ago.
        let both = StaleFilter {
            expired: true,
            settled_days: Some(days(90)),
            ..StaleFilter::default()
        };
        assert_eq!(both.check(&flag(all.clone(), 60), None, now()), None);
        assert_eq!(
            both.check(&flag(all.clone(), 91), evaluated_today, now()),
            Some(vec![StaleReason::Expired, StaleReason::Settled])
        );
        // A reason's own days win over stale_days: not evaluated for 10 days is enough with
        // not_evaluated_days=7, and stale_days=30 holds through settled.
        let mixed = StaleFilter {
            not_evaluated_days: Some(days(7)),
            stale_days: Some(days(30)),
            ..StaleFilter::default()
        };
        assert_eq!(
            mixed.check(&flag(on, 40), Some(now() - Duration::days(10)), now()),
            Some(vec![StaleReason::NotEvaluated, StaleReason::Settled])
        );
        // No test asked for: nothing to report.
        assert!(!StaleFilter::default().is_active());
        assert_eq!(
            StaleFilter::default().check(&flag(all, 900), None, now()),
            None
        );
    }
}
