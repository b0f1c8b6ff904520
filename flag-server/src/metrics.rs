//! Request accounting: one log line per request, and Prometheus metrics, served as text at `GET /metrics`:
//!
//! - `http_requests_total{method,route,status}`: requests by route pattern (not by raw path,
//!   so the label set stays small) and status.
//! - `http_request_duration_seconds{route}`: latency histogram.
//! - `flags{environment}` and `environment_version{environment}`: what the hub holds.
//! - `store_errors_total{source}`: store failures seen by requests (`request`, counted from
//!   503 answers) and by the follower (`follower`).
//! - `flag_streams_connected{environment}`: streams connected to this instance now, SDK and
//!   admin.
//! - `flag_sdk_clients{environment,app_name,app_version}`: SDK instances this instance saw
//!   in the last hour (from its memory; an absent name or version is `""`).

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tracing::Instrument;

use crate::clients::Clients;
use crate::hub::Hub;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnvLabels {
    environment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    environment: String,
    app_name: String,
    app_version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs .. ~1.6 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

/// The server's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    flags: Family<EnvLabels, Gauge>,
    versions: Family<EnvLabels, Gauge>,
    store_errors: Family<SourceLabels, Counter>,
    store_restores: Counter,
    streams: Family<EnvLabels, Gauge>,
    sdk_clients: Family<AppLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let flags = Family::<EnvLabels, Gauge>::default();
        let versions = Family::<EnvLabels, Gauge>::default();
        let store_errors = Family::<SourceLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route pattern and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route pattern",
            latency.clone(),
        );
        registry.register("flags", "Flags per environment", flags.clone());
        registry.register(
            "environment_version",
            "Change version per environment",
            versions.clone(),
        );
        registry.register("store_errors", "Store failures", store_errors.clone());
        let store_restores = Counter::default();
        registry.register(
            "flag_store_restores",
            "Times this instance wrote its state back to a store that had lost its data",
            store_restores.clone(),
        );
        let streams = Family::<EnvLabels, Gauge>::default();
        registry.register(
            "flag_streams_connected",
            "Streams connected to this instance now (SDK and admin), per environment",
            streams.clone(),
        );
        let sdk_clients = Family::<AppLabels, Gauge>::default();
        registry.register(
            "flag_sdk_clients",
            "SDK instances this instance saw in the last hour, per environment, application name and version",
            sdk_clients.clone(),
        );
        for source in ["request", "follower"] {
            let _ = store_errors.get_or_create(&SourceLabels {
                source: source.to_owned(),
            });
        }
        Metrics {
            registry,
            requests,
            latency,
            flags,
            versions,
            store_errors,
            store_restores,
            streams,
            sdk_clients,
        }
    }

    /// Counts a restore of the store from this instance's memory.
    pub fn store_restored(&self) {
        self.store_restores.inc();
    }

    /// Counts a store failure seen by `source`.
    pub fn store_error(&self, source: &str) {
        self.store_errors
            .get_or_create(&SourceLabels {
                source: source.to_owned(),
            })
            .inc();
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
        if status == 503 {
            self.store_error("request");
        }
    }

    /// The metrics in Prometheus text format, with the gauges of the hub and of the SDK
    /// clients brought up to date.
    pub fn render(&self, hub: &Hub, clients: &Clients) -> String {
        self.flags.clear();
        self.versions.clear();
        self.streams.clear();
        self.sdk_clients.clear();
        let streams = clients.streams();
        for view in hub.views() {
            let n = streams.get(&view.environment).copied().unwrap_or_default();
            self.streams
                .get_or_create(&EnvLabels {
                    environment: view.environment.to_string(),
                })
                .set(n);
        }
        for ((env, app_name, app_version), n) in clients.census() {
            self.sdk_clients
                .get_or_create(&AppLabels {
                    environment: env.to_string(),
                    app_name,
                    app_version,
                })
                .set(n);
        }
        for view in hub.views() {
            let labels = EnvLabels {
                environment: view.environment.to_string(),
            };
            self.flags
                .get_or_create(&labels)
                .set(view.snapshot.len() as i64);
            self.versions
                .get_or_create(&labels)
                .set(i64::try_from(view.version).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// Middleware that counts and times every request by its route pattern, and logs it (at
/// `info`) inside a span with a request id, the method and the path. Headers, and so tokens,
/// are never logged. The span's fields are only computed when `info` is enabled.
pub async fn track(
    metrics: Arc<Metrics>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let span = tracing::info_span!(
        "request",
        id = %uuid::Uuid::new_v4(),
        method = %req.method(),
        path = %req.path(),
    );
    let method = req.method().clone();
    let res = next.call(req).instrument(span.clone()).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16();
    let elapsed = start.elapsed();
    metrics.observe(method.as_str(), &route, status, elapsed.as_secs_f64());
    let _entered = span.enter();
    if status >= 500 {
        tracing::warn!(route = %route, status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request");
    } else {
        tracing::info!(route = %route, status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request");
    }
    Ok(res)
}
