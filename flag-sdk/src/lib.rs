//! # flag-sdk
//!
//! The flag model, validation, bucketing and evaluator of the flag service, shared by the
//! server and applications, plus (with the default `client` feature) a client that keeps a
//! local snapshot up to date over a stream.
//!
//! A [`FlagSpec`] is a flag as a person writes it, built only by validation; a [`Flag`] is a
//! spec with the fields the server sets on every write (`version`, `updated_at`, `updated_by`).
//!
//! Evaluation is local and synchronous: a [`Snapshot`] is compiled once per update and
//! answers [`Snapshot::is_enabled`] without I/O, locks or allocation.
//!
//! ```
//! use flag_sdk::{Context, Flag, Snapshot};
//! let flag = Flag::from_json(br#"{
//!     "key": "new_checkout", "enabled": true, "percentage": 0,
//!     "rules": [{"id": "staff", "percentage": 100, "conditions": [
//!         {"attribute": "email", "operator": "ends_with", "values": ["@example.com"]}]}]
//! }"#).unwrap();
//! let snap = Snapshot::compile("production", 1, [flag]);
//! assert!(snap.is_enabled("new_checkout", &Context::new().set("email", "ann@example.com")));
//! assert!(!snap.is_enabled("new_checkout", &Context::new().set("email", "bob@elsewhere.org")));
//! ```
#![deny(missing_docs)]

mod bucket;
#[cfg(feature = "client")]
mod client;
mod context;
mod error;
mod eval;
mod model;
pub mod wire;

pub use bucket::{bucket, hash, BUCKETS};
#[cfg(feature = "client")]
pub use client::{ClientStatus, FlagClient, FlagClientBuilder};
pub use context::{Context, Value};
pub use error::{Error, FieldError, ValidationErrors};
pub use eval::{
    CompiledFlag, Evaluation, OpenFeatureReason, Reason, ReasonKind, Snapshot, StringValue,
};
pub use model::{
    check_references, limits, Condition, ConditionInput, EnvName, Flag, FlagInput, FlagKey,
    FlagSpec, FlagType, NameError, NameProblem, Operator, Percentage, PercentageError,
    Prerequisite, PrerequisiteInput, Rule, RuleInput, Segment, SegmentInput, Serve, ServeInput,
    Variant, Weighted, MAX_ENV_LEN, MAX_KEY_LEN, OFF, ON,
};
pub use model::{Settled, StaleDays, StaleDaysError, StaleFilter, StaleReason};
