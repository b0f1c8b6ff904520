//! Releases the server drives: scheduled changes and release plans, through the HTTP API of
//! real servers (in this process on the embedded store, and as processes on one real Redis that
//! a test kills), with real guards (a fake Prometheus and HTTP endpoints on local ports).
//! Every wait is for a condition, bounded by a deadline.

mod instances;
mod plans;
mod recovery;
mod schedules;
mod support;
