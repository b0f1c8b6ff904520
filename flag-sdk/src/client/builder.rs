//! Configuration of a [`FlagClient`](super::FlagClient) and its builder.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::Url;

use super::FlagClient;
use crate::Error;

/// The client's settings, fixed at build time.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) stream_url: Url,
    pub(crate) flags_url: Url,
    pub(crate) metrics_url: Url,
    pub(crate) init_timeout: Duration,
    pub(crate) backup_file: Option<PathBuf>,
    pub(crate) poll_interval: Duration,
    pub(crate) metrics: bool,
    pub(crate) metrics_interval: Duration,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_cap: Duration,
    pub(crate) stream_failures_before_poll: u32,
}

/// Builds a [`FlagClient`]; made by [`FlagClient::builder`].
///
/// ```no_run
/// # async fn run() -> Result<(), flag_sdk::Error> {
/// use std::time::Duration;
/// use flag_sdk::FlagClient;
/// let flags = FlagClient::builder("http://127.0.0.1:8080", "sdk-key")
///     .init_timeout(Duration::from_secs(2))
///     .backup_file("/var/cache/app/flags.json")
///     .poll_interval(Duration::from_secs(30))
///     .metrics(true)
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is awaited"]
pub struct FlagClientBuilder {
    base_url: String,
    sdk_key: String,
    init_timeout: Duration,
    backup_file: Option<PathBuf>,
    poll_interval: Duration,
    metrics: bool,
    metrics_interval: Duration,
    backoff_base: Duration,
    backoff_cap: Duration,
}

impl FlagClientBuilder {
    pub(crate) fn new(
        base_url: impl Into<String>,
        sdk_key: impl Into<String>,
    ) -> FlagClientBuilder {
        FlagClientBuilder {
            base_url: base_url.into(),
            sdk_key: sdk_key.into(),
            init_timeout: Duration::from_secs(5),
            backup_file: None,
            poll_interval: Duration::from_secs(30),
            metrics: true,
            metrics_interval: Duration::from_secs(60),
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(30),
        }
    }

    /// How long [`build`](Self::build) waits for the first snapshot (default 5 s). After
    /// that it returns anyway, with the backup file's flags or with every flag off, and the
    /// client keeps trying in the background.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key").init_timeout(Duration::from_millis(500));
    /// ```
    pub fn init_timeout(mut self, timeout: Duration) -> Self {
        self.init_timeout = timeout;
        self
    }

    /// A file that keeps the last flags received, written atomically after each change and
    /// read at start when the server cannot be reached.
    ///
    /// ```
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key").backup_file("/tmp/flags.json");
    /// ```
    pub fn backup_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.backup_file = Some(path.into());
        self
    }

    /// How often to poll `GET /sdk/flags` while streaming is impossible (default 30 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key").poll_interval(Duration::from_secs(10));
    /// ```
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(100));
        self
    }

    /// Whether evaluation counts are reported to `POST /sdk/metrics` (default on).
    ///
    /// ```
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key").metrics(false);
    /// ```
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// How often evaluation counts are reported (default 60 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key").metrics_interval(Duration::from_secs(10));
    /// ```
    pub fn metrics_interval(mut self, interval: Duration) -> Self {
        self.metrics_interval = interval.max(Duration::from_millis(100));
        self
    }

    /// The reconnection backoff: each retry waits a random time between zero and
    /// `min(cap, base * 2^attempt)` (defaults 250 ms and 30 s). After a few failed stream
    /// attempts in a row the client polls for up to `cap`, then tries the stream again.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key")
    ///     .backoff(Duration::from_millis(100), Duration::from_secs(5));
    /// ```
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base.max(Duration::from_millis(1));
        self.backoff_cap = cap.max(self.backoff_base);
        self
    }

    /// Starts the client: connects to the stream and waits up to the
    /// [`init_timeout`](Self::init_timeout) for the first snapshot.
    ///
    /// Fails only on bad configuration ([`Error::Config`]: an unparseable or non-HTTP URL,
    /// an empty or unprintable key), never because the server is unreachable. Must be called
    /// within a Tokio runtime.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), flag_sdk::Error> {
    /// let flags = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "sdk-key").build().await?;
    /// assert!(flag_sdk::FlagClient::builder("not a url", "k").build().await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn build(self) -> Result<FlagClient, Error> {
        let (cfg, http) = self.config()?;
        Ok(FlagClient::start(Arc::new(cfg), http).await)
    }

    fn config(self) -> Result<(Config, reqwest::Client), Error> {
        let mut base = Url::parse(self.base_url.trim()).map_err(|e| {
            Error::Config(format!(
                "the server URL {:?} cannot be parsed: {e}",
                self.base_url
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "the server URL {:?} is not an http(s) URL",
                self.base_url
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let key = self.sdk_key.trim();
        if key.is_empty() {
            return Err(Error::Config("the SDK key is empty".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
            Error::Config("the SDK key contains characters not allowed in a header".into())
        })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("flag-sdk-rust/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            // Heartbeats come at least every 15 s: a silent connection is dead.
            .read_timeout(Duration::from_secs(45))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let join = |p: &str| {
            base.join(p)
                .map_err(|e| Error::Config(format!("bad server URL: {e}")))
        };
        Ok((
            Config {
                stream_url: join("api/v1/sdk/stream")?,
                flags_url: join("api/v1/sdk/flags")?,
                metrics_url: join("api/v1/sdk/metrics")?,
                init_timeout: self.init_timeout,
                backup_file: self.backup_file,
                poll_interval: self.poll_interval,
                metrics: self.metrics,
                metrics_interval: self.metrics_interval,
                backoff_base: self.backoff_base,
                backoff_cap: self.backoff_cap,
                stream_failures_before_poll: 3,
            },
            http,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configuration_is_refused() {
        let cfg = |url: &str, key: &str| FlagClientBuilder::new(url, key).config().map(|(c, _)| c);
        assert!(matches!(cfg("not a url", "k"), Err(Error::Config(_))));
        assert!(matches!(cfg("ftp://host/", "k"), Err(Error::Config(_))));
        assert!(matches!(cfg("http://host", " "), Err(Error::Config(_))));
        assert!(matches!(cfg("http://host", "a\nb"), Err(Error::Config(_))));
        let c = cfg("http://host:1/prefix", "k").unwrap();
        assert_eq!(
            c.stream_url.as_str(),
            "http://host:1/prefix/api/v1/sdk/stream"
        );
    }
}
