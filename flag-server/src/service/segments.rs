//! Segment writes: create or replace, and delete (refused while a flag uses the segment).

use flag_sdk::{EnvName, FlagKey, Segment};

use super::references::{quoted, segment_users};
use super::{Result, Service, ServiceError};
use crate::store::{ChangeMeta, StoreError, WriteOp};

impl Service {
    /// Creates or replaces a segment: whether it was created.
    pub async fn put_segment(
        &self,
        env: &EnvName,
        segment: Segment,
        meta: &ChangeMeta,
    ) -> Result<bool> {
        let mut existed = false;
        self.write_checked(
            env,
            meta,
            |view| {
                existed = view.snapshot.segment(segment.key.as_str()).is_some();
                // A segment names no other segment or flag: nothing to check it against.
                Ok((vec![WriteOp::PutSegment(segment.clone())], None))
            },
            ServiceError::from,
        )
        .await?;
        tracing::info!(environment = %env, segment = %segment.key, actor = %meta.actor, "segment written");
        Ok(!existed)
    }

    /// Deletes a segment; [`ServiceError::InUse`] naming the flags whose conditions use it.
    pub async fn delete_segment(
        &self,
        env: &EnvName,
        key: &FlagKey,
        meta: &ChangeMeta,
    ) -> Result<()> {
        let not_found = || ServiceError::SegmentNotFound {
            env: env.clone(),
            key: key.to_string(),
        };
        self.write_checked(
            env,
            meta,
            |view| {
                if view.snapshot.segment(key.as_str()).is_none() {
                    return Err(not_found());
                }
                let flags = view.snapshot.flags();
                let users = segment_users(flags.iter().map(|f| &f.spec), key.as_str());
                if !users.is_empty() {
                    return Err(ServiceError::InUse(format!(
                        "segment {:?} is used by the conditions of flag(s) {}: change those first",
                        key.as_str(),
                        quoted(&users)
                    )));
                }
                Ok((
                    vec![WriteOp::DeleteSegment(key.clone())],
                    Some(view.version),
                ))
            },
            |e| match e {
                StoreError::SegmentNotFound(_) => not_found(),
                e => e.into(),
            },
        )
        .await?;
        tracing::info!(environment = %env, segment = %key, actor = %meta.actor, "segment deleted");
        Ok(())
    }
}
