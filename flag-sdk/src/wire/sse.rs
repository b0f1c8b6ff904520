//! Following a server's SSE stream (`GET /sdk/stream`, `GET /environments/{env}/stream`):
//! the one reader of its events, used by [`FlagClient`](crate::FlagClient) and `flag-cli watch`.
//!
//! [`request`] prepares the request (with `Last-Event-ID` to resume after a version: the
//! server then sends exactly the changes after it, or a fresh snapshot when it is too old);
//! [`EventStream`] reads the answer as typed [`StreamEvent`]s and remembers the last event
//! id, to resume from after the connection ends. Reconnecting, and how long to wait before
//! it, is the caller's policy.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use flag_sdk::wire::sse::{request, EventStream, StreamEvent};
//!
//! let http = reqwest::Client::new();
//! let mut resume: Option<String> = None;
//! loop {
//!     let req = http.get("http://127.0.0.1:8080/api/v1/sdk/stream").bearer_auth("sdk-key");
//!     let resp = request(req, resume.as_deref()).send().await?.error_for_status()?;
//!     let mut events = EventStream::new(resp).idle_limit(Duration::from_secs(45));
//!     while let Some(event) = events.next().await {
//!         match event {
//!             Ok(StreamEvent::Snapshot(s)) => println!("{} flags at version {}", s.flags.len(), s.version),
//!             Ok(StreamEvent::Put { version, data }) => println!("v{version}: put {}", data.flag["key"]),
//!             Ok(StreamEvent::Delete { version, data }) => println!("v{version}: delete {}", data.key),
//!             Ok(_) => {}
//!             Err(problem) => { eprintln!("{problem}"); break }
//!         }
//!     }
//!     resume = events.last_event_id().map(str::to_owned);
//!     tokio::time::sleep(Duration::from_secs(1)).await;
//! }
//! # }
//! ```

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::header::ACCEPT;

use super::{DeleteData, PutData, SegmentPutData, SnapshotBody};

/// How often an [`EventStream`] with an idle limit looks at the time of the last bytes.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// `req` asking for an event stream, resuming after `last_event_id` when given.
pub fn request(
    req: reqwest::RequestBuilder,
    last_event_id: Option<&str>,
) -> reqwest::RequestBuilder {
    let req = req.header(ACCEPT, "text/event-stream");
    match last_event_id {
        Some(id) => req.header("Last-Event-ID", id),
        None => req,
    }
}

/// One event of the stream, its data read into the wire type of its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// `snapshot`: the whole environment.
    Snapshot(SnapshotBody),
    /// `put`: a flag was created or changed at `version`.
    Put {
        /// The environment version of the change (the event id).
        version: u64,
        /// The event's data.
        data: PutData,
    },
    /// `delete`: a flag was deleted at `version`.
    Delete {
        /// The environment version of the change (the event id).
        version: u64,
        /// The event's data.
        data: DeleteData,
    },
    /// `segment_put`: a segment was created or changed at `version`.
    SegmentPut {
        /// The environment version of the change (the event id).
        version: u64,
        /// The event's data.
        data: SegmentPutData,
    },
    /// `segment_delete`: a segment was deleted at `version`.
    SegmentDelete {
        /// The environment version of the change (the event id).
        version: u64,
        /// The event's data: the segment's key.
        data: DeleteData,
    },
    /// Another kind of event, for newer clients: to be ignored.
    Other {
        /// The event's type.
        event: String,
    },
}

/// Why an [`EventStream`] cannot go on: the connection is to be given up (and resumed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// The connection broke.
    Broken(String),
    /// Nothing arrived, not even a heartbeat, for this long.
    Idle(Duration),
    /// An event could not be read.
    Unusable {
        /// The event's type.
        event: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Broken(e) => write!(f, "the stream broke: {e}"),
            StreamError::Idle(d) => write!(f, "no data or heartbeat for {}s", d.as_secs()),
            StreamError::Unusable { event, problem } => {
                write!(f, "a `{event}` event is unusable: {problem}")
            }
        }
    }
}

impl std::error::Error for StreamError {}

type Events = Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

/// The events of one stream connection.
pub struct EventStream {
    events: Events,
    started: Instant,
    /// Milliseconds after `started` when bytes last arrived.
    last_bytes: Arc<AtomicU64>,
    idle_limit: Option<Duration>,
    last_event_id: Option<String>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("idle_limit", &self.idle_limit)
            .field("last_event_id", &self.last_event_id)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// Reads the events of an accepted stream answer.
    pub fn new(resp: reqwest::Response) -> EventStream {
        let started = Instant::now();
        let last_bytes = Arc::new(AtomicU64::new(0));
        let seen = last_bytes.clone();
        let events = resp
            .bytes_stream()
            .inspect(move |_| seen.store(started.elapsed().as_millis() as u64, Ordering::Relaxed))
            .eventsource();
        EventStream {
            events: Box::pin(events),
            started,
            last_bytes,
            idle_limit: None,
            last_event_id: None,
        }
    }

    /// Gives up ([`StreamError::Idle`]) when no bytes, not even a heartbeat comment, arrive
    /// for `limit` (the server sends one at least every 15 s). Checked every few seconds.
    pub fn idle_limit(mut self, limit: Duration) -> EventStream {
        self.idle_limit = Some(limit);
        self
    }

    /// The id of the last event received: what to resume after (`Last-Event-ID`).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The next event; `None` when the server closed the stream.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, StreamError>> {
        let event = loop {
            let Some(limit) = self.idle_limit else {
                break self.events.next().await;
            };
            tokio::select! {
                e = self.events.next() => break e,
                () = tokio::time::sleep(IDLE_CHECK) => {
                    let last = Duration::from_millis(self.last_bytes.load(Ordering::Relaxed));
                    if self.started.elapsed().saturating_sub(last) > limit {
                        return Some(Err(StreamError::Idle(limit)));
                    }
                }
            }
        };
        Some(match event? {
            Ok(event) => {
                if !event.id.is_empty() {
                    self.last_event_id = Some(event.id.clone());
                }
                read(&event)
            }
            Err(e) => Err(StreamError::Broken(e.to_string())),
        })
    }
}

/// An event's data in the wire type `T`.
fn data<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, StreamError> {
    serde_json::from_str(&event.data).map_err(|e| StreamError::Unusable {
        event: event.event.clone(),
        problem: e.to_string(),
    })
}

/// An event in its wire type.
fn read(event: &Event) -> Result<StreamEvent, StreamError> {
    let unusable = |problem: String| StreamError::Unusable {
        event: event.event.clone(),
        problem,
    };
    let version = || {
        event
            .id
            .trim()
            .parse::<u64>()
            .map_err(|_| unusable(format!("bad event id {:?}", event.id)))
    };
    Ok(match event.event.as_str() {
        "snapshot" => StreamEvent::Snapshot(data(event)?),
        "put" => StreamEvent::Put {
            version: version()?,
            data: data(event)?,
        },
        "delete" => StreamEvent::Delete {
            version: version()?,
            data: data(event)?,
        },
        "segment_put" => StreamEvent::SegmentPut {
            version: version()?,
            data: data(event)?,
        },
        "segment_delete" => StreamEvent::SegmentDelete {
            version: version()?,
            data: data(event)?,
        },
        other => StreamEvent::Other {
            event: other.to_owned(),
        },
    })
}
