//! One atomic batch of writes (flags and segments) in a redb transaction, and the change log.

use flag_sdk::{EnvName, FlagKey};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{db_err, env_end, env_version_w, trim, AUDIT, ENVS, FLAGS, LOG, SEGMENTS};
use crate::store::record::{
    corrupt, decode, decode_segment, decode_segment_value, encode, env_changed, env_not_found,
    flag_exists, flag_not_found, segment_not_found, stale, stamped, AuditRecord, FlagRecord,
    MetaRecord,
};
use crate::store::{
    AuditAction, Change, ChangeEvent, ChangeMeta, EnvState, Limits, Result, WriteOp,
};

/// One change-log entry as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum LogRecord {
    Put { flag: FlagRecord },
    Delete { key: String },
    SegmentPut { segment: serde_json::Value },
    SegmentDelete { key: String },
}

type Table<'t> = redb::Table<'t, (&'static str, &'static str), &'static [u8]>;

/// What one op wrote: its audit entry (without version and meta), log record and event.
struct Written {
    action: AuditAction,
    before: Option<FlagRecord>,
    after: Option<FlagRecord>,
    segment_before: Option<serde_json::Value>,
    segment_after: Option<serde_json::Value>,
    log: LogRecord,
    event: ChangeEvent,
}

/// Applies one batch inside a write transaction (see `Store::write_at`).
pub(super) fn apply(
    txn: &WriteTransaction,
    env: &EnvName,
    at: Option<u64>,
    ops: Vec<WriteOp>,
    meta: &ChangeMeta,
    limits: Limits,
) -> Result<Vec<Change>> {
    let e = env.as_str();
    let base = env_version_w(txn, e)?.ok_or_else(|| env_not_found(env))?;
    if let Some(at) = at.filter(|at| *at != base) {
        return Err(env_changed(at, base));
    }
    let mut flags = txn.open_table(FLAGS).map_err(db_err)?;
    let mut segments = txn.open_table(SEGMENTS).map_err(db_err)?;
    let mut log = txn.open_table(LOG).map_err(db_err)?;
    let mut audit = txn.open_table(AUDIT).map_err(db_err)?;
    let meta_rec = MetaRecord::from(meta);
    let mut changes = Vec::with_capacity(ops.len());
    let mut version = base;
    for op in ops {
        version += 1;
        let key = op.key().as_str().to_owned();
        let w = match op {
            WriteOp::PutSegment(_) | WriteOp::DeleteSegment(_) => segment_op(&mut segments, e, op)?,
            op => flag_op(&mut flags, e, op, version, meta)?,
        };
        log.insert((e, version), encode(&w.log)?.as_slice())
            .map_err(db_err)?;
        let entry = AuditRecord {
            version,
            action: w.action,
            key: Some(key),
            meta: meta_rec.clone(),
            before: w.before,
            after: w.after,
            restored: None,
            segment_before: w.segment_before,
            segment_after: w.segment_after,
        };
        audit
            .insert((e, version), encode(&entry)?.as_slice())
            .map_err(db_err)?;
        changes.push(Change {
            environment: env.clone(),
            version,
            event: w.event,
        });
    }
    if version == base {
        return Ok(changes);
    }
    let mut envs = txn.open_table(super::ENVS).map_err(db_err)?;
    envs.insert(e, version).map_err(db_err)?;
    trim(&mut log, e, version, limits.change_log_len)?;
    trim(&mut audit, e, version, limits.audit_len)?;
    Ok(changes)
}

fn flag_op(
    flags: &mut Table<'_>,
    e: &str,
    op: WriteOp,
    version: u64,
    meta: &ChangeMeta,
) -> Result<Written> {
    let key = op.key().clone();
    let before: Option<FlagRecord> = flags
        .get((e, key.as_str()))
        .map_err(db_err)?
        .map(|g| decode(g.value()))
        .transpose()?;
    let expected = match &op {
        WriteOp::Create(_) => {
            if before.is_some() {
                return Err(flag_exists(key.as_str()));
            }
            None
        }
        WriteOp::Put { expected, .. } | WriteOp::Delete { expected, .. } => *expected,
        _ => None,
    };
    match (&before, expected) {
        (None, Some(_)) => return Err(flag_not_found(key.as_str())),
        (None, None) if matches!(op, WriteOp::Delete { .. }) => {
            return Err(flag_not_found(key.as_str()))
        }
        (Some(b), Some(x)) if b.version != x => return Err(stale(key.as_str(), b.version, x)),
        _ => {}
    }
    Ok(match op {
        WriteOp::Create(flag) | WriteOp::Put { flag, .. } => {
            let flag = stamped(flag, version, meta);
            let rec = FlagRecord::of(&flag);
            flags
                .insert((e, key.as_str()), encode(&rec)?.as_slice())
                .map_err(db_err)?;
            let action = if before.is_some() {
                AuditAction::Update
            } else {
                AuditAction::Create
            };
            Written {
                action,
                before,
                after: Some(rec.clone()),
                segment_before: None,
                segment_after: None,
                log: LogRecord::Put { flag: rec },
                event: ChangeEvent::Put { flag },
            }
        }
        _ => {
            flags.remove((e, key.as_str())).map_err(db_err)?;
            Written {
                action: AuditAction::Delete,
                before,
                after: None,
                segment_before: None,
                segment_after: None,
                log: LogRecord::Delete {
                    key: key.as_str().to_owned(),
                },
                event: ChangeEvent::Delete { key },
            }
        }
    })
}

fn segment_op(segments: &mut Table<'_>, e: &str, op: WriteOp) -> Result<Written> {
    let key = op.key().clone();
    let before: Option<serde_json::Value> = segments
        .get((e, key.as_str()))
        .map_err(db_err)?
        .map(|g| decode(g.value()))
        .transpose()?;
    Ok(match op {
        WriteOp::PutSegment(segment) => {
            let value = segment.to_value();
            segments
                .insert((e, key.as_str()), encode(&value)?.as_slice())
                .map_err(db_err)?;
            let action = if before.is_some() {
                AuditAction::SegmentUpdate
            } else {
                AuditAction::SegmentCreate
            };
            Written {
                action,
                before: None,
                after: None,
                segment_before: before,
                segment_after: Some(value.clone()),
                log: LogRecord::SegmentPut { segment: value },
                event: ChangeEvent::SegmentPut { segment },
            }
        }
        _ => {
            if before.is_none() {
                return Err(segment_not_found(key.as_str()));
            }
            segments.remove((e, key.as_str())).map_err(db_err)?;
            Written {
                action: AuditAction::SegmentDelete,
                before: None,
                after: None,
                segment_before: before,
                segment_after: None,
                log: LogRecord::SegmentDelete {
                    key: key.as_str().to_owned(),
                },
                event: ChangeEvent::SegmentDelete { key },
            }
        }
    })
}

/// Reads the changes of `env` after `after` from the log.
pub(super) fn read_log(
    log: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    env: &EnvName,
    after: u64,
) -> Result<Vec<Change>> {
    let e = env.as_str();
    let mut out = Vec::new();
    for item in log.range((e, after + 1)..=(e, u64::MAX)).map_err(db_err)? {
        let (k, v) = item.map_err(db_err)?;
        let version = k.value().1;
        let event = match decode::<LogRecord>(v.value())? {
            LogRecord::Put { flag } => ChangeEvent::Put {
                flag: flag.into_flag()?,
            },
            LogRecord::Delete { key } => ChangeEvent::Delete {
                key: FlagKey::parse(key).map_err(corrupt)?,
            },
            LogRecord::SegmentPut { segment } => ChangeEvent::SegmentPut {
                segment: decode_segment_value(segment)?,
            },
            LogRecord::SegmentDelete { key } => ChangeEvent::SegmentDelete {
                key: FlagKey::parse(key).map_err(corrupt)?,
            },
        };
        out.push(Change {
            environment: env.clone(),
            version,
            event,
        });
    }
    Ok(out)
}

/// The segments of `env`, sorted by key.
pub(super) fn read_segments(
    table: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    e: &str,
) -> Result<Vec<flag_sdk::Segment>> {
    let end = super::env_end(e);
    let mut out = Vec::new();
    for item in table.range((e, "")..(end.as_str(), "")).map_err(db_err)? {
        let (_, v) = item.map_err(db_err)?;
        out.push(decode_segment(v.value())?);
    }
    Ok(out)
}

/// Writes an environment's state back (see `Store::restore_environment`).
pub(super) fn restore(
    txn: &WriteTransaction,
    state: &EnvState,
    sdk_keys: u64,
    meta: &ChangeMeta,
    limits: Limits,
) -> Result<bool> {
    let e = state.environment.as_str();
    let end = env_end(e);
    if env_version_w(txn, e)?.is_some_and(|v| v >= state.version) {
        return Ok(false);
    }
    let mut flags = txn.open_table(FLAGS).map_err(db_err)?;
    flags
        .retain_in((e, "")..(end.as_str(), ""), |_, _| false)
        .map_err(db_err)?;
    for flag in &state.flags {
        flags
            .insert(
                (e, flag.key.as_str()),
                encode(&FlagRecord::of(flag))?.as_slice(),
            )
            .map_err(db_err)?;
    }
    let mut segments = txn.open_table(SEGMENTS).map_err(db_err)?;
    segments
        .retain_in((e, "")..(end.as_str(), ""), |_, _| false)
        .map_err(db_err)?;
    for segment in &state.segments {
        segments
            .insert(
                (e, segment.key.as_str()),
                encode(&segment.to_value())?.as_slice(),
            )
            .map_err(db_err)?;
    }
    let mut log = txn.open_table(LOG).map_err(db_err)?;
    log.retain_in((e, 0u64)..=(e, u64::MAX), |_, _| false)
        .map_err(db_err)?;
    let mut audit = txn.open_table(AUDIT).map_err(db_err)?;
    let entry = AuditRecord::restore(state.version, meta, state, sdk_keys);
    audit
        .insert((e, state.version), encode(&entry)?.as_slice())
        .map_err(db_err)?;
    trim(&mut audit, e, state.version, limits.audit_len)?;
    let mut envs = txn.open_table(ENVS).map_err(db_err)?;
    envs.insert(e, state.version).map_err(db_err)?;
    Ok(true)
}
