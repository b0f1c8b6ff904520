//! Secrets: random generation and the SHA-256 under which SDK keys are stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// SHA-256 of a string.
pub(crate) fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Hex SHA-256 of a secret: how SDK keys are stored and looked up.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(sha256(secret))
}

/// A random secret of 256 bits: `<prefix>-<64 hex digits>`.
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}-{}", hex::encode(bytes))
}
