//! The write script's arguments and the change log's entries.

use flag_sdk::{Flag, FlagKey};
use redis::streams::StreamId;

use super::{id_version, RedisStore};
use crate::store::record::{
    corrupt, decode_flag, decode_segment, segment_json, stamped, FlagRecord,
};
use crate::store::{Change, ChangeEvent, ChangeMeta, Result, WriteOp};
use flag_sdk::EnvName;

/// The script arguments of one op: kind, key, expected, flag or segment JSON.
pub(super) fn op_args(op: &WriteOp, version_hint: &ChangeMeta) -> Result<[String; 4]> {
    let expected = |e: &Option<u64>| e.map(|v| v.to_string()).unwrap_or_default();
    Ok(match op {
        WriteOp::Create(flag) => {
            let flag = stamped(flag.clone(), 0, version_hint);
            [
                "c".into(),
                flag.key.as_str().into(),
                String::new(),
                flag_json(&flag)?,
            ]
        }
        WriteOp::Put { flag, expected: e } => {
            let flag = stamped(flag.clone(), 0, version_hint);
            [
                "p".into(),
                flag.key.as_str().into(),
                expected(e),
                flag_json(&flag)?,
            ]
        }
        WriteOp::Delete { key, expected: e } => {
            ["d".into(), key.as_str().into(), expected(e), String::new()]
        }
        WriteOp::PutSegment(segment) => [
            "s".into(),
            segment.key.as_str().into(),
            String::new(),
            segment_json(segment)?,
        ],
        WriteOp::DeleteSegment(key) => [
            "x".into(),
            key.as_str().into(),
            String::new(),
            String::new(),
        ],
    })
}

/// The flag's contract JSON, as the script wraps it into a [`FlagRecord`].
fn flag_json(flag: &Flag) -> Result<String> {
    serde_json::to_string(&FlagRecord::of(flag).flag).map_err(corrupt)
}

/// The change a successful op made at `version`.
pub(super) fn change_of(env: &EnvName, op: WriteOp, version: u64, meta: &ChangeMeta) -> Change {
    let event = match op {
        WriteOp::Create(flag) | WriteOp::Put { flag, .. } => ChangeEvent::Put {
            flag: stamped(flag, version, meta),
        },
        WriteOp::Delete { key, .. } => ChangeEvent::Delete { key },
        WriteOp::PutSegment(segment) => ChangeEvent::SegmentPut { segment },
        WriteOp::DeleteSegment(key) => ChangeEvent::SegmentDelete { key },
    };
    Change {
        environment: env.clone(),
        version,
        event,
    }
}

impl RedisStore {
    /// Decodes change-log entries of `env`.
    pub(super) fn changes(&self, env: &EnvName, ids: &[StreamId]) -> Result<Vec<Change>> {
        ids.iter()
            .map(|entry| {
                let version = id_version(&entry.id)?;
                let field = |name: &str| -> Result<String> {
                    entry
                        .get(name)
                        .ok_or_else(|| corrupt(format!("change without {name}")))
                };
                let key = || -> Result<FlagKey> { FlagKey::parse(field("key")?).map_err(corrupt) };
                let event = match entry.get::<String>("op").as_deref() {
                    Some("put") => ChangeEvent::Put {
                        flag: decode_flag(field("flag")?.as_bytes())?,
                    },
                    Some("delete") => ChangeEvent::Delete { key: key()? },
                    Some("sput") => ChangeEvent::SegmentPut {
                        segment: decode_segment(field("segment")?.as_bytes())?,
                    },
                    Some("sdelete") => ChangeEvent::SegmentDelete { key: key()? },
                    other => return Err(corrupt(format!("change-log op {other:?}"))),
                };
                Ok(Change {
                    environment: env.clone(),
                    version,
                    event,
                })
            })
            .collect()
    }
}
