//! A reconnection storm: 1,000 SDK clients follow instance B; B crashes, a change is written
//! through A meanwhile, B returns 2.5 s after the crash. Every client must catch up within
//! 10 s of B's return, none may miss the change, and the reconnections must be spread out
//! (full jitter) rather than arrive in one burst.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use flag_sdk::{ClientStatus, FlagClient};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::support::{percentile, two_instances, wait_until, TwoInstances, EXCLUSIVE};

const CLIENTS: usize = 1_000;
const DEADLINE: Duration = Duration::from_secs(10);
const WINDOW: Duration = Duration::from_millis(100);

/// When one client saw what, after B's crash.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    /// Its status turned `Live` again (its stream reconnected).
    live: Option<Instant>,
    /// It had the change.
    changed: Option<Instant>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_storm() {
    let _exclusive = EXCLUSIVE.lock().await;
    let TwoInstances {
        redis: _redis,
        a: _a,
        mut b,
        admin,
        key,
    } = two_instances(DEADLINE).await;

    // 1,000 clients of B, with default reconnection settings, started 100 at a time.
    let mut clients = Vec::with_capacity(CLIENTS);
    while clients.len() < CLIENTS {
        let mut batch = JoinSet::new();
        for _ in 0..100.min(CLIENTS - clients.len()) {
            let builder = FlagClient::builder(b.url(), key.as_str()).metrics(false);
            batch.spawn(async move { builder.build().await.unwrap() });
        }
        while let Some(client) = batch.join_next().await {
            clients.push(client.unwrap());
        }
    }
    assert!(clients.iter().all(|c| c.status() == ClientStatus::Live));
    let v0 = clients[0].version();
    println!("storm: {CLIENTS} clients live on B at version {v0}");

    // Each client's story after the crash, recorded as it happens.
    let seen = Arc::new(Mutex::new(vec![Seen::default(); CLIENTS]));
    let mut watchers = JoinSet::new();
    for (i, client) in clients.iter().enumerate() {
        let (client, seen) = (client.clone(), seen.clone());
        let mut status = client.status_changes();
        let mut versions = client.subscribe();
        let target = v0 + 1;
        watchers.spawn(async move {
            // Wait until this client has noticed the crash.
            let _ = status.wait_for(|s| *s != ClientStatus::Live).await;
            loop {
                let now = Instant::now();
                {
                    let mut seen = seen.lock().unwrap();
                    let me = &mut seen[i];
                    if me.live.is_none() && *status.borrow_and_update() == ClientStatus::Live {
                        me.live = Some(now);
                    }
                    if me.changed.is_none() && *versions.borrow_and_update() >= target {
                        me.changed = Some(now);
                    }
                    if me.live.is_some() && me.changed.is_some() {
                        return;
                    }
                }
                tokio::select! {
                    r = status.changed() => if r.is_err() { return },
                    r = versions.changed() => if r.is_err() { return },
                }
            }
        });
    }

    b.kill();
    let killed = Instant::now();
    wait_until("every client notices the crash", DEADLINE, || {
        let n = clients
            .iter()
            .filter(|c| c.status() != ClientStatus::Live)
            .count();
        async move { n == CLIENTS }
    })
    .await;
    tokio::time::sleep_until(killed + Duration::from_millis(500)).await;
    let v = admin.set_enabled("new_checkout", true).await;
    assert_eq!(v, v0 + 1);
    tokio::time::sleep_until(killed + Duration::from_millis(2500)).await;
    b.start_again().await;
    let back = Instant::now();
    println!(
        "storm: B answering again {:?} after the crash",
        back - killed
    );

    let took = wait_until("all clients live at the latest version", DEADLINE, || {
        let done = clients
            .iter()
            .filter(|c| c.status() == ClientStatus::Live && c.version() == v)
            .count();
        async move { done == CLIENTS }
    })
    .await;
    tokio::time::timeout(DEADLINE, async {
        while watchers.join_next().await.is_some() {}
    })
    .await
    .expect("every watcher saw its client catch up");
    for c in &clients {
        assert!(c.is_enabled("new_checkout"), "no client misses the change");
    }

    let seen = seen.lock().unwrap().clone();
    let mut recovery: Vec<Duration> = seen
        .iter()
        .map(|s| {
            s.changed
                .unwrap()
                .max(s.live.unwrap())
                .saturating_duration_since(back)
        })
        .collect();
    recovery.sort();
    let reconnects: Vec<Duration> = seen
        .iter()
        .map(|s| s.live.unwrap().saturating_duration_since(back))
        .collect();
    let mut windows = vec![0usize; 1 + (DEADLINE.as_millis() / WINDOW.as_millis()) as usize];
    for r in &reconnects {
        let w = (r.as_millis() / WINDOW.as_millis()) as usize;
        let last = windows.len() - 1;
        windows[w.min(last)] += 1;
    }
    let (busiest, largest) = windows
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .map(|(i, n)| (i, *n))
        .unwrap();
    let first = *reconnects.iter().min().unwrap();
    let last = *reconnects.iter().max().unwrap();
    println!(
        "storm: all {CLIENTS} live at v{v} {took:?} after B answered; recovery p50 {:?}, p99 {:?}, max {:?}",
        percentile(&recovery, 50.0),
        percentile(&recovery, 99.0),
        recovery.last().unwrap()
    );
    println!(
        "storm: reconnections spread over {:?} ({first:?} .. {last:?} after B answered); largest 100 ms window: {largest} clients (window starting at {} ms)",
        last - first,
        busiest as u128 * WINDOW.as_millis()
    );
    assert!(
        *recovery.last().unwrap() <= DEADLINE,
        "every client caught up within {DEADLINE:?}"
    );
    assert!(
        largest <= CLIENTS / 4,
        "no 100 ms window receives more than a quarter of the reconnections ({largest})"
    );

    for c in clients {
        c.close().await;
    }
}
