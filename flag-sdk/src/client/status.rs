//! The client's connection status, derived from what the stream and the poller last saw,
//! published on a watch channel and logged once per change.

use std::sync::Mutex;

use tokio::sync::watch;

/// Where a [`FlagClient`](crate::FlagClient) stands with the flag server.
///
/// Evaluation works the same in every state (on the last flags it has); the status says how
/// fresh those flags are, for health checks and dashboards.
///
/// ```
/// use flag_sdk::{ClientStatus, FlagClient};
/// let flags = FlagClient::offline([]);
/// assert_eq!(flags.status(), ClientStatus::Live);
/// assert!(flags.status().is_live());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientStatus {
    /// No flags from the server yet (and none from a backup file): every flag is off.
    Connecting,
    /// Up to date: the stream is connected, or the last poll succeeded.
    Live,
    /// Evaluating on earlier flags (from the server or the backup file) while the client
    /// reconnects.
    Stale,
    /// The server's last answer was 401 or 403 (unknown or revoked SDK key). The client keeps
    /// its last flags and keeps asking, slowly
    /// ([`refused_retry`](crate::FlagClientBuilder::refused_retry)), so it recovers by itself
    /// once the server accepts the key again.
    Refused,
}

impl ClientStatus {
    /// True for [`ClientStatus::Live`].
    ///
    /// ```
    /// assert!(!flag_sdk::ClientStatus::Stale.is_live());
    /// ```
    pub fn is_live(self) -> bool {
        self == ClientStatus::Live
    }
}

impl std::fmt::Display for ClientStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClientStatus::Connecting => "connecting",
            ClientStatus::Live => "live",
            ClientStatus::Stale => "stale",
            ClientStatus::Refused => "refused",
        })
    }
}

/// What the status is derived from.
#[derive(Debug, Default, Clone, Copy)]
struct Parts {
    /// A stream connection is open (answered 200).
    stream_up: bool,
    /// The last poll succeeded (reset when polling stops or a poll fails).
    poll_ok: bool,
    /// The last answer of the server was 401/403 (cleared by a successful answer).
    refused: bool,
    /// Flags from the server are in place.
    server_data: bool,
    /// Some flags are in place (server, backup file or offline set).
    any_data: bool,
}

impl Parts {
    fn status(&self) -> ClientStatus {
        if self.refused {
            ClientStatus::Refused
        } else if self.server_data && (self.stream_up || self.poll_ok) {
            ClientStatus::Live
        } else if self.any_data {
            ClientStatus::Stale
        } else {
            ClientStatus::Connecting
        }
    }
}

/// The status and its inputs, shared by the stream and poll tasks.
#[derive(Debug)]
pub(crate) struct StatusCell {
    parts: Mutex<Parts>,
    tx: watch::Sender<ClientStatus>,
}

impl StatusCell {
    pub(crate) fn new() -> StatusCell {
        StatusCell {
            parts: Mutex::new(Parts::default()),
            tx: watch::channel(ClientStatus::Connecting).0,
        }
    }

    /// An offline client: its fixed flags are all there is, so it is always live.
    pub(crate) fn offline(&self) {
        self.update(|p| {
            p.any_data = true;
            p.server_data = true;
            p.poll_ok = true;
        });
    }

    pub(crate) fn get(&self) -> ClientStatus {
        *self.tx.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<ClientStatus> {
        self.tx.subscribe()
    }

    /// Whether a stream connection is open.
    pub(crate) fn is_stream_up(&self) -> bool {
        self.parts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stream_up
    }

    /// A stream connection opened or ended. An open stream makes earlier poll results moot:
    /// once it ends, only a new poll (or a new connection) makes the client live again.
    pub(crate) fn stream_up(&self, up: bool) {
        self.update(|p| {
            p.stream_up = up;
            if up {
                p.poll_ok = false;
            }
        });
    }

    pub(crate) fn poll_ok(&self, ok: bool) {
        self.update(|p| p.poll_ok = ok);
    }

    /// The server answered 401/403.
    pub(crate) fn refused(&self) {
        self.update(|p| {
            p.refused = true;
            p.stream_up = false;
            p.poll_ok = false;
        });
    }

    /// The server accepted the key.
    pub(crate) fn accepted(&self) {
        self.update(|p| p.refused = false);
    }

    /// Flags are in place; `from_server` when they came from the server.
    pub(crate) fn data(&self, from_server: bool) {
        self.update(|p| {
            p.any_data = true;
            p.server_data |= from_server;
        });
    }

    fn update(&self, change: impl FnOnce(&mut Parts)) {
        let mut parts = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut parts);
        let next = parts.status();
        // Sent under the lock, so that concurrent updates publish in the order they happened.
        self.tx.send_if_modified(|current| {
            if *current == next {
                return false;
            }
            log_transition(*current, next);
            *current = next;
            true
        });
    }
}

/// One log line per change of state, never per retry.
fn log_transition(from: ClientStatus, to: ClientStatus) {
    match to {
        ClientStatus::Live => tracing::info!(%from, "flag client live: following the flag server"),
        ClientStatus::Stale if from == ClientStatus::Live => tracing::warn!(
            "flag client stale: lost the flag server; evaluating on the last flags while reconnecting"
        ),
        ClientStatus::Stale => {
            tracing::info!(%from, "flag client stale: evaluating on earlier flags while reconnecting")
        }
        ClientStatus::Refused => tracing::error!(
            %from,
            "flag client refused: the flag server does not accept the SDK key (401/403); keeping the last flags and retrying slowly"
        ),
        ClientStatus::Connecting => tracing::info!(%from, "flag client connecting"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_its_inputs() {
        let s = StatusCell::new();
        assert_eq!(s.get(), ClientStatus::Connecting);
        s.stream_up(true);
        assert_eq!(s.get(), ClientStatus::Connecting, "no data yet");
        s.data(true);
        assert_eq!(s.get(), ClientStatus::Live);
        s.stream_up(false);
        assert_eq!(s.get(), ClientStatus::Stale);
        s.poll_ok(true);
        assert_eq!(s.get(), ClientStatus::Live, "a poll keeps it live");
        s.refused();
        assert_eq!(s.get(), ClientStatus::Refused);
        s.stream_up(false);
        assert_eq!(
            s.get(),
            ClientStatus::Refused,
            "until the server accepts the key"
        );
        s.accepted();
        assert_eq!(s.get(), ClientStatus::Stale);
        s.stream_up(true);
        assert_eq!(s.get(), ClientStatus::Live);

        let backup = StatusCell::new();
        backup.data(false);
        assert_eq!(backup.get(), ClientStatus::Stale);
        backup.stream_up(true);
        assert_eq!(
            backup.get(),
            ClientStatus::Stale,
            "live only with server data"
        );
    }
}
