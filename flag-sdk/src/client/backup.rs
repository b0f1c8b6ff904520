//! The backup file: the last flags received from the server, written atomically after each
//! change and read at start when the server cannot be reached.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use super::state::Shared;
use crate::wire::SnapshotBody;
use crate::Flag;

/// Reads a backup file; `None` (logged) when it is missing or unreadable.
pub(crate) async fn read(path: PathBuf) -> Option<SnapshotBody> {
    let read = tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        serde_json::from_slice::<SnapshotBody>(&bytes).map_err(|e| e.to_string())
    })
    .await;
    match read {
        Ok(Ok(doc)) => Some(doc),
        Ok(Err(problem)) => {
            tracing::warn!(%problem, "cannot read the flag backup file");
            None
        }
        Err(_) => None,
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over the target.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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

/// Writes the backup whenever the version changes with data from the server; consecutive
/// changes that arrive while a write is running are written once.
pub(crate) async fn writer(
    shared: Arc<Shared>,
    path: PathBuf,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut versions = shared.subscribe();
    // The first snapshot may have arrived before this task subscribed: look at once.
    versions.mark_changed();
    let mut written: Option<u64> = None;
    loop {
        tokio::select! {
            changed = versions.changed() => if changed.is_err() { return },
            _ = shutdown.wait_for(|s| *s) => return,
        }
        // Only flags from the server are worth keeping (checked on the view itself: the
        // snapshot and where it came from are published together).
        let view = shared.view();
        if !view.from_server {
            continue;
        }
        let version = view.snapshot.version();
        if written == Some(version) {
            continue;
        }
        let doc = SnapshotBody {
            environment: view.snapshot.environment().to_owned(),
            version,
            flags: view
                .snapshot
                .flags()
                .into_iter()
                .map(Flag::to_value)
                .collect(),
            segments: view
                .snapshot
                .segments()
                .into_iter()
                .map(crate::Segment::to_value)
                .collect(),
        };
        let bytes = match serde_json::to_vec_pretty(&doc) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cannot serialise the flag backup");
                continue;
            }
        };
        drop(view);
        let target = path.clone();
        match tokio::task::spawn_blocking(move || write_atomic(&target, &bytes)).await {
            Ok(Ok(())) => written = Some(version),
            Ok(Err(e)) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the flag backup file")
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_whole_file() {
        let dir = std::env::temp_dir().join(format!("flag-sdk-backup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flags.json");
        write_atomic(&path, b"first version, longer").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_backup_of_an_earlier_client_loads() {
        // As the client wrote it before `wire::SnapshotBody` (flags with the server's fields).
        let old = br#"{
  "environment": "production",
  "version": 42,
  "flags": [
    {"key": "a", "description": "", "enabled": true, "rules": [], "percentage": 25.0,
     "stickiness": "user_id", "salt": "a", "tags": [], "owner": null, "expires_at": null,
     "version": 41, "updated_at": "2026-11-28T17:00:00Z", "updated_by": "admin"}
  ]
}"#;
        let dir = std::env::temp_dir().join(format!("flag-sdk-old-backup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flags.json");
        std::fs::write(&path, old).unwrap();
        let doc = read(path).await.expect("readable");
        assert_eq!((doc.environment.as_str(), doc.version), ("production", 42));
        let shared = Shared::new(false);
        assert!(shared.apply_snapshot(doc, super::super::state::Origin::Local));
        assert_eq!(shared.view().snapshot.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
