//! Hashing a stickiness value into a bucket without allocating: strings as they are, whole
//! numbers in decimal, other numbers in Rust's shortest round-trip form, booleans as text.

use crate::bucket::bucket_with_prefix;
use crate::context::Value;

/// The bucket of a stickiness value; lists cannot be hashed and count as missing.
#[inline]
pub(crate) fn stickiness_bucket(prefix: &[u8], v: &Value) -> Option<u16> {
    match v {
        Value::String(s) => Some(bucket_with_prefix(prefix, s.as_bytes())),
        Value::Bool(b) => Some(bucket_with_prefix(
            prefix,
            if *b { b"true" } else { b"false" },
        )),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            let mut buf = itoa::Buffer::new();
            Some(bucket_with_prefix(prefix, buf.format(*n as i64).as_bytes()))
        }
        Value::Number(n) => {
            // A fractional number is hashed in Rust's shortest round-trip form, on the stack.
            let mut buf = StackWriter::default();
            std::fmt::Write::write_fmt(&mut buf, format_args!("{n}")).ok()?;
            Some(bucket_with_prefix(prefix, buf.as_bytes()))
        }
        Value::List(_) => None,
    }
}

struct StackWriter {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackWriter {
    fn default() -> Self {
        StackWriter {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackWriter {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for StackWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Whether `test` holds for the text of a value (any item of a list), formatted as for
/// hashing, without allocating.
#[inline]
pub(crate) fn text_matches(v: &Value, test: &dyn Fn(&str) -> bool) -> bool {
    match v {
        Value::String(s) => test(s),
        Value::Bool(b) => test(if *b { "true" } else { "false" }),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            let mut buf = itoa::Buffer::new();
            test(buf.format(*n as i64))
        }
        Value::Number(n) => {
            let mut buf = StackWriter::default();
            std::fmt::Write::write_fmt(&mut buf, format_args!("{n}")).is_ok()
                && std::str::from_utf8(buf.as_bytes()).is_ok_and(test)
        }
        Value::List(items) => items.iter().any(|s| test(s)),
    }
}
