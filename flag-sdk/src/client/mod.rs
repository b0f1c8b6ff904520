//! The streaming client: keeps a local [`Snapshot`](crate::Snapshot) up to date over the
//! server's SSE stream and evaluates flags against it without I/O, locks or allocation.

mod backup;
mod builder;
mod reporter;
mod source;
mod state;
mod status;
mod typed;
mod usage;

use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use builder::Config;
pub use builder::FlagClientBuilder;
use source::InitState;
use state::{Origin, Shared};
pub use status::ClientStatus;

use crate::{Context, Evaluation, Flag, Snapshot};

/// A handle on the flags of one environment, kept up to date in the background.
///
/// Cheap to clone (an `Arc`); every clone sees the same flags. Evaluation never blocks,
/// never touches the network and never panics: an unknown flag is off. The background work
/// stops with [`close`](Self::close), or when the last handle is dropped.
///
/// Until then it never gives up: after an outage it reconnects within the backoff cap of
/// the server's return (see [`FlagClientBuilder::backoff`]), and a refused SDK key is asked
/// again slowly ([`FlagClientBuilder::refused_retry`]) while the last flags stay in use.
/// [`status`](Self::status) says where it stands.
///
/// ```no_run
/// # async fn run() -> Result<(), flag_sdk::Error> {
/// use std::time::Duration;
/// use flag_sdk::{Context, FlagClient};
///
/// let flags = FlagClient::builder("http://127.0.0.1:8080", std::env::var("FLAG_SDK_KEY").unwrap_or_default())
///     .init_timeout(Duration::from_secs(2))
///     .backup_file("/var/cache/app/flags.json")
///     .build()
///     .await?;
/// if flags.is_enabled("new_checkout") { /* … */ }
/// let ctx = Context::new().user_id("42").set("country", "DE");
/// if flags.is_enabled_for("new_checkout", &ctx) { /* … */ }
/// let why = flags.evaluate("new_checkout", &ctx);
/// flags.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FlagClient {
    shared: Arc<Shared>,
    handle: Arc<Handle>,
}

/// Stops the background tasks when the last [`FlagClient`] goes away.
#[derive(Debug)]
struct Handle {
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

impl FlagClient {
    /// Starts configuring a client of the server at `base_url` with an SDK key.
    ///
    /// ```
    /// let builder = flag_sdk::FlagClient::builder("http://127.0.0.1:8080", "sdk-key");
    /// ```
    pub fn builder(base_url: impl Into<String>, sdk_key: impl Into<String>) -> FlagClientBuilder {
        FlagClientBuilder::new(base_url, sdk_key)
    }

    /// A client over a fixed set of flags, with no server and no background work: for
    /// tests and air-gapped runs. Same API as a connected client.
    ///
    /// ```
    /// use flag_sdk::{Context, Flag, FlagClient};
    /// let flags = FlagClient::offline([Flag::on("dark_mode").unwrap(), Flag::rollout("new_checkout", 0.0).unwrap()]);
    /// assert!(flags.is_enabled("dark_mode"));
    /// assert!(!flags.is_enabled_for("new_checkout", &Context::new().user_id("42")));
    /// assert!(!flags.is_enabled("unknown"));
    /// ```
    pub fn offline(flags: impl IntoIterator<Item = Flag>) -> FlagClient {
        let shared = Shared::new(false);
        let flags = flags.into_iter().map(|f| f.to_value()).collect();
        shared.apply_snapshot(
            crate::wire::SnapshotBody {
                environment: "offline".into(),
                version: 0,
                flags,
                segments: Vec::new(),
            },
            Origin::Local,
        );
        shared.status.offline();
        FlagClient {
            shared: Arc::new(shared),
            handle: Arc::new(Handle {
                shutdown: watch::channel(false).0,
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    pub(crate) async fn start(cfg: Arc<Config>, http: reqwest::Client) -> FlagClient {
        let shared = Arc::new(Shared::new(cfg.metrics));
        let (shutdown, _) = watch::channel(false);
        let (init_tx, mut init_rx) = watch::channel(InitState::Pending);
        let mut tasks = vec![tokio::spawn(source::run(
            shared.clone(),
            http.clone(),
            cfg.clone(),
            init_tx,
            shutdown.subscribe(),
        ))];
        if cfg.metrics {
            tasks.push(tokio::spawn(reporter::run(
                shared.clone(),
                http.clone(),
                cfg.clone(),
                shutdown.subscribe(),
            )));
        }
        if let Some(path) = &cfg.backup_file {
            tasks.push(tokio::spawn(backup::writer(
                shared.clone(),
                path.clone(),
                shutdown.subscribe(),
            )));
        }
        // The watch guard is dropped within this statement: `build()` stays `Send`.
        let state = match tokio::time::timeout(
            cfg.init_timeout,
            init_rx.wait_for(|s| *s != InitState::Pending),
        )
        .await
        {
            Ok(Ok(s)) => *s,
            _ => InitState::Pending,
        };
        if state != InitState::Ready {
            if state == InitState::Pending {
                tracing::warn!("the flag server did not answer in time; starting from the backup file or with every flag off, and catching up in the background");
            } else {
                tracing::warn!("the flag server refused the SDK key; starting from the backup file or with every flag off, and asking again in the background");
            }
            if let Some(path) = &cfg.backup_file {
                if let Some(doc) = backup::read(path.clone()).await {
                    if shared.apply_snapshot(doc, Origin::Local) {
                        tracing::info!(path = %path.display(), version = shared.view().snapshot.version(), "flags loaded from the backup file");
                    }
                }
            }
        }
        FlagClient {
            shared,
            handle: Arc::new(Handle {
                shutdown,
                tasks: Mutex::new(tasks),
            }),
        }
    }

    /// Whether a flag is on for an empty context; an unknown flag is off.
    ///
    /// ```
    /// let flags = flag_sdk::FlagClient::offline([flag_sdk::Flag::on("dark_mode").unwrap()]);
    /// assert!(flags.is_enabled("dark_mode"));
    /// ```
    #[inline]
    pub fn is_enabled(&self, key: &str) -> bool {
        self.shared.is_enabled(key, &Context::new())
    }

    /// Whether a flag is on for a context; an unknown flag is off.
    ///
    /// ```
    /// use flag_sdk::{Context, Flag, FlagClient};
    /// let flags = FlagClient::offline([Flag::rollout("new_checkout", 100.0).unwrap()]);
    /// assert!(flags.is_enabled_for("new_checkout", &Context::new().user_id("42")));
    /// ```
    #[inline]
    pub fn is_enabled_for(&self, key: &str, ctx: &Context) -> bool {
        self.shared.is_enabled(key, ctx)
    }

    /// A flag's result with its reason (the matching rule, the bucket).
    ///
    /// ```
    /// use flag_sdk::{Context, Flag, FlagClient, ReasonKind};
    /// let flags = FlagClient::offline([Flag::rollout("new_checkout", 25.0).unwrap()]);
    /// let eval = flags.evaluate("new_checkout", &Context::new().user_id("42"));
    /// assert_eq!(eval.reason.kind, ReasonKind::Default);
    /// assert_eq!(flags.evaluate("nope", &Context::new()).reason.kind, ReasonKind::NotFound);
    /// ```
    #[inline]
    pub fn evaluate(&self, key: &str, ctx: &Context) -> Evaluation {
        self.shared.evaluate(key, ctx)
    }

    /// The environment version of the flags in use (0 before any data).
    ///
    /// ```
    /// let flags = flag_sdk::FlagClient::offline([]);
    /// assert_eq!(flags.version(), 0);
    /// ```
    pub fn version(&self) -> u64 {
        self.shared.view().snapshot.version()
    }

    /// The flags in use, as a compiled snapshot (shared, not copied).
    ///
    /// ```
    /// let flags = flag_sdk::FlagClient::offline([flag_sdk::Flag::on("a").unwrap()]);
    /// assert_eq!(flags.snapshot().len(), 1);
    /// ```
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.view().snapshot.clone()
    }

    /// True once flags have come from the server in this process (not only from the backup
    /// file or an offline set).
    ///
    /// ```
    /// assert!(!flag_sdk::FlagClient::offline([]).is_initialized());
    /// ```
    pub fn is_initialized(&self) -> bool {
        self.shared.is_live()
    }

    /// Where the client stands with the flag server: [`Live`](ClientStatus::Live) while
    /// following it, [`Stale`](ClientStatus::Stale) on earlier flags while reconnecting,
    /// [`Refused`](ClientStatus::Refused) while the server refuses the SDK key,
    /// [`Connecting`](ClientStatus::Connecting) before any flags. An offline client is always
    /// live. Whatever the status, the client keeps evaluating on the flags it has and keeps
    /// trying to reach the server.
    ///
    /// ```
    /// use flag_sdk::{ClientStatus, FlagClient};
    /// assert_eq!(FlagClient::offline([]).status(), ClientStatus::Live);
    /// ```
    ///
    /// A readiness check that tolerates a few seconds of reconnection:
    ///
    /// ```no_run
    /// # fn check(flags: &flag_sdk::FlagClient) -> Result<(), String> {
    /// use flag_sdk::ClientStatus;
    /// match flags.status() {
    ///     ClientStatus::Live | ClientStatus::Stale => Ok(()),
    ///     other => Err(format!("flags are {other}")),
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> ClientStatus {
        self.shared.status.get()
    }

    /// Notifies every change of [`status`](Self::status): the receiver holds the current
    /// status and wakes on each change.
    ///
    /// ```no_run
    /// # async fn run(flags: flag_sdk::FlagClient) {
    /// use flag_sdk::ClientStatus;
    /// let mut status = flags.status_changes();
    /// // Wait until the client follows the server again (with a deadline in real code).
    /// status.wait_for(|s| *s == ClientStatus::Live).await.ok();
    /// while status.changed().await.is_ok() {
    ///     let now = *status.borrow_and_update();
    ///     println!("flag client is now {now}");
    /// }
    /// # }
    /// ```
    pub fn status_changes(&self) -> watch::Receiver<ClientStatus> {
        self.shared.status.subscribe()
    }

    /// Notifies every change: the receiver holds the version of the flags in use and wakes
    /// on each update (`changed().await`).
    ///
    /// ```no_run
    /// # async fn run(flags: flag_sdk::FlagClient) {
    /// let mut changes = flags.subscribe();
    /// while changes.changed().await.is_ok() {
    ///     println!("flags now at version {}; new_checkout: {}", *changes.borrow(), flags.is_enabled("new_checkout"));
    /// }
    /// # }
    /// ```
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.subscribe()
    }

    /// Stops the background work (stream, polling, backup writes) after sending the last
    /// evaluation counts, and waits for it. Evaluation keeps working on the last flags.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = flag_sdk::FlagClient::offline([]);
    /// flags.close().await;
    /// assert!(!flags.is_enabled("anything"));
    /// # }
    /// ```
    pub async fn close(&self) {
        self.handle.shutdown.send_replace(true);
        let tasks = self
            .handle
            .tasks
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for task in tasks {
            let _ = task.await;
        }
    }
}
