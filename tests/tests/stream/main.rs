//! Live updates: the SSE stream across server instances, and the SDK client that follows it.
//! Real servers on port 0, real Redis, real HTTP.

mod cluster;
mod helpers;
mod hot_path;
mod protocol;
mod sdk_client;
mod segments;

use std::path::Path;

use flag_tests::app::{StoreChoice, TestApp, ADMIN_TOKEN};
use flag_tests::redis::RedisServer;

#[global_allocator]
static ALLOC: hot_path::CountingAlloc = hot_path::CountingAlloc;

/// A test server with the few calls these tests need.
pub struct Server {
    app: TestApp,
}

impl Server {
    /// On the embedded store in a fresh directory.
    pub async fn embedded() -> Server {
        Server {
            app: TestApp::spawn(StoreChoice::Embedded).await,
        }
    }

    /// On the embedded store in a fresh directory, keeping only `n` changes for replay.
    pub async fn embedded_with_log(n: usize) -> Server {
        Server {
            app: TestApp::spawn_with(StoreChoice::Embedded, |c| c.change_log_len = n).await,
        }
    }

    /// On the embedded store in `dir` (to restart on the same data).
    pub async fn embedded_in(dir: &Path) -> Server {
        Server {
            app: TestApp::spawn(StoreChoice::EmbeddedAt(dir.to_path_buf())).await,
        }
    }

    /// On Redis; every instance started this way on one Redis shares the data.
    pub async fn on_redis(redis: &RedisServer) -> Server {
        Server {
            app: TestApp::spawn(StoreChoice::Redis {
                url: redis.url(),
                prefix: "flags".into(),
            })
            .await,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.app.address.clone()
    }

    /// Admin calls.
    pub fn admin(&self) -> helpers::Admin {
        helpers::Admin::new(&self.app.address, ADMIN_TOKEN)
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        self.app.stop().await;
    }
}
