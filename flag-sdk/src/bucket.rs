//! Bucketing, identical in every SDK:
//! `bucket = murmur3_x86_32(seed = 0, bytes = salt + ":" + value) % 10000`.

use std::hash::Hasher;

/// Number of buckets; a percentage `p` admits buckets below `round(p * 100)`.
pub const BUCKETS: u32 = 10_000;

/// The bucket (`0..=9999`) of a stickiness value for a salt.
///
/// ```
/// let b = flag_sdk::bucket("new_checkout", "42");
/// assert!(b < 10_000);
/// assert_eq!(b, flag_sdk::bucket("new_checkout", "42")); // sticky
/// ```
pub fn bucket(salt: &str, value: &str) -> u16 {
    let mut prefix = Vec::with_capacity(salt.len() + 1);
    prefix.extend_from_slice(salt.as_bytes());
    prefix.push(b':');
    bucket_with_prefix(&prefix, value.as_bytes())
}

/// The raw murmur3 x86_32 hash (seed 0) of `salt + ":" + value`, before the modulo.
pub fn hash(salt: &str, value: &str) -> u32 {
    let mut h = mur3::Hasher32::with_seed(0);
    h.write(salt.as_bytes());
    h.write(b":");
    h.write(value.as_bytes());
    h.finish32()
}

/// Bucket of `prefix + value`, where `prefix` is `salt + ":"` prepared once per flag.
/// Short inputs are joined on the stack and hashed as one slice; long ones are streamed.
/// Neither allocates.
#[inline]
pub(crate) fn bucket_with_prefix(prefix: &[u8], value: &[u8]) -> u16 {
    const STACK: usize = 64;
    let len = prefix.len() + value.len();
    let hash = if len <= STACK {
        let mut buf = [0u8; STACK];
        buf[..prefix.len()].copy_from_slice(prefix);
        buf[prefix.len()..len].copy_from_slice(value);
        mur3::murmurhash3_x86_32(&buf[..len], 0)
    } else {
        let mut h = mur3::Hasher32::with_seed(0);
        h.write(prefix);
        h.write(value);
        h.finish32()
    };
    (hash % BUCKETS) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_hash_like_short_ones() {
        let long = "x".repeat(1000);
        let streamed = (hash("salt", &long) % BUCKETS) as u16;
        assert_eq!(bucket("salt", &long), streamed);
        assert_eq!(bucket("salt", "42"), (hash("salt", "42") % BUCKETS) as u16);
    }
}
