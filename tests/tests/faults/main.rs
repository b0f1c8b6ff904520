//! Fault tests: servers crashed with SIGKILL and restarted, outages, refused keys, and many
//! SDK clients reconnecting at once. Real server processes, real Redis, real HTTP.

mod sdk_outage;
mod storm;
mod support;
