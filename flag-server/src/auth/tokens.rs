//! Admin tokens: parsed from `FLAG_ADMIN_TOKEN`, kept as SHA-256 digests, compared in
//! constant time.

use subtle::ConstantTimeEq;

use crate::secret::{random_secret, sha256};

/// One admin token: its name and the SHA-256 of its secret.
#[derive(Clone)]
struct AdminToken {
    name: String,
    digest: [u8; 32],
}

/// The admin tokens the server accepts.
#[derive(Clone)]
pub struct AdminTokens(Vec<AdminToken>);

impl std::fmt::Debug for AdminTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|t| t.name.as_str()).collect();
        f.debug_tuple("AdminTokens").field(&names).finish()
    }
}

impl AdminTokens {
    /// Parses `FLAG_ADMIN_TOKEN`: comma-separated entries, each `secret` or `name:secret`
    /// (split at the first `:`). Unnamed tokens are called `admin`, `admin-2`, `admin-3`, ...
    /// in order. Names are 1 to 64 characters of `A-Z a-z 0-9 _ . -` and must be unique.
    ///
    /// ```
    /// let tokens = flag_server::auth::AdminTokens::parse("s3cret-one, ci:s3cret-two").unwrap();
    /// assert_eq!(tokens.check("s3cret-one"), Some("admin"));
    /// assert_eq!(tokens.check("s3cret-two"), Some("ci"));
    /// assert_eq!(tokens.check("nope"), None);
    /// ```
    pub fn parse(spec: &str) -> Result<AdminTokens, String> {
        let mut tokens: Vec<AdminToken> = Vec::new();
        let mut unnamed = 0;
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, secret) = match entry.split_once(':') {
                Some((name, secret)) => (name.trim().to_owned(), secret.trim()),
                None => {
                    unnamed += 1;
                    let name = if unnamed == 1 {
                        "admin".to_owned()
                    } else {
                        format!("admin-{unnamed}")
                    };
                    (name, entry)
                }
            };
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
            if !name_ok {
                return Err(format!(
                    "admin token name {name:?} is not valid: use 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '-'"
                ));
            }
            if secret.is_empty() {
                return Err(format!("admin token {name:?} has an empty secret"));
            }
            if tokens.iter().any(|t| t.name == name) {
                return Err(format!("admin token name {name:?} is used twice"));
            }
            tokens.push(AdminToken {
                name,
                digest: sha256(secret),
            });
        }
        if tokens.is_empty() {
            return Err("FLAG_ADMIN_TOKEN holds no token".into());
        }
        Ok(AdminTokens(tokens))
    }

    /// Generates one random admin token named `admin`; returns the tokens and the secret,
    /// which the caller shows once.
    pub fn generate() -> (AdminTokens, String) {
        let secret = random_secret("adm");
        let tokens = AdminTokens(vec![AdminToken {
            name: "admin".into(),
            digest: sha256(&secret),
        }]);
        (tokens, secret)
    }

    /// The name of the admin token whose secret this is. Every token is compared, each in
    /// constant time, so the time taken does not tell how much of a secret was right.
    pub fn check(&self, secret: &str) -> Option<&str> {
        self.check_digest(&sha256(secret))
    }

    pub(crate) fn check_digest(&self, digest: &[u8; 32]) -> Option<&str> {
        let mut found = None;
        for t in &self.0 {
            if bool::from(t.digest.ct_eq(digest)) {
                found = Some(t.name.as_str());
            }
        }
        found
    }

    /// The names of the tokens (for logs at start).
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|t| t.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_token_names() {
        let t = AdminTokens::parse("one, two ,ops:three,four").unwrap();
        assert_eq!(t.names(), ["admin", "admin-2", "ops", "admin-3"]);
        assert_eq!(t.check("three"), Some("ops"));
        assert_eq!(t.check("four"), Some("admin-3"));
        assert_eq!(t.check("thre"), None);
        assert_eq!(t.check(""), None);
    }

    #[test]
    fn bad_admin_token_specs() {
        assert!(AdminTokens::parse("").is_err());
        assert!(AdminTokens::parse(" , ").is_err());
        assert!(AdminTokens::parse("a:x,a:y").is_err(), "duplicate names");
        assert!(AdminTokens::parse("bad name:x").is_err());
        assert!(AdminTokens::parse("ops:").is_err(), "empty secret");
    }

    #[test]
    fn generated_tokens_are_long_and_random() {
        let (tokens, secret) = AdminTokens::generate();
        let (_, other) = AdminTokens::generate();
        assert_ne!(secret, other);
        assert!(secret.len() >= 64);
        assert_eq!(tokens.check(&secret), Some("admin"));
    }
}
