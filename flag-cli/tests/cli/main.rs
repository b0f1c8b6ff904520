//! End-to-end tests of flag-cli: the built binary against a real flag-server (embedded store)
//! on port 0.

mod clients;
mod crud;
mod errors;
mod explain;
mod helpers;
mod promote;
mod release;
mod schedule;
mod sdk_keys;
mod segments;
mod stale;
mod sync;
mod typed;
mod typed_explain;
mod watch;
