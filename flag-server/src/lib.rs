//! The flag server: admin REST API, SDK API and SSE stream over Redis or an embedded store.
#![deny(missing_docs)]

pub mod error;
pub mod store;

pub use error::{Error, Result};
