//! The fault suite: real `redis-server` and flag-server processes and instances, killed and
//! restarted while clients use them. Every wait is for a condition, bounded by a deadline.
//! Run alone with `cargo test -p flag-tests --test faults -- --nocapture` (the figures are
//! printed).

mod idle;
mod keys;
mod store_loss;
mod util;
