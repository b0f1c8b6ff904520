//! Black-box tests of the HTTP API: a real server on port 0, real HTTP, the embedded store
//! and a real redis-server. One module per area.

mod apply;
mod audit;
mod auth;
mod bad_input;
mod clients;
mod cluster;
mod concurrency;
mod crud;
mod hub;
mod input_edges;
mod ofrep;
mod ops;
mod outage;
mod persistence;
mod promote;
mod sdk;
mod segments;
mod stale;
mod support;
mod typed;
mod wire;
