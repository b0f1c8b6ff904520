//! The JSON messages of the HTTP API and of the stream, in one place: what the server sends
//! and accepts, what the SDK client and the CLI read and write.
//!
//! Every type here serialises to exactly the JSON of the contract (`docs/contract.md`) and
//! reads what the server answers. With the `openapi` feature each derives
//! [`utoipa::ToSchema`], so that the server's OpenAPI document can refer to them.
//!
//! ```
//! use flag_sdk::wire::{DeleteData, SnapshotBody};
//! let snap: SnapshotBody = serde_json::from_str(
//!     r#"{"environment": "production", "version": 41, "flags": [{"key": "a", "enabled": true}]}"#,
//! ).unwrap();
//! assert_eq!(snap.version, 41);
//! let delete: DeleteData = serde_json::from_str(r#"{"key": "old_flag"}"#).unwrap();
//! assert_eq!(delete.key, "old_flag");
//! ```

mod admin;
mod flags;
mod releases;
mod sdk;
#[cfg(feature = "client")]
pub mod sse;

pub use admin::{client_headers, ClientInfo, ClientList};
pub use admin::{
    ApplyRequest, AuditAction, AuditEntry, AuditPage, EnvironmentInfo, EnvironmentList,
    FieldChange, FlagUpdate, IssuedSdkKey, NewSdkKey, Plan, Problem, PromoteAction, PromoteRequest,
    Promotion, RestoreCounts, SdkKeyInfo, SdkKeyList, SegmentPlan,
};
pub use flags::{FlagList, FlagUsage, SegmentList, StoredFlag};
pub use releases::{
    Guard, GuardCheck, GuardOp, ReleaseList, ReleasePlan, ReleaseRequest, ReleaseStatus,
    ScheduleList, ScheduleRequest, ScheduleStatus, ScheduledChange,
};
pub use sdk::{
    Counts, DeleteData, EvaluateRequest, EvaluateResponse, MetricsReport, PutData, SegmentPutData,
    SnapshotBody,
};
