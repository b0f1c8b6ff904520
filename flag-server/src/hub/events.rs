//! Environments and SDK keys made or removed elsewhere: the store's event log, and SDK keys
//! looked up in the store when they are unknown here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::Hub;
use crate::store::{EventCursor, SdkKeyRecord, StoreEvent};
use crate::store::{Result, StoreError};

/// The shortest time between two reads of the SDK keys for unknown keys: a flood of bad keys
/// costs the store at most ten reads a second.
const LOOKUP_GAP: Duration = Duration::from_millis(100);
/// How long a key the store did not have is refused without asking again.
const REFUSED_FOR: Duration = Duration::from_secs(1);
/// At most this many refused keys are remembered.
const REFUSED_MAX: usize = 10_000;

/// State of the lookups of unknown SDK keys.
#[derive(Debug, Default)]
pub(super) struct KeyLookups {
    /// When the last read of the keys started; held while a read runs, so reads never overlap.
    last_read: tokio::sync::Mutex<Option<Instant>>,
    /// Hashes the store did not have, and when that was found.
    refused: Mutex<HashMap<String, Instant>>,
}

impl KeyLookups {
    fn recently_refused(&self, hash: &str, now: Instant) -> bool {
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        refused
            .get(hash)
            .is_some_and(|at| now.duration_since(*at) < REFUSED_FOR)
    }

    fn refuse(&self, hash: &str) {
        let now = Instant::now();
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        if refused.len() >= REFUSED_MAX {
            refused.retain(|_, at| now.duration_since(*at) < REFUSED_FOR);
            if refused.len() >= REFUSED_MAX {
                refused.clear();
            }
        }
        refused.insert(hash.to_owned(), now);
    }
}

impl Hub {
    /// The SDK key whose secret has this hex SHA-256: from memory, or else from the store (a
    /// key issued through another instance a moment ago), which then adds it here.
    ///
    /// Reads of the store never overlap, are at least 100 ms apart, and serve every request
    /// that arrived before they started; a key the store did not have is refused from memory
    /// for a second. [`StoreError::Unavailable`] when the store cannot be asked.
    pub async fn sdk_key_or_lookup(&self, hash: &str) -> Result<Option<Arc<SdkKeyRecord>>> {
        if let Some(k) = self.sdk_key(hash) {
            return Ok(Some(k));
        }
        let arrived = Instant::now();
        if self.lookups.recently_refused(hash, arrived) {
            return Ok(None);
        }
        let mut last_read = self.lookups.last_read.lock().await;
        if let Some(k) = self.sdk_key(hash) {
            return Ok(Some(k));
        }
        if let Some(at) = *last_read {
            if at >= arrived {
                // A read that started after this request arrived did not find it.
                self.lookups.refuse(hash);
                return Ok(None);
            }
            tokio::time::sleep_until(at + LOOKUP_GAP).await;
        }
        let started = Instant::now();
        let keys = self.store.list_sdk_keys().await?;
        *last_read = Some(started);
        self.merge_keys(keys);
        drop(last_read);
        match self.sdk_key(hash) {
            Some(k) => Ok(Some(k)),
            None => {
                self.lookups.refuse(hash);
                Ok(None)
            }
        }
    }

    /// Waits up to `timeout` for events after the hub's cursor and applies them; returns how
    /// many were applied.
    pub async fn follow_events(&self, timeout: Duration) -> Result<usize> {
        let cursor = self.event_cursor();
        let events = self.store.wait_for_events(&cursor, timeout).await?;
        let n = events.len();
        self.apply_events(events).await?;
        Ok(n)
    }

    fn event_cursor(&self) -> EventCursor {
        self.event_cursor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies events in order, moving the cursor past each one applied. An environment is
    /// forgotten here only by its deletion event, a key only by its revocation event.
    pub async fn apply_events(&self, events: Vec<(EventCursor, StoreEvent)>) -> Result<()> {
        for (cursor, event) in events {
            match event {
                StoreEvent::EnvironmentCreated { environment } => {
                    let known = self.view(environment.as_str()).is_some();
                    match self.view_or_load(&environment).await {
                        Ok(_) if !known => {
                            tracing::info!(%environment, "environment created elsewhere")
                        }
                        Ok(_) => {}
                        // Deleted again since; its deletion event follows.
                        Err(StoreError::EnvNotFound(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                StoreEvent::EnvironmentDeleted { environment } => {
                    if self.view(environment.as_str()).is_some() {
                        tracing::info!(%environment, "environment deleted elsewhere");
                    }
                    self.environment_deleted(&environment).await;
                }
                StoreEvent::SdkKeyCreated { key } => self.merge_keys(vec![key]),
                StoreEvent::SdkKeyRevoked { id, .. } => self.key_revoked(&id),
                StoreEvent::Restored { environments } => {
                    for env in environments {
                        let outcome = if self.view(env.as_str()).is_some() {
                            self.sync(&env).await
                        } else {
                            self.view_or_load(&env).await.map(|_| ())
                        };
                        match outcome {
                            Ok(()) | Err(StoreError::EnvNotFound(_)) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            let mut at = self.event_cursor.lock().unwrap_or_else(|p| p.into_inner());
            // Two callers may apply the same events (the follower, and a check of a store
            // that is behind): the cursor only moves forward.
            if cursor_order(&cursor) > cursor_order(&at) {
                *at = cursor;
            }
        }
        Ok(())
    }
}

/// The order of event cursors: Redis stream ids (`<ms>-<seq>`) and plain numbers alike.
fn cursor_order(cursor: &str) -> (u64, u64) {
    let (a, b) = cursor.split_once('-').unwrap_or((cursor, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::cursor_order;

    #[test]
    fn cursors_order_like_stream_ids() {
        assert!(cursor_order("1700000000000-1") > cursor_order("1700000000000-0"));
        assert!(cursor_order("1700000000001-0") > cursor_order("1700000000000-9"));
        assert!(cursor_order("10") > cursor_order("9"));
        assert!(cursor_order("0-0") < cursor_order("1"));
    }
}
