//! Logging through `tracing`: human-readable lines or JSON lines (`FLAG_LOG_FORMAT=json`),
//! filtered by `FLAG_LOG`. Each request is logged by [`crate::metrics::track`] with a request
//! id, route, status and latency; headers (and so tokens) are never logged.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber. Safe to call more than once in a process (tests start
/// several servers): later calls change nothing. A bad filter falls back to `info`.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|e| {
        eprintln!("invalid FLAG_LOG filter {filter:?} ({e}); using \"info\"");
        EnvFilter::new("info")
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // Err means a subscriber is installed already: keep it.
    let _ = result;
}
