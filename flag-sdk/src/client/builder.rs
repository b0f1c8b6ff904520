//! Configuration of a [`FlagClient`](super::FlagClient) and its builder.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::Url;

use super::FlagClient;
use crate::wire::client_headers;
use crate::Error;

/// What the client sends as `X-Flag-Sdk`.
const SDK: &str = concat!("flag-sdk-rust/", env!("CARGO_PKG_VERSION"));

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
    app_name: Option<String>,
    app_version: Option<String>,
    instance_id: Option<String>,
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
            app_name: None,
            app_version: None,
            instance_id: None,
        }
    }

    /// The application's name, sent with every request as `X-Flag-App-Name` so that the
    /// server can list who runs what (`GET /environments/{env}/clients`). 1 to 128 bytes of
    /// visible ASCII (no spaces); anything else makes [`build`](Self::build) fail.
    ///
    /// ```
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key").app_name("checkout");
    /// ```
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// The application's version, sent as `X-Flag-App-Version`: what a canary by version
    /// (the `semver_*` operators on `app_version`) is checked against. Same rules as
    /// [`app_name`](Self::app_name).
    ///
    /// ```
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key")
    ///     .app_name("checkout")
    ///     .app_version(env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn app_version(mut self, version: impl Into<String>) -> Self {
        self.app_version = Some(version.into());
        self
    }

    /// This running instance's id, sent as `X-Flag-Instance-Id` (same rules as
    /// [`app_name`](Self::app_name)), e.g. a Kubernetes pod name. By default it is made up
    /// at build time from the host name, the process id and a few random hex digits
    /// (`web-7f9c-4242-a1b2c3`), and stays the same for the client's life.
    ///
    /// ```
    /// let pod = std::env::var("POD_NAME").unwrap_or_else(|_| "checkout-0".into());
    /// let b = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "key").instance_id(pod);
    /// ```
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
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
    /// an empty or unprintable key, an app name, version or instance id that is not 1 to 128
    /// bytes of visible ASCII), never because the server is unreachable. Must be called
    /// within a Tokio runtime.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), flag_sdk::Error> {
    /// let flags = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "sdk-key").build().await?;
    /// assert!(flag_sdk::FlagClient::builder("not a url", "k").build().await.is_err());
    /// assert!(flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "k").app_name("my app").build().await.is_err());
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
        let instance_id = self.instance_id.unwrap_or_else(default_instance_id);
        let identity = [
            (
                client_headers::APP_NAME,
                "app name",
                self.app_name.as_deref(),
            ),
            (
                client_headers::APP_VERSION,
                "app version",
                self.app_version.as_deref(),
            ),
            (
                client_headers::INSTANCE_ID,
                "instance id",
                Some(instance_id.as_str()),
            ),
            (client_headers::SDK, "SDK name", Some(SDK)),
        ];
        for (name, what, value) in identity {
            let Some(value) = value else { continue };
            if !client_headers::is_valid(value) {
                return Err(Error::Config(format!(
                    "the {what} {value:?} is not 1 to {} bytes of visible ASCII (no spaces)",
                    client_headers::MAX_LEN
                )));
            }
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::Config(format!("the {what} {value:?} is not a header value"))
            })?;
            headers.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(SDK)
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

/// `<host>-<pid>-<6 random hex digits>`: the host name (or `host`), cut to what a header
/// takes.
fn default_instance_id() -> String {
    use rand::Rng;
    let host = host_name();
    let host: String = host
        .chars()
        .filter(char::is_ascii_graphic)
        .take(96)
        .collect();
    let host = if host.is_empty() { "host".into() } else { host };
    let random: u32 = rand::thread_rng().gen_range(0..0x100_0000);
    format!("{host}-{}-{random:06x}", std::process::id())
}

/// The machine's name, from the environment or the system's files; empty when unknown.
fn host_name() -> String {
    for var in ["HOSTNAME", "COMPUTERNAME"] {
        if let Ok(name) = std::env::var(var) {
            if !name.trim().is_empty() {
                return name.trim().to_owned();
            }
        }
    }
    for file in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(name) = std::fs::read_to_string(file) {
            if !name.trim().is_empty() {
                return name.trim().to_owned();
            }
        }
    }
    String::new()
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
    fn identity_values_are_checked() {
        let cfg = |b: FlagClientBuilder| b.config().map(|(c, _)| c);
        let b = || FlagClientBuilder::new("http://host", "k");
        assert!(cfg(b()
            .app_name("checkout")
            .app_version("2.3.1")
            .instance_id("pod-7"))
        .is_ok());
        for bad in ["", "my app", "café", "a\nb"] {
            assert!(
                matches!(cfg(b().app_name(bad)), Err(Error::Config(_))),
                "{bad:?}"
            );
            assert!(
                matches!(cfg(b().app_version(bad)), Err(Error::Config(_))),
                "{bad:?}"
            );
            assert!(
                matches!(cfg(b().instance_id(bad)), Err(Error::Config(_))),
                "{bad:?}"
            );
        }
        let long = "v".repeat(129);
        let err = cfg(b().app_version(long)).unwrap_err().to_string();
        assert!(err.contains("app version") && err.contains("128"), "{err}");
        assert!(cfg(b().app_version("v".repeat(128))).is_ok());
    }

    #[test]
    fn the_default_instance_id_is_a_header_value_and_differs_per_client() {
        let (a, b) = (default_instance_id(), default_instance_id());
        assert!(client_headers::is_valid(&a), "{a}");
        assert_ne!(a, b);
        assert!(a.contains(&format!("-{}-", std::process::id())), "{a}");
    }

    #[test]
    fn build_can_run_in_a_spawned_task() {
        fn send<T: Send>(_: &T) {}
        let build = FlagClientBuilder::new("http://127.0.0.1:1", "k").build();
        send(&build);
    }
}
