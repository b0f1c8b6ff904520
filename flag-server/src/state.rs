//! [`AppState`]: everything the handlers share, registered once as `web::Data<AppState>`.

use std::sync::Arc;

use crate::auth::tokens::AdminTokens;
use crate::clients::Clients;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::service::Service;

/// Everything the handlers share. Registered once as `web::Data<AppState>`.
pub struct AppState {
    /// The admin API's rules over the store and the hub.
    pub service: Service,
    /// The accepted admin tokens.
    pub admin_tokens: AdminTokens,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// The SDK instances and streams this server sees.
    pub clients: Arc<Clients>,
}

impl AppState {
    /// The in-memory state of every environment and the SDK keys.
    pub fn hub(&self) -> &Arc<Hub> {
        self.service.hub()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("service", &self.service)
            .field("admin_tokens", &self.admin_tokens)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}
