//! The SDK keys the hub holds, by the SHA-256 of their secret.

use std::sync::Arc;

use super::{Hub, KeyMap, Notice};
use crate::store::SdkKeyRecord;

impl Hub {
    /// The SDK key whose secret has this hex SHA-256.
    pub fn sdk_key(&self, hash: &str) -> Option<Arc<SdkKeyRecord>> {
        self.keys.load().get(hash).cloned()
    }

    /// The SDK key with this id, when it is valid.
    pub fn sdk_key_by_id(&self, id: &str) -> Option<Arc<SdkKeyRecord>> {
        self.keys.load().values().find(|k| k.id == id).cloned()
    }

    /// Whether the SDK key with this id is still valid.
    pub fn sdk_key_active(&self, id: &str) -> bool {
        self.keys.load().values().any(|k| k.id == id)
    }

    /// Remembers a key just issued through this instance.
    pub fn key_added(&self, key: SdkKeyRecord) {
        self.update_keys(|map| {
            map.insert(key.hash.clone(), Arc::new(key));
        });
    }

    /// Forgets a revoked key (through this instance or, by its event, another) and tells its
    /// streams.
    pub fn key_revoked(&self, id: &str) {
        self.revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned());
        let mut gone = Vec::new();
        self.update_keys(|map| {
            map.retain(|_, k| {
                let keep = k.id != id;
                if !keep {
                    gone.push(k.clone());
                }
                keep
            })
        });
        for k in gone {
            let _ = self.notices.send(Notice::KeyRevoked {
                id: k.id.clone(),
                environment: k.environment.clone(),
            });
        }
    }

    pub(super) fn update_keys(&self, f: impl FnOnce(&mut KeyMap)) {
        let _guard = self.keys_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = KeyMap::clone(&self.keys.load());
        f(&mut map);
        self.keys.store(Arc::new(map));
    }

    /// Adds keys read from the store that are not known here, except revoked ones.
    pub(super) fn merge_keys(&self, keys: Vec<SdkKeyRecord>) {
        let revoked = self
            .revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let known = self.keys.load();
        let fresh: Vec<SdkKeyRecord> = keys
            .into_iter()
            .filter(|k| !known.contains_key(&k.hash) && !revoked.contains(&k.id))
            .collect();
        if fresh.is_empty() {
            return;
        }
        self.update_keys(|map| {
            for k in fresh {
                map.insert(k.hash.clone(), Arc::new(k));
            }
        });
    }
}

pub(super) fn key_map(keys: Vec<SdkKeyRecord>) -> KeyMap {
    keys.into_iter()
        .map(|k| (k.hash.clone(), Arc::new(k)))
        .collect()
}
