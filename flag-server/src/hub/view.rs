//! One environment's state in memory ([`EnvView`]) and its publication slot.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;
use flag_sdk::{EnvName, Flag, Segment, Snapshot};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use super::CHANNEL_CAPACITY;
use crate::store::{Change, EnvState, Result, StoreError};

/// One environment at one version, as served to SDKs.
#[derive(Debug)]
pub struct EnvView {
    /// The environment.
    pub environment: EnvName,
    /// Its version.
    pub version: u64,
    /// The compiled flags.
    pub snapshot: Snapshot,
    /// `{"environment","version","flags"}` (and `"segments"` when there are any), serialized once.
    pub body: Bytes,
    /// The `ETag` of `body`: `"<version>-<16 hex digits of its SHA-256>"`. The digest part
    /// keeps an environment that was deleted and created again (whose versions start over)
    /// from answering 304 to a client holding the old incarnation's snapshot.
    pub etag: String,
    /// The flag keys, sorted (so that evaluating all flags needs no sort per request).
    pub keys: Vec<Box<str>>,
}

/// Writes a [`flag_sdk::wire::SnapshotBody`] from borrowed flags (the wire type holds each
/// flag as a JSON value), once per version; a test checks it is the wire type's JSON.
#[derive(Serialize)]
struct SnapshotEncoder<'a> {
    environment: &'a str,
    version: u64,
    flags: Vec<&'a Flag>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    segments: Vec<&'a Segment>,
}

impl EnvView {
    pub(super) fn new(environment: EnvName, version: u64, snapshot: Snapshot) -> EnvView {
        let flags = snapshot.flags();
        let keys = flags.iter().map(|f| f.key.as_str().into()).collect();
        let body = serde_json::to_vec(&SnapshotEncoder {
            environment: environment.as_str(),
            version,
            flags,
            segments: snapshot.segments(),
        })
        .unwrap_or_default();
        EnvView {
            keys,
            etag: format!(
                "\"{version}-{}\"",
                &hex::encode(Sha256::digest(&body))[..16]
            ),
            environment,
            version,
            snapshot,
            body: Bytes::from(body),
        }
    }

    pub(super) fn from_state(state: EnvState) -> EnvView {
        let snapshot = Snapshot::compile_with_segments(
            state.environment.as_str(),
            state.version,
            state.flags,
            state.segments,
        );
        EnvView::new(state.environment, state.version, snapshot)
    }

    /// The flags, sorted by key.
    pub fn flags(&self) -> Vec<&Flag> {
        self.snapshot.flags()
    }
}

/// Something a stream should know about besides flag changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The environment was deleted: its streams end.
    EnvironmentDeleted(EnvName),
    /// The SDK key was revoked: streams opened with it end.
    KeyRevoked {
        /// The key's id.
        id: String,
        /// Its environment.
        environment: EnvName,
    },
}

pub(super) struct EnvSlot {
    pub(super) view: ArcSwap<EnvView>,
    /// Publication: swapping the view and sending its changes happen under this lock, and so
    /// does subscription. `None` once the environment is gone.
    publish: Mutex<Option<broadcast::Sender<Arc<Change>>>>,
    /// Serialises appliers (handlers and the follower), across store round trips.
    pub(super) apply: tokio::sync::Mutex<()>,
}

impl EnvSlot {
    pub(super) fn new(view: EnvView) -> EnvSlot {
        EnvSlot {
            view: ArcSwap::from_pointee(view),
            publish: Mutex::new(Some(broadcast::channel(CHANNEL_CAPACITY).0)),
            apply: tokio::sync::Mutex::new(()),
        }
    }

    pub(super) fn lock_publish(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<broadcast::Sender<Arc<Change>>>> {
        self.publish.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Installs a view and sends the changes that lead to it, atomically for subscribers.
    pub(super) fn publish(&self, view: EnvView, changes: Vec<Arc<Change>>) {
        let guard = self.lock_publish();
        self.view.store(Arc::new(view));
        if let Some(tx) = guard.as_ref() {
            for c in changes {
                // No receiver is not an error.
                let _ = tx.send(c);
            }
        }
    }

    /// Installs a view that does not follow from the previous one by changes: receivers end.
    pub(super) fn reset(&self, view: EnvView) {
        let mut guard = self.lock_publish();
        self.view.store(Arc::new(view));
        if guard.is_some() {
            *guard = Some(broadcast::channel(CHANNEL_CAPACITY).0);
        }
    }

    pub(super) fn close(&self) {
        self.lock_publish().take();
    }
}

impl super::Hub {
    /// [`subscribe`](Self::subscribe), loading the environment from the store first when this
    /// instance does not hold it yet (a stream opened on an instance that never served it).
    pub async fn subscribe_loaded(
        &self,
        env: &EnvName,
    ) -> Result<(Arc<EnvView>, broadcast::Receiver<Arc<Change>>)> {
        if let Some(s) = self.subscribe(env.as_str()) {
            return Ok(s);
        }
        self.view_or_load(env).await?;
        self.subscribe(env.as_str())
            .ok_or_else(|| StoreError::EnvNotFound(env.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_wire_snapshot() {
        let flags = vec![Flag::on("a").unwrap(), Flag::off("b").unwrap()];
        let env = EnvName::parse("production").unwrap();
        let view = EnvView::new(
            env.clone(),
            7,
            Snapshot::compile(env.as_str(), 7, flags.clone()),
        );
        let wire = flag_sdk::wire::SnapshotBody {
            environment: "production".into(),
            version: 7,
            flags: flags
                .iter()
                .map(|f| serde_json::to_value(f).unwrap())
                .collect(),
            segments: Vec::new(),
        };
        let ours: serde_json::Value = serde_json::from_slice(&view.body).unwrap();
        assert_eq!(ours, serde_json::to_value(&wire).unwrap());
        let read: flag_sdk::wire::SnapshotBody = serde_json::from_slice(&view.body).unwrap();
        assert_eq!(read, wire);
    }
}
