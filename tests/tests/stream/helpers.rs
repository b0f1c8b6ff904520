//! Helpers of the stream tests: an admin HTTP client, a raw SSE reader, a TCP proxy that lets
//! a client keep one address while servers come and go, and wait-until with a deadline.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub use flag_tests::admin::{Admin, ENV};
pub use flag_tests::wait::wait_until;

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Ev {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

impl Ev {
    pub fn version(&self) -> u64 {
        self.id
            .as_deref()
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("event without a numeric id: {self:?}"))
    }
}

/// What the stream produced next.
#[derive(Debug)]
pub enum Item {
    Event(Ev),
    Comment(String),
    End,
    Silent,
}

/// A raw SSE reader, independent of the SDK's parser.
pub struct Sse {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Sse {
    /// Opens a stream; panics unless the answer is 200 `text/event-stream`.
    pub async fn open(base: &str, path: &str, token: &str, last_event_id: Option<&str>) -> Sse {
        let resp = Self::request(base, path, token, last_event_id).await;
        assert_eq!(resp.status().as_u16(), 200, "open {path}");
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(ct.starts_with("text/event-stream"), "content type {ct:?}");
        Sse {
            resp,
            buf: Vec::new(),
        }
    }

    pub async fn request(
        base: &str,
        path: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> reqwest::Response {
        let mut req = reqwest::Client::new()
            .get(format!("{}{path}", base.trim_end_matches('/')))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        req.send().await.unwrap()
    }

    pub async fn sdk(base: &str, key: &str, last_event_id: Option<&str>) -> Sse {
        Sse::open(base, "/api/v1/sdk/stream", key, last_event_id).await
    }

    /// The next event or comment within `within`.
    pub async fn next_item(&mut self, within: Duration) -> Item {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..pos + 2).collect();
                let text = String::from_utf8(block).unwrap();
                let (mut id, mut event, mut data, mut comment) =
                    (None, String::new(), String::new(), None);
                for line in text.lines() {
                    if let Some(c) = line.strip_prefix(':') {
                        comment = Some(c.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if !data.is_empty() {
                    let data = serde_json::from_str(&data)
                        .unwrap_or_else(|e| panic!("bad data {data:?}: {e}"));
                    return Item::Event(Ev { id, event, data });
                }
                if let Some(c) = comment {
                    return Item::Comment(c);
                }
                continue; // e.g. a `retry:` block
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Err(_) => return Item::Silent,
                Ok(Ok(Some(bytes))) => self.buf.extend_from_slice(&bytes),
                Ok(Ok(None)) | Ok(Err(_)) => return Item::End,
            }
        }
    }

    /// The next event (comments skipped); panics when there is none within `within`.
    pub async fn next_event(&mut self, within: Duration) -> Ev {
        loop {
            match self.next_item(within).await {
                Item::Event(e) => return e,
                Item::Comment(_) => continue,
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    /// Asserts that no event arrives within `within`.
    pub async fn expect_no_event(&mut self, within: Duration) {
        loop {
            match self.next_item(within).await {
                Item::Silent => return,
                Item::Comment(_) => continue,
                other => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Asserts that the stream ends within `within` (events before the end are returned).
    pub async fn expect_end(&mut self, within: Duration) -> Vec<Ev> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_item(left).await {
                Item::End => return seen,
                Item::Silent => panic!("the stream did not end within {within:?}"),
                Item::Event(e) => seen.push(e),
                Item::Comment(_) => {}
            }
        }
    }
}

/// A TCP proxy on a fixed local port that forwards to the current backend, or refuses
/// (closes at once) when there is none: an SDK client keeps one URL while servers restart.
pub struct Proxy {
    pub addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    task: tokio::task::JoinHandle<()>,
    /// Connections being relayed now.
    pub open: Arc<AtomicUsize>,
}

/// Requests seen by a proxy that refuses streams.
#[derive(Default)]
pub struct PollCounts {
    pub polls: AtomicUsize,
    pub not_modified: AtomicUsize,
}

impl Proxy {
    pub async fn start(target: Option<SocketAddr>) -> Proxy {
        Self::start_with(target, None).await
    }

    /// Every stream request is answered `503` (as by a proxy that cannot stream); other
    /// requests pass. Counts `GET /sdk/flags` requests and how many were answered `304`.
    pub async fn start_refusing_streams(target: SocketAddr) -> (Proxy, Arc<PollCounts>) {
        let counts = Arc::new(PollCounts::default());
        (
            Self::start_with(Some(target), Some(counts.clone())).await,
            counts,
        )
    }

    async fn start_with(target: Option<SocketAddr>, refuse: Option<Arc<PollCounts>>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target = Arc::new(Mutex::new(target));
        let open = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(listener, target.clone(), refuse, open.clone()));
        Proxy {
            addr,
            target,
            task,
            open,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points new connections elsewhere (existing ones end with their backend).
    pub fn set_target(&self, to: Option<SocketAddr>) {
        *self.target.lock().unwrap() = to;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    current: Arc<Mutex<Option<SocketAddr>>>,
    refuse: Option<Arc<PollCounts>>,
    open: Arc<AtomicUsize>,
) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        let to = *current.lock().unwrap();
        let refuse = refuse.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let Some(to) = to else {
                let _ = inbound.shutdown().await;
                return;
            };
            let Ok(mut outbound) = TcpStream::connect(to).await else {
                let _ = inbound.shutdown().await;
                return;
            };
            match refuse {
                None => {
                    // `open` counts connections until the client closes its side.
                    open.fetch_add(1, Ordering::SeqCst);
                    let (mut client_rx, mut client_tx) = inbound.split();
                    let (mut server_rx, mut server_tx) = outbound.split();
                    let upstream = async {
                        let _ = tokio::io::copy(&mut client_rx, &mut server_tx).await;
                        open.fetch_sub(1, Ordering::SeqCst);
                        let _ = server_tx.shutdown().await;
                    };
                    let downstream = async {
                        let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
                        let _ = client_tx.shutdown().await;
                    };
                    tokio::join!(upstream, downstream);
                }
                Some(counts) => relay_one(inbound, outbound, &counts).await,
            }
        });
    }
}

/// Relays one request that is not a stream request; answers a stream request `503`.
async fn relay_one(mut inbound: TcpStream, mut outbound: TcpStream, counts: &PollCounts) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match inbound.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    if text.starts_with("GET /api/v1/sdk/stream") {
        let _ = inbound
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        return;
    }
    let poll = text.starts_with("GET /api/v1/sdk/flags");
    // One request per connection: the server closes after its answer.
    let text = text.replacen("\r\n", "\r\nconnection: close\r\n", 1);
    if outbound.write_all(text.as_bytes()).await.is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = outbound.read_to_end(&mut answer).await;
    if poll {
        counts.polls.fetch_add(1, Ordering::SeqCst);
        if answer.starts_with(b"HTTP/1.1 304") {
            counts.not_modified.fetch_add(1, Ordering::SeqCst);
        }
    }
    let _ = inbound.write_all(&answer).await;
    let _ = inbound.shutdown().await;
}

/// `host:port` of a base URL.
pub fn socket_addr(base: &str) -> SocketAddr {
    let rest = base.trim_start_matches("http://");
    let hostport = rest.split('/').next().unwrap();
    hostport
        .parse()
        .unwrap_or_else(|_| panic!("not host:port: {hostport}"))
}
