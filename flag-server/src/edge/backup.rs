//! The edge's backup file (`FLAG_UPSTREAM_BACKUP`): every environment held, as the snapshot
//! the SDK routes serve, which upstream key follows which environment (by the key's SHA-256),
//! and the application keys the upstream accepted (hashes only). Written atomically after
//! every change (changes that arrive during a write are written together next), read at start
//! for the environments whose upstream cannot be reached.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flag_sdk::wire::SnapshotBody;
use flag_sdk::{EnvName, Flag, Segment};
use serde::{Deserialize, Serialize};

use super::Edge;
use crate::auth::hash_secret;
use crate::store::SdkKeyRecord;

/// The backup file's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct BackupDoc {
    /// The upstream it came from (without credentials), for people.
    pub(super) upstream: String,
    /// The environment each upstream key follows, by the key's hex SHA-256.
    pub(super) sources: BTreeMap<String, EnvName>,
    /// Every environment held.
    pub(super) environments: Vec<SnapshotBody>,
    /// Application keys the upstream accepted.
    #[serde(default)]
    pub(super) sdk_keys: Vec<SdkKeyRecord>,
}

impl BackupDoc {
    /// The snapshot of the environment the upstream key with this hash followed.
    pub(super) fn environment_for(&self, key_hash: &str) -> Option<SnapshotBody> {
        let env = self.sources.get(key_hash)?;
        self.environments
            .iter()
            .find(|s| s.environment == env.as_str())
            .cloned()
    }
}

/// Reads a backup file; `None` (logged) when it is missing or unreadable.
pub(super) async fn read(path: PathBuf) -> Option<BackupDoc> {
    let shown = path.display().to_string();
    let read = tokio::task::spawn_blocking(move || match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<BackupDoc>(&bytes)
            .map(Some)
            .map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    })
    .await;
    match read {
        Ok(Ok(doc)) => doc,
        Ok(Err(problem)) => {
            tracing::warn!(path = %shown, %problem, "cannot read the edge's backup file; starting without it");
            None
        }
        Err(_) => None,
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed, renamed over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The document of what the edge holds now.
fn document(edge: &Edge) -> BackupDoc {
    let sources = (0..edge.upstream_keys.len())
        .filter_map(|i| {
            let env = edge.store.source_env(i)?;
            Some((hash_secret(&edge.upstream_keys[i]), env))
        })
        .collect();
    let environments = edge
        .store
        .states()
        .into_iter()
        .map(|s| SnapshotBody {
            environment: s.environment.to_string(),
            version: s.version,
            flags: s.flags.iter().map(Flag::to_value).collect(),
            segments: s.segments.iter().map(Segment::to_value).collect(),
        })
        .collect();
    let mut sdk_keys = edge.store.accepted_keys();
    sdk_keys.sort_by(|a, b| a.id.cmp(&b.id));
    BackupDoc {
        upstream: edge.shown.clone(),
        sources,
        environments,
        sdk_keys,
    }
}

/// Writes the backup file after every change until cancelled (nothing without a path).
pub(super) async fn writer(edge: &Edge) {
    let Some(path) = edge.backup_path.clone() else {
        return;
    };
    let mut revisions = edge.store.revisions();
    let mut failing = false;
    loop {
        if revisions.changed().await.is_err() {
            return;
        }
        revisions.borrow_and_update();
        let bytes = match serde_json::to_vec(&document(edge)) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cannot serialise the edge's backup");
                continue;
            }
        };
        let target = path.clone();
        match tokio::task::spawn_blocking(move || write_atomic(&target, &bytes)).await {
            Ok(Ok(())) => {
                if std::mem::take(&mut failing) {
                    tracing::info!(path = %path.display(), "the edge's backup file is written again");
                }
            }
            Ok(Err(e)) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write the edge's backup file");
                }
            }
            Err(_) => return,
        }
    }
}
