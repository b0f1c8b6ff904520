//! Test support for black-box tests: a real `redis-server` on a free port, and real
//! flag-server instances on port 0. Logs are shown only when `TEST_LOG` is set.

pub mod app;
pub mod redis;
