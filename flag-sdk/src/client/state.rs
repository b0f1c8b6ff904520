//! The client's state: the current snapshot behind an `ArcSwap` (read without locks) and
//! the rules by which snapshots and stream events replace it, strictly in version order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::watch;

use super::status::StatusCell;
use super::usage::{next_table, CounterTable, Usage};
use crate::eval::Outcome as Decided;
use crate::wire::SnapshotBody;
use crate::{CompiledFlag, Context, Evaluation, Flag, Segment, Snapshot};

/// What evaluation reads: a compiled snapshot and the counters of its flags.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) counters: CounterTable,
    /// The snapshot came from the server (not from the backup file or an offline set). Kept
    /// with the snapshot, so that a reader never sees one without the other.
    pub(crate) from_server: bool,
}

/// Where a snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The server, in this process's lifetime.
    Server,
    /// The backup file or a fixed offline set.
    Local,
}

/// The outcome of applying a stream event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The state moved to the event's version.
    Applied,
    /// The event's version is not newer than the state: ignored.
    Stale,
    /// One or more versions are missing before this event: resynchronise.
    Gap,
}

/// State shared by the handles and the background tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    view: ArcSwap<View>,
    version_tx: watch::Sender<u64>,
    usage: Option<Usage>,
    /// True once the server has sent a snapshot in this process's lifetime: only then do
    /// stream events apply and is `Last-Event-ID` sent.
    live: AtomicBool,
    /// Serialises writers; readers never take it.
    write: Mutex<()>,
    /// Where the client stands with the server.
    pub(crate) status: StatusCell,
}

impl Shared {
    pub(crate) fn new(metrics: bool) -> Shared {
        Shared {
            view: ArcSwap::from_pointee(View::default()),
            version_tx: watch::channel(0).0,
            usage: metrics.then(Usage::new),
            live: AtomicBool::new(false),
            write: Mutex::new(()),
            status: StatusCell::new(),
        }
    }

    /// The current view, without locking or allocating.
    #[inline]
    pub(crate) fn view(&self) -> arc_swap::Guard<Arc<View>> {
        self.view.load()
    }

    pub(crate) fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.version_tx.subscribe()
    }

    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Answers for a flag from the snapshot in use (prerequisites and segments resolved in
    /// it), counting the evaluation as on or off; `None` for an unknown key (counted apart).
    #[inline]
    pub(crate) fn answer<R>(
        &self,
        key: &str,
        ctx: &Context,
        answer: impl FnOnce(&CompiledFlag, Decided<'_>) -> R,
    ) -> Option<R> {
        let view = self.view.load();
        match view.snapshot.decide_known(key, ctx, answer) {
            Some((r, on)) => {
                if let Some(c) = view.counters.get(key) {
                    c.record(on);
                }
                Some(r)
            }
            None => {
                if let Some(usage) = &self.usage {
                    usage.record_unknown(key);
                }
                None
            }
        }
    }

    /// Whether a flag is on, counted.
    #[inline]
    pub(crate) fn is_enabled(&self, key: &str, ctx: &Context) -> bool {
        let view = self.view.load();
        match view.snapshot.is_on_known(key, ctx) {
            Some(on) => {
                if let Some(c) = view.counters.get(key) {
                    c.record(on);
                }
                on
            }
            None => {
                if let Some(usage) = &self.usage {
                    usage.record_unknown(key);
                }
                false
            }
        }
    }

    /// A flag's evaluation with its reason, counted.
    #[inline]
    pub(crate) fn evaluate(&self, key: &str, ctx: &Context) -> Evaluation {
        self.answer(key, ctx, |f, out| f.evaluation(out))
            .unwrap_or_else(Evaluation::not_found)
    }

    fn install(&self, snapshot: Snapshot, from_server: bool) {
        let prev = self.view.load_full();
        let counters = match &self.usage {
            Some(usage) => next_table(
                &prev.counters,
                snapshot.flags().into_iter().map(|f| f.key.as_str()),
                usage,
            ),
            None => CounterTable::default(),
        };
        let version = snapshot.version();
        self.view.store(Arc::new(View {
            snapshot: Arc::new(snapshot),
            counters,
            from_server,
        }));
        self.version_tx.send_replace(version);
    }

    /// Replaces the state with a whole snapshot. From the server it is taken when the client
    /// is not live yet or when it is newer; a local one (backup file) only before the
    /// server has answered. Returns whether it was taken.
    pub(crate) fn apply_snapshot(&self, wire: SnapshotBody, origin: Origin) -> bool {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let prev = self.view.load_full();
        let live = self.is_live();
        let take = match origin {
            Origin::Local => !live,
            Origin::Server => !live || wire.version > prev.snapshot.version(),
        };
        if !take {
            if origin == Origin::Server && wire.version < prev.snapshot.version() {
                tracing::warn!(
                    received = wire.version,
                    current = prev.snapshot.version(),
                    "ignored a snapshot older than the current state"
                );
            }
            return false;
        }
        let mut flags = Vec::with_capacity(wire.flags.len());
        let mut rejected = Vec::new();
        for value in wire.flags {
            let key = value
                .get("key")
                .and_then(|k| k.as_str())
                .unwrap_or("")
                .to_owned();
            match Flag::from_value(value) {
                Ok(flag) => flags.push(flag),
                Err(e) => rejected.push((key, e.to_string())),
            }
        }
        let mut segments = Vec::with_capacity(wire.segments.len());
        for value in wire.segments {
            let key = value.get("key").and_then(|k| k.as_str()).map(str::to_owned);
            match Segment::from_value(value) {
                Ok(segment) => segments.push(segment),
                Err(e) => {
                    tracing::warn!(segment = ?key, problem = %e, "left out an invalid segment");
                    // Keep the last good version of that segment rather than dropping it.
                    if let Some(old) = key.as_deref().and_then(|k| prev.snapshot.segment(k)) {
                        segments.push(old.clone());
                    }
                }
            }
        }
        let mut next =
            Snapshot::compile_with_segments(&wire.environment, wire.version, flags, segments);
        for (key, message) in rejected {
            tracing::warn!(flag = %key, problem = %message, "left out an invalid flag");
            // Keep the last good version of that flag rather than dropping it.
            if let Some(old) = prev.snapshot.flag(&key) {
                if next.get(&key).is_none() {
                    next = next.with_put(old.clone(), wire.version);
                }
            }
        }
        if origin == Origin::Server {
            self.live.store(true, Ordering::Release);
        }
        self.install(next, origin == Origin::Server);
        self.status.data(origin == Origin::Server);
        true
    }

    /// Applies a `put` event at `version`.
    pub(crate) fn apply_put(&self, flag: Result<Flag, String>, key: &str, version: u64) -> Outcome {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let prev = self.view.load_full();
        match self.check_order(prev.snapshot.version(), version) {
            Outcome::Applied => {}
            other => return other,
        }
        let next = match flag {
            Ok(flag) => prev.snapshot.with_put(flag, version),
            Err(problem) => {
                tracing::warn!(flag = %key, %problem, "kept the previous version of an invalid flag");
                keep(
                    &prev.snapshot,
                    prev.snapshot.with_delete("", version),
                    key,
                    version,
                )
            }
        };
        self.install(next, true);
        Outcome::Applied
    }

    /// Applies a `delete` event at `version`.
    pub(crate) fn apply_delete(&self, key: &str, version: u64) -> Outcome {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let prev = self.view.load_full();
        match self.check_order(prev.snapshot.version(), version) {
            Outcome::Applied => {}
            other => return other,
        }
        self.install(prev.snapshot.with_delete(key, version), true);
        Outcome::Applied
    }

    /// Applies a `segment_put` event at `version` (an invalid segment keeps its previous
    /// version).
    pub(crate) fn apply_segment_put(&self, segment: serde_json::Value, version: u64) -> Outcome {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let prev = self.view.load_full();
        match self.check_order(prev.snapshot.version(), version) {
            Outcome::Applied => {}
            other => return other,
        }
        let next = match Segment::from_value(segment) {
            Ok(segment) => prev.snapshot.with_segment_put(segment, version),
            Err(e) => {
                tracing::warn!(problem = %e, "kept the previous version of an invalid segment");
                prev.snapshot.with_delete("", version)
            }
        };
        self.install(next, true);
        Outcome::Applied
    }

    /// Applies a `segment_delete` event at `version`.
    pub(crate) fn apply_segment_delete(&self, key: &str, version: u64) -> Outcome {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let prev = self.view.load_full();
        match self.check_order(prev.snapshot.version(), version) {
            Outcome::Applied => {}
            other => return other,
        }
        self.install(prev.snapshot.with_segment_delete(key, version), true);
        Outcome::Applied
    }

    fn check_order(&self, current: u64, version: u64) -> Outcome {
        if !self.is_live() {
            Outcome::Gap
        } else if version <= current {
            Outcome::Stale
        } else if version == current + 1 {
            Outcome::Applied
        } else {
            Outcome::Gap
        }
    }
}

/// `next` with `key` as it was in `prev` (or absent when `prev` did not have it).
fn keep(prev: &Snapshot, next: Snapshot, key: &str, version: u64) -> Snapshot {
    match prev.flag(key) {
        Some(old) => next.with_put(old.clone(), version),
        None => next.with_delete(key, version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(version: u64, flags: serde_json::Value) -> SnapshotBody {
        serde_json::from_value(serde_json::json!({
            "environment": "production", "version": version, "flags": flags
        }))
        .unwrap()
    }

    #[test]
    fn events_apply_in_order_only() {
        let s = Shared::new(true);
        assert!(s.apply_snapshot(
            wire(
                5,
                serde_json::json!([{"key": "a", "enabled": true, "percentage": 100}])
            ),
            Origin::Server
        ));
        assert!(s.is_enabled("a", &Context::new()));
        assert_eq!(s.apply_delete("a", 5), Outcome::Stale);
        assert_eq!(s.apply_delete("a", 7), Outcome::Gap);
        assert!(s.is_enabled("a", &Context::new()));
        assert_eq!(s.apply_delete("a", 6), Outcome::Applied);
        assert!(!s.is_enabled("a", &Context::new()));
        let b = Flag::on("b").unwrap();
        assert_eq!(s.apply_put(Ok(b), "b", 7), Outcome::Applied);
        assert!(s.is_enabled("b", &Context::new()));
        assert_eq!(*s.subscribe().borrow(), 7);
    }

    #[test]
    fn a_bad_flag_keeps_its_last_good_version() {
        let s = Shared::new(false);
        s.apply_snapshot(
            wire(
                1,
                serde_json::json!([{"key": "a", "enabled": true, "percentage": 100}]),
            ),
            Origin::Server,
        );
        let bad = Flag::from_value(serde_json::json!({"key": "a", "percentage": 250}))
            .map_err(|e| e.to_string());
        assert_eq!(s.apply_put(bad, "a", 2), Outcome::Applied);
        assert!(s.is_enabled("a", &Context::new()));
        assert_eq!(s.view().snapshot.version(), 2);
        // A whole snapshot with one bad flag keeps the good ones and the old version of the bad one.
        s.apply_snapshot(
            wire(3, serde_json::json!([{"key": "a", "percentage": "x"}, {"key": "b", "enabled": true, "percentage": 100}])),
            Origin::Server,
        );
        assert!(s.is_enabled("a", &Context::new()));
        assert!(s.is_enabled("b", &Context::new()));
    }

    #[test]
    fn local_snapshots_never_replace_live_state() {
        let s = Shared::new(false);
        assert_eq!(
            s.apply_put(Ok(Flag::on("a").unwrap()), "a", 1),
            Outcome::Gap,
            "events need a snapshot first"
        );
        assert!(s.apply_snapshot(wire(9, serde_json::json!([])), Origin::Local));
        assert!(!s.view().from_server, "a backup is not worth backing up");
        assert!(
            s.apply_snapshot(wire(2, serde_json::json!([])), Origin::Server),
            "the server wins over a backup"
        );
        assert!(s.view().from_server);
        assert!(!s.apply_snapshot(wire(9, serde_json::json!([])), Origin::Local));
        assert!(!s.apply_snapshot(wire(1, serde_json::json!([])), Origin::Server));
    }
}
