//! Edge mode: a flag server with no store that follows an upstream server's SDK stream and
//! serves the SDK routes from memory (`FLAG_UPSTREAM_URL`, `FLAG_UPSTREAM_KEYS`; contract
//! section 5, "Edge mode").
//!
//! The edge reuses the whole server: its hub sits on an [`EdgeStore`], a replica of the
//! upstream that implements [`Store`](crate::store::Store), so the SDK routes, the stream
//! (with its exact resume) and OFREP run unchanged. What differs lives here:
//!
//! - [`source`]: one task per upstream key follows the upstream's `GET /api/v1/sdk/stream`
//!   (resuming with `Last-Event-ID`, reconnecting with full-jitter backoff) and feeds the
//!   replica and the hub the snapshots and changes it receives, with the upstream's version
//!   numbers, so a `Last-Event-ID` is valid on the upstream and on every edge alike. An edge's
//!   SDK routes are a server's, so an edge can follow another edge.
//! - [`keys`]: an application's SDK key is valid for an environment when the upstream answers
//!   its `GET /sdk/flags` with 200 (or 304); answers are trusted for `FLAG_UPSTREAM_KEY_TTL`.
//!   A revoked key is refused at most that long after the revocation, and the streams it
//!   opened end within 1.25 times that (plus a round trip). While the upstream is
//!   unreachable, keys it accepted stay valid.
//! - [`guard`]: the one place that refuses admin routes (404, naming the upstream) and checks
//!   SDK keys before the SDK and OFREP routes run.
//! - [`backup`]: the replica is written to `FLAG_UPSTREAM_BACKUP` on every change and read at
//!   start for the environments whose upstream cannot be reached.
//! - Evaluation counts posted to `/sdk/metrics` are summed and forwarded to the upstream every
//!   [`source::USAGE_EVERY`] with the edge's key of the environment; counts the upstream does
//!   not take (unreachable, refused) are dropped.

mod backup;
mod guard;
mod keys;
mod source;
mod store;

pub use guard::guard;
pub use store::EdgeStore;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::Config;
use crate::hub::Hub;
use crate::store::Store;

/// How long an upstream connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// An edge: its upstream, its keys, its replica. One per edge server.
pub struct Edge {
    /// The upstream's base URL, as configured (no trailing `/`).
    upstream: String,
    /// The upstream's URL without credentials, for messages and logs.
    shown: String,
    /// The SDK keys the edge follows the upstream with (secrets: never logged).
    upstream_keys: Vec<String>,
    http: reqwest::Client,
    store: Arc<EdgeStore>,
    checks: keys::KeyChecks,
    backup_path: Option<PathBuf>,
    /// The backup file read at start, until every environment in it is used or replaced.
    backup: std::sync::Mutex<Option<backup::BackupDoc>>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("upstream", &self.shown)
            .field("upstream_keys", &self.upstream_keys.len())
            .finish_non_exhaustive()
    }
}

impl Edge {
    /// The edge the configuration asks for (`None` without `FLAG_UPSTREAM_URL`), with the
    /// backup file read when there is one.
    pub async fn from_config(config: &Config) -> anyhow::Result<Option<Arc<Edge>>> {
        let Some(upstream) = config.upstream_url.clone() else {
            return Ok(None);
        };
        if config.redis_url.is_some() {
            anyhow::bail!("FLAG_REDIS_URL and FLAG_UPSTREAM_URL exclude each other: an edge has no store, it follows its upstream");
        }
        let upstream_keys: Vec<String> = config
            .upstream_keys
            .iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        if upstream_keys.is_empty() {
            anyhow::bail!(
                "FLAG_UPSTREAM_KEYS holds no SDK key: give one per environment the edge serves"
            );
        }
        let shown = without_credentials(&upstream);
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .build()
            .context("cannot set up the HTTP client for the upstream")?;
        let refusal =
            format!("this server is an edge following {shown}: admin routes are on the upstream");
        let store = Arc::new(EdgeStore::new(
            refusal,
            upstream_keys.len(),
            config.change_log_len,
        ));
        let backup = match &config.upstream_backup {
            Some(path) => backup::read(path.clone()).await,
            None => None,
        };
        if let Some(doc) = &backup {
            for key in &doc.sdk_keys {
                store.key_accepted(key.clone());
            }
        }
        Ok(Some(Arc::new(Edge {
            checks: keys::KeyChecks::new(Duration::from_secs(config.upstream_key_ttl)),
            upstream,
            shown,
            upstream_keys,
            http,
            store,
            backup_path: config.upstream_backup.clone(),
            backup: std::sync::Mutex::new(backup),
        })))
    }

    /// The replica, as the hub's store.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The upstream's URL without credentials (what messages and logs show).
    pub fn upstream_shown(&self) -> &str {
        &self.shown
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.upstream)
    }

    /// Follows the upstream and keeps the backup file and the key checks up to date until
    /// the hub shuts down.
    pub async fn run(self: Arc<Self>, hub: Arc<Hub>) {
        let shutdown = hub.shutdown_token();
        tracing::info!(upstream = %self.shown, keys = self.upstream_keys.len(), "edge mode: following the upstream");
        let sources = futures_util::future::join_all(
            (0..self.upstream_keys.len()).map(|i| source::follow(&self, &hub, i)),
        );
        let work = async {
            tokio::join!(
                sources,
                keys::sweep(&self, &hub),
                backup::writer(&self),
                source::forward_usage(&self),
            )
        };
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = work => {}
        }
        tracing::debug!("edge stopped following the upstream");
    }
}

/// `url` without a user or password, for messages and logs.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => "the upstream".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_not_shown() {
        assert_eq!(
            without_credentials("https://ops:s3cret@flags.example:8443"),
            "https://flags.example:8443"
        );
        assert_eq!(
            without_credentials("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }
}
