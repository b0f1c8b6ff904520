//! The fault suite: real `redis-server` and flag-server processes and instances, crashed with
//! SIGKILL or emptied and restarted while clients use them; outages, refused keys, and many SDK
//! clients reconnecting at once. Every wait is for a condition, bounded by a deadline.
//! Run alone with `cargo test -p flag-tests --test faults -- --nocapture` (the figures are
//! printed).

mod failover;
mod idle;
mod keys;
mod sdk_outage;
mod segment_loss;
mod store_loss;
mod storm;
mod support;
mod tls;
