//! Evaluation counts: lock-free, allocation-free counting on the hot path, and the
//! background report to `POST /api/v1/sdk/metrics`.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, SubsecRound, Utc};
use rustc_hash::{FxHashMap, FxHasher};

use crate::wire::{Counts, MetricsReport as Report};

/// Counts of one flag since the last report.
#[derive(Debug, Default)]
pub(crate) struct FlagCounter {
    yes: AtomicU64,
    no: AtomicU64,
}

impl FlagCounter {
    #[inline]
    pub(crate) fn record(&self, enabled: bool) {
        let c = if enabled { &self.yes } else { &self.no };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn take(&self) -> (u64, u64) {
        (
            self.yes.swap(0, Ordering::Relaxed),
            self.no.swap(0, Ordering::Relaxed),
        )
    }
}

/// Counters of the flags of one snapshot, keyed like its flags.
pub(crate) type CounterTable = FxHashMap<Box<str>, Arc<FlagCounter>>;

const UNKNOWN_SLOTS: usize = 64;
const UNKNOWN_PROBES: usize = 8;

#[derive(Debug, Default)]
struct UnknownSlot {
    key: OnceLock<Box<str>>,
    count: AtomicU64,
}

/// Everything the reporter needs besides the current snapshot's table.
#[derive(Debug)]
pub(crate) struct Usage {
    /// Evaluations of keys that are not in the snapshot, in a fixed open-addressed table:
    /// a key's name is allocated once, the first time it is seen; later counts only add.
    unknown: Box<[UnknownSlot]>,
    /// Counters of flags deleted since the last report, so their counts are not lost.
    retired: Mutex<Vec<(Box<str>, Arc<FlagCounter>)>>,
    period_start: Mutex<DateTime<Utc>>,
}

impl Usage {
    pub(crate) fn new() -> Usage {
        Usage {
            unknown: (0..UNKNOWN_SLOTS).map(|_| UnknownSlot::default()).collect(),
            retired: Mutex::new(Vec::new()),
            period_start: Mutex::new(Utc::now()),
        }
    }

    /// Counts an evaluation of a key the snapshot does not have (always `false`).
    #[inline]
    pub(crate) fn record_unknown(&self, key: &str) {
        let mut h = FxHasher::default();
        key.hash(&mut h);
        let start = h.finish() as usize;
        for i in 0..UNKNOWN_PROBES {
            let slot = &self.unknown[(start + i) % UNKNOWN_SLOTS];
            let name = match slot.key.get() {
                Some(name) => name,
                None => slot.key.get_or_init(|| key.into()),
            };
            if &**name == key {
                slot.count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        // More distinct unknown keys than the table holds: not counted.
    }

    /// Keeps the counts of flags that left the snapshot until the next report.
    pub(crate) fn retire(&self, key: &str, counter: Arc<FlagCounter>) {
        if let Ok(mut retired) = self.retired.lock() {
            retired.push((key.into(), counter));
        }
    }

    /// Takes every count since the last call; `None` when nothing was evaluated.
    pub(crate) fn take_report(&self, current: &CounterTable) -> Option<Report> {
        let now = Utc::now();
        let start = match self.period_start.lock() {
            Ok(mut start) => std::mem::replace(&mut *start, now),
            Err(_) => now,
        };
        let mut flags: BTreeMap<String, Counts> = BTreeMap::new();
        let mut add = |key: &str, yes: u64, no: u64| {
            if yes > 0 || no > 0 {
                let c = flags.entry(key.to_owned()).or_default();
                c.yes += yes;
                c.no += no;
            }
        };
        for (key, counter) in current {
            let (yes, no) = counter.take();
            add(key, yes, no);
        }
        let retired = self
            .retired
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        for (key, counter) in &retired {
            let (yes, no) = counter.take();
            add(key, yes, no);
        }
        for slot in self.unknown.iter() {
            if let Some(key) = slot.key.get() {
                add(key, 0, slot.count.swap(0, Ordering::Relaxed));
            }
        }
        if flags.is_empty() {
            return None;
        }
        Some(Report {
            // Milliseconds are precise enough, and keep the report short.
            period_start: start.trunc_subsecs(3),
            period_end: now.trunc_subsecs(3),
            flags,
        })
    }
}

/// The counter table of a new snapshot: counters of kept keys are shared with `prev`,
/// counters of removed keys are retired.
pub(crate) fn next_table<'a>(
    prev: &CounterTable,
    keys: impl Iterator<Item = &'a str>,
    usage: &Usage,
) -> CounterTable {
    let mut next = CounterTable::default();
    for key in keys {
        let counter = prev.get(key).cloned().unwrap_or_default();
        next.insert(key.into(), counter);
    }
    for (key, counter) in prev {
        if !next.contains_key(key) {
            usage.retire(key, counter.clone());
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_unknown_and_retired_flags() {
        let usage = Usage::new();
        let t1 = next_table(&CounterTable::default(), ["a", "b"].into_iter(), &usage);
        t1["a"].record(true);
        t1["a"].record(false);
        t1["b"].record(true);
        usage.record_unknown("ghost");
        usage.record_unknown("ghost");
        let t2 = next_table(&t1, ["a"].into_iter(), &usage);
        t2["a"].record(true);
        let report = usage.take_report(&t2).unwrap();
        assert_eq!(report.flags["a"], Counts { yes: 2, no: 1 });
        assert_eq!(report.flags["b"], Counts { yes: 1, no: 0 });
        assert_eq!(report.flags["ghost"], Counts { yes: 0, no: 2 });
        assert!(
            usage.take_report(&t2).is_none(),
            "counts are reset after a report"
        );
    }

    #[test]
    fn many_unknown_keys_do_not_panic() {
        let usage = Usage::new();
        for i in 0..1000 {
            usage.record_unknown(&format!("k{i}"));
        }
        let report = usage.take_report(&CounterTable::default()).unwrap();
        assert!(report.flags.len() <= UNKNOWN_SLOTS);
        assert!(!report.flags.is_empty());
    }
}
