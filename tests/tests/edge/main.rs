//! Edge mode: real upstream servers (in this process, or a process that is killed) and real
//! edges on port 0 that follow them; snapshot, stream and exact resume through one edge and
//! through an edge of an edge, admin routes refused, SDK keys checked upstream, outages of the
//! upstream and a start from the backup file. Every wait is for a condition, with a deadline.
//! Run with `cargo test -p flag-tests --test edge`.

mod keys;
mod outage;
mod routes;
mod support;
