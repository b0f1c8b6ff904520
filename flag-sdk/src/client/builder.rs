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
    pub(crate) refused_retry: Duration,
    /// A stream connection open this long resets the backoff and stops polling.
    pub(crate) healthy_after: Duration,
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
    refused_retry: Duration,
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
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(4),
            refused_retry: Duration::from_secs(60),
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
    /// Polling is a fallback for places where the stream cannot work (say, a proxy that
    /// cuts it), never what a reconnection waits for: after three stream failures in a row
    /// the client polls at once, then every `interval` (sooner after a failed poll), while it
    /// keeps trying the stream with its own backoff. Polls are skipped while a stream is
    /// open, and polling stops once a stream connection has stayed up for a minute.
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

    /// The reconnection backoff: retry number `n` after a failure waits a random time
    /// between zero and `min(cap, base * 2^(n-1))` ("full jitter"; defaults 500 ms and 4 s).
    ///
    /// Why these defaults: a client should be live again as soon as the server is back, and
    /// the longest it can wait after the server's return is `cap`; with 4 s, every client has
    /// caught up within about 5 s of a restart, whatever the length of the outage. Full jitter
    /// spreads the reconnections of many clients evenly over that window (with 1,000 clients,
    /// about 25 per 100 ms) instead of a burst at the moment the server returns, and `base`
    /// keeps a lone blip (a connection cut and refused once) to half a second. The count
    /// starts over only after a connection stayed up for a minute (not on a mere successful
    /// connect), so a server or proxy that accepts and cuts at once gets one attempt every
    /// two seconds on average from each client, not a tight loop.
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

    /// How often to ask again while the server refuses the SDK key with 401 or 403
    /// (default 60 s, each wait randomly between half and one and a half times this).
    ///
    /// A refusal is not final: an operator may fix a misconfigured server or restore a key.
    /// Meanwhile the client keeps its last flags, reports
    /// [`ClientStatus::Refused`](crate::ClientStatus::Refused), logs the refusal once (not on
    /// every retry) and becomes live again by itself once the key is accepted.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key")
    ///     .refused_retry(Duration::from_secs(30));
    /// ```
    pub fn refused_retry(mut self, every: Duration) -> Self {
        self.refused_retry = every.max(Duration::from_millis(10));
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
                refused_retry: self.refused_retry,
                healthy_after: Duration::from_secs(60),
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

    #[test]
    fn build_can_run_in_a_spawned_task() {
        fn send<T: Send>(_: &T) {}
        let build = FlagClientBuilder::new("http://127.0.0.1:1", "k").build();
        send(&build);
    }
}
