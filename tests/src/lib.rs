//! Test support for black-box tests: a real `redis-server` on a free port, and real
//! flag-server instances, in this process on port 0 or as processes that a test can kill.
//! Logs are shown only when `TEST_LOG` is set. [`cluster`] and [`sentinel`] start a real
//! Redis Cluster and a real Sentinel deployment.

pub mod admin;
pub mod app;
pub mod cluster;
pub mod node;
pub mod process;
pub mod prometheus;
pub mod redis;
pub mod sentinel;
pub mod wait;
pub mod wire;

/// A name prefix (Redis keys, directories) no other test of this process uses.
pub fn unique_prefix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
