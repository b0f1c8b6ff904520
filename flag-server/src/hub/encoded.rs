//! Recently published changes with their encoded form (the stream's event), shared by every
//! subscriber of this hub: a change fanned out to thousands of streams is encoded once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::Hub;
use crate::store::Change;

/// Entries kept.
const KEPT: usize = 64;

/// The last [`KEPT`] changes encoded, newest last. Entries hold their `Arc<Change>`, so identity
/// (`Arc::ptr_eq`) cannot be confused with a later change.
#[derive(Default)]
pub(super) struct EncodedChanges(Mutex<VecDeque<(Arc<Change>, Bytes)>>);

impl EncodedChanges {
    /// The encoded form of `change`, made by `encode` unless it was made already.
    pub(super) fn get_or_encode(
        &self,
        change: &Arc<Change>,
        encode: impl FnOnce(&Change) -> Bytes,
    ) -> Bytes {
        let lookup = |events: &VecDeque<(Arc<Change>, Bytes)>| {
            events
                .iter()
                .rev()
                .find(|(c, _)| Arc::ptr_eq(c, change))
                .map(|(_, b)| b.clone())
        };
        if let Some(b) = lookup(&self.0.lock().unwrap_or_else(|p| p.into_inner())) {
            return b;
        }
        let bytes = encode(change);
        let mut events = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = lookup(&events) {
            return b;
        }
        events.push_back((change.clone(), bytes.clone()));
        if events.len() > KEPT {
            events.pop_front();
        }
        bytes
    }
}

impl Hub {
    /// The encoded form of a change received from [`Hub::subscribe`] (its stream event), made
    /// by `encode` once for every subscriber of the recent changes.
    pub fn encoded_change(
        &self,
        change: &Arc<Change>,
        encode: impl FnOnce(&Change) -> Bytes,
    ) -> Bytes {
        self.encoded.get_or_encode(change, encode)
    }
}
