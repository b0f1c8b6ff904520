//! Test support for black-box tests: a real `redis-server` on a free port, and real
//! flag-server instances, in this process on port 0 or as processes that a test can kill.
//! Logs are shown only when `TEST_LOG` is set.

pub mod app;
pub mod process;
pub mod redis;
pub mod wire;
