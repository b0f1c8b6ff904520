//! The flag server: admin REST API, SDK API and SSE stream over Redis or an embedded store.
//!
//! Library first: `main.rs` only parses a [`Config`] and calls [`run`]. Tests start servers
//! in-process with [`Application::build`] on port 0 and stop them with a [`ShutdownHandle`].
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let config = flag_server::Config { listen: "127.0.0.1:0".into(), ..Default::default() };
//! let app = flag_server::Application::build(config).await?;
//! println!("listening on {}", app.addr());
//! app.run_until_stopped().await
//! # }
//! ```
#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod clients;
pub mod config;
pub mod console;
pub mod edge;
pub mod error;
pub mod hub;
pub mod metrics;
pub mod openapi;
pub mod releases;
mod secret;
pub mod service;
pub mod state;
pub mod store;
pub mod telemetry;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{Config, LogFormat};
pub use error::{ApiError, Result};
pub use store::StoreError;

use auth::AdminTokens;
use hub::Hub;
use metrics::Metrics;
use service::Service;
use state::AppState;
use store::Store;

/// How long a stopping server waits for requests in flight.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the store the configuration names: Redis when a URL is set, else the embedded store.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let limits = store::Limits {
        change_log_len: config.change_log_len,
        ..store::Limits::default()
    };
    match &config.redis_url {
        Some(url) => {
            let store = store::redis::RedisStore::connect_with(url, &config.redis_prefix, limits)
                .with_context(|| "cannot set up the Redis store".to_string())?;
            Ok(Arc::new(store))
        }
        None => {
            let dir = config.data_dir.clone();
            let store = tokio::task::spawn_blocking(move || {
                store::embedded::EmbeddedStore::open_with(&dir, limits)
            })
            .await
            .context("opening the embedded store panicked")?
            .with_context(|| {
                format!(
                    "cannot open the embedded store in {}",
                    config.data_dir.display()
                )
            })?;
            Ok(Arc::new(store))
        }
    }
}

/// Stops a running [`Application`]: its HTTP server, its follower and its streams.
#[derive(Clone)]
pub struct ShutdownHandle {
    server: ServerHandle,
    shutdown: CancellationToken,
}

impl ShutdownHandle {
    /// Stops the server (finishing requests in flight, at most a few seconds) and its
    /// background tasks. Returns once the HTTP server has stopped.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.server.stop(true).await;
    }
}

/// A bound, not yet running server.
pub struct Application {
    addr: SocketAddr,
    server: Server,
    hub: Arc<Hub>,
    follower: JoinHandle<()>,
    /// Moves scheduled changes and release plans on (not on an edge).
    driver: Option<JoinHandle<()>>,
    /// Writes the SDK clients seen to the store; flushes a last time when stopping.
    clients_flusher: JoinHandle<()>,
    handle_signals: bool,
    /// To wait, when stopping, until the workers have dropped the state (and so the store).
    state: Weak<AppState>,
    /// To wait, when stopping, until the store is closed.
    store: Weak<dyn Store>,
}

impl Application {
    /// Opens the store, loads the hub (creating `development` and `production` in a new
    /// store), binds the listen address (port 0 picks a free port) and logs the address.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let admin_tokens = match config.admin_token.as_deref().map(str::trim) {
            Some(spec) if !spec.is_empty() => {
                AdminTokens::parse(spec).map_err(|e| anyhow::anyhow!(e))?
            }
            // An edge answers no admin route: nothing to print.
            _ if config.upstream_url.is_some() => AdminTokens::generate().0,
            _ => {
                let (tokens, secret) = AdminTokens::generate();
                eprintln!(
                    "WARNING: FLAG_ADMIN_TOKEN is not set. Generated an admin token for this run (shown only now):\n\n    {secret}\n\nSign in to the web console with it, or send it as `Authorization: Bearer`. Set FLAG_ADMIN_TOKEN to keep a token across restarts."
                );
                tracing::warn!("FLAG_ADMIN_TOKEN is not set; a generated admin token was printed to stderr once");
                tokens
            }
        };
        let edge = edge::Edge::from_config(&config).await?;
        let store = match &edge {
            Some(edge) => edge.store(),
            None => open_store(&config).await?,
        };
        let hub = Hub::load(store.clone())
            .await
            .with_context(|| format!("cannot load state from the {} store", store.kind()))?;
        let metrics = Arc::new(Metrics::new());
        let app_metrics = metrics.clone();
        let service = Service::new(hub.clone());
        // An edge changes nothing: scheduled changes and release plans run upstream.
        let driver = edge
            .is_none()
            .then(|| tokio::spawn(releases::driver::run(service.clone(), hub.shutdown_token())));
        let sdk_clients = Arc::new(clients::Clients::new());
        let state = web::Data::new(AppState {
            service,
            admin_tokens: admin_tokens.clone(),
            metrics: metrics.clone(),
            body_limit: config.body_limit,
            clients: sdk_clients.clone(),
        });

        let cors_origins = config.cors_origins.clone();
        let app_edge = edge.clone();
        let weak_state = Arc::downgrade(&state.clone().into_inner());
        let listener = TcpListener::bind(config.listen.as_str())
            .with_context(|| format!("cannot bind {}", config.listen))?;
        let addr = listener.local_addr()?;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn({
                    let edge = app_edge.clone();
                    move |req, next| edge::guard(edge.clone(), req, next)
                }))
                .wrap(ErrorHandlers::new().default_handler(api::problem::ensure_problem))
                .wrap(from_fn({
                    let app_metrics = app_metrics.clone();
                    move |req, next| metrics::track(app_metrics.clone(), req, next)
                }))
                .service(api::ofrep::scope(&cors_origins))
                .configure(api::configure)
                .configure(console::configure)
        })
        .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
        // A client that closes its side has gone (no HTTP client half-closes and waits): end
        // its stream at once instead of at the next heartbeat write, so that its resources and
        // `flag_streams_connected` follow.
        .h1_allow_half_closed(false)
        // Stream events are small writes: send each at once rather than wait for an ACK (Nagle).
        .tcp_nodelay(true);
        if let Some(workers) = config.workers {
            server = server.workers(workers.max(1));
        }
        // Signals are handled in `run_until_stopped`, so that streams are told to end first.
        server = server.disable_signals();
        let server = server.listen(listener)?.run();
        tracing::info!(
            address = %addr,
            store = store.kind(),
            admin_tokens = ?admin_tokens.names(),
            "flag-server listening on http://{addr} (web console at http://{addr}/)"
        );
        let clients_flusher = tokio::spawn(clients::flusher::run(
            sdk_clients,
            store.clone(),
            hub.shutdown_token(),
        ));
        let follower = match edge {
            Some(edge) => tokio::spawn(edge.run(hub.clone())),
            None => tokio::spawn(hub::follower::run(hub.clone(), metrics)),
        };
        Ok(Application {
            addr,
            server,
            hub,
            follower,
            driver,
            clients_flusher,
            handle_signals: config.handle_signals,
            state: weak_state,
            store: Arc::downgrade(&store),
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that stops this server from another task.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            server: self.server.handle(),
            shutdown: self.hub.shutdown_token(),
        }
    }

    /// Serves until stopped (SIGTERM / ctrl-c, or a [`ShutdownHandle`]), then stops the
    /// background tasks.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let signals = self.handle_signals.then(|| {
            let handle = self.shutdown_handle();
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::info!("stop signal received; stopping");
                handle.stop().await;
            })
        });
        let result = self.server.await;
        if let Some(task) = signals {
            task.abort();
        }
        self.hub.shutdown();
        if let Err(e) = self.follower.await {
            tracing::warn!(error = %e, "the follower task failed");
        }
        if let Some(driver) = self.driver {
            if let Err(e) = driver.await {
                tracing::warn!(error = %e, "the release driver failed");
            }
        }
        if let Err(e) = self.clients_flusher.await {
            tracing::warn!(error = %e, "the SDK clients flusher failed");
        }
        drop(self.hub);
        // Worker threads drop their copy of the state just after they stop: wait for that, so
        // that the store is closed (and can be opened again) once this returns.
        let deadline = std::time::Instant::now() + SHUTDOWN_TIMEOUT;
        while (self.state.strong_count() > 0 || self.store.strong_count() > 0)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if self.store.strong_count() > 0 {
            tracing::warn!(
                state_held = self.state.strong_count() > 0,
                "the store is still in use after stopping"
            );
        }
        tracing::info!("flag-server stopped");
        result.context("the HTTP server failed")
    }
}

/// Resolves on SIGTERM or ctrl-c.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only ctrl-c stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Initialises logging and runs a server with this configuration until it is stopped.
pub async fn run(config: Config) -> anyhow::Result<()> {
    telemetry::init(&config.log, config.log_format);
    if config.print_openapi {
        print!("{}", openapi::document_json());
        return Ok(());
    }
    Application::build(config).await?.run_until_stopped().await
}

/// The `flag-server` command: parses the configuration (flags and `FLAG_*` variables), runs the
/// server, and says why it stopped when it failed. Both the `flag-server` binary and the fault
/// suite's `fault-server` are exactly this.
pub async fn main_from_args() -> std::process::ExitCode {
    use clap::Parser;
    match run(Config::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flag-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
