//! A tiny stand-in for Prometheus's query API (`GET /api/v1/query`), for release guards: it
//! answers an instant vector with one sample whose value the test sets, or no sample, or an
//! error status, and records every query it answered.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What the fake answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    /// One sample with this value.
    Value(f64),
    /// An empty vector.
    NoData,
    /// This HTTP status with a Prometheus error body.
    Status(u16),
}

/// One query the fake answered.
#[derive(Debug, Clone)]
pub struct Query {
    /// When it was answered.
    pub at: Instant,
    /// The request's target (path and query string).
    pub target: String,
    /// What it was answered.
    pub answer: Answer,
}

#[derive(Debug)]
struct Shared {
    answer: Answer,
    queries: Vec<Query>,
}

/// A fake Prometheus on a free local port; stops when dropped.
#[derive(Debug)]
pub struct FakePrometheus {
    url: String,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl FakePrometheus {
    /// Starts it, answering `answer` until told otherwise.
    pub async fn start(answer: Answer) -> FakePrometheus {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let shared = Arc::new(Mutex::new(Shared {
            answer,
            queries: Vec::new(),
        }));
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    let target = head.split(' ').nth(1).unwrap_or("").to_owned();
                    let answer = {
                        let mut s = s.lock().unwrap();
                        let answer = s.answer;
                        if target.starts_with("/api/v1/query?") {
                            s.queries.push(Query {
                                at: Instant::now(),
                                target: target.clone(),
                                answer,
                            });
                        }
                        answer
                    };
                    let (status, body) = match answer {
                        _ if !target.starts_with("/api/v1/query?") => {
                            (404, r#"{"status":"error","error":"not found"}"#.to_owned())
                        }
                        Answer::Value(v) => (
                            200,
                            format!(
                                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"job":"checkout"}},"value":[1700000000.5,"{v}"]}}]}}}}"#
                            ),
                        ),
                        Answer::NoData => (
                            200,
                            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
                                .to_owned(),
                        ),
                        Answer::Status(code) => (
                            code,
                            r#"{"status":"error","errorType":"internal","error":"fake failure"}"#
                                .to_owned(),
                        ),
                    };
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(response.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        FakePrometheus { url, shared, task }
    }

    /// `http://127.0.0.1:<port>`, Prometheus's base URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Answers `answer` from now on.
    pub fn set(&self, answer: Answer) {
        self.shared.lock().unwrap().answer = answer;
    }

    /// Every query answered so far.
    pub fn queries(&self) -> Vec<Query> {
        self.shared.lock().unwrap().queries.clone()
    }
}

impl Drop for FakePrometheus {
    fn drop(&mut self) {
        self.task.abort();
    }
}
