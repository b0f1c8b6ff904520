//! Sends evaluation counts to `POST /api/v1/sdk/metrics` in the background.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::builder::Config;
use super::state::Shared;

/// Reports every `metrics_interval` and once more at shutdown.
pub(crate) async fn run(
    shared: Arc<Shared>,
    http: reqwest::Client,
    cfg: Arc<Config>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(cfg.metrics_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let last = tokio::select! {
            _ = tick.tick() => false,
            _ = shutdown.wait_for(|s| *s) => true,
        };
        send(&shared, &http, &cfg).await;
        if last {
            return;
        }
    }
}

/// Sends the counts since the last report, if any.
pub(crate) async fn send(shared: &Shared, http: &reqwest::Client, cfg: &Config) {
    let Some(usage) = shared.usage() else { return };
    let report = {
        let view = shared.view();
        usage.take_report(&view.counters)
    };
    let Some(report) = report else { return };
    let sent = http
        .post(cfg.metrics_url.clone())
        .timeout(Duration::from_secs(5))
        .json(&report)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => tracing::debug!(status = %r.status(), "evaluation counts were not accepted"),
        Err(e) => tracing::debug!(error = %e, "cannot send evaluation counts"),
    }
}
