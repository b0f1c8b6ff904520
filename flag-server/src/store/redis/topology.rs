//! Where the store's commands go: one Redis, a Redis Cluster, or the primary that Redis
//! Sentinel names, chosen by the URL's scheme.
//!
//! - `redis://…`, `rediss://…`: one Redis, through a [`ConnectionManager`].
//! - `redis+cluster://[user:password@]host:port,host:port,…`: a Redis Cluster; any reachable
//!   nodes will do, the others are discovered. The cluster connection routes each command to
//!   the primary of its key's slot and follows `MOVED` / `ASK` and failovers by itself.
//! - `redis+sentinel://[user:password@]host:port,host:port,…/MASTER_NAME`: the primary the
//!   sentinels name. Credentials are those of the Redis nodes (the sentinels are asked without).
//!   The primary is asked of the sentinels again after a failure and at least every
//!   [`RECHECK`], so a failover is followed without a restart.
//!
//! A password is never part of a message this module makes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, Cmd, IntoConnectionInfo, Pipeline, RedisFuture, Value};

use super::{bounded, CALL_TIMEOUT, CONNECT_TIMEOUT, RESPONSE_TIMEOUT};
use crate::store::{unavailable, Result, StoreError};

/// How long a primary named by the sentinels is used before they are asked again.
pub(super) const RECHECK: Duration = Duration::from_secs(1);

/// A connection of any topology; commands are sent through it alike.
#[derive(Clone)]
pub(super) enum Conn {
    /// The shared, reconnecting connection to one Redis.
    Manager(ConnectionManager),
    /// A plain connection to one Redis (blocking commands).
    Plain(MultiplexedConnection),
    /// A cluster connection, which routes by key.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Manager(c) => c.req_packed_command(cmd),
            Conn::Plain(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Manager(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Plain(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Manager(c) => c.get_db(),
            Conn::Plain(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// The deployment the URL names, and the shared connection to it.
// One per store: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Topology {
    /// One Redis.
    Single {
        /// For the dedicated connections of blocking commands.
        client: Client,
        /// The shared connection.
        manager: ConnectionManager,
    },
    /// A Redis Cluster.
    Cluster {
        /// For the shared connection (short timeouts).
        client: ClusterClient,
        /// For the dedicated connections of blocking commands (no response timeout).
        blocking: ClusterClient,
        /// The shared connection, made on first use.
        shared: tokio::sync::Mutex<Option<ClusterConnection>>,
    },
    /// The primary Redis Sentinel names.
    Sentinel(Box<Sentinel>),
}

/// A primary named by the sentinels.
#[derive(Clone)]
pub(super) struct Primary {
    /// `host:port`, to tell a new primary from the old one.
    pub(super) addr: String,
    /// For dedicated connections to it.
    pub(super) client: Client,
    manager: ConnectionManager,
    /// When the sentinels last confirmed it; `None`: ask them before the next command.
    checked: Option<Instant>,
}

/// Following the primary of a Sentinel deployment.
pub(super) struct Sentinel {
    sentinels: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Option<Primary>>,
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Topology::Single { .. } => "Single",
            Topology::Cluster { .. } => "Cluster",
            Topology::Sentinel(_) => "Sentinel",
        })
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::InvalidArgument(format!("invalid Redis URL: {what}: {e}"))
}

/// `rest` of a `scheme://rest` URL split into credentials (`user:password`, without the `@`),
/// the comma-separated `host:port` list and the path (without the leading `/`).
fn split_nodes(rest: &str) -> Result<(Option<&str>, Vec<&str>, &str)> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let hosts: Vec<&str> = hosts.split(',').map(str::trim).collect();
    if hosts.iter().any(|h| h.is_empty()) {
        return Err(StoreError::InvalidArgument(
            "invalid Redis URL: expected a comma-separated list of host:port".to_owned(),
        ));
    }
    Ok((userinfo, hosts, path))
}

/// `redis://[userinfo@]host/`, the URL of one node.
fn node_url(userinfo: Option<&str>, host: &str) -> String {
    match userinfo {
        Some(u) => format!("redis://{u}@{host}/"),
        None => format!("redis://{host}/"),
    }
}

impl Topology {
    /// The topology `url` names; connects nothing yet.
    pub(super) fn open(url: &str) -> Result<Topology> {
        if let Some(rest) = url.strip_prefix("redis+cluster://") {
            Self::cluster(rest)
        } else if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            Self::sentinel(rest)
        } else {
            Self::single(url)
        }
    }

    fn single(url: &str) -> Result<Topology> {
        let client = Client::open(url).map_err(|e| invalid("cannot parse it", e))?;
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), manager_config())
            .map_err(|e| {
                StoreError::InvalidArgument(format!("invalid Redis configuration: {e}"))
            })?;
        Ok(Topology::Single { client, manager })
    }

    fn cluster(rest: &str) -> Result<Topology> {
        let (userinfo, hosts, path) = split_nodes(rest)?;
        if !path.is_empty() {
            return Err(StoreError::InvalidArgument(
                "invalid Redis URL: a redis+cluster:// URL has no path (a cluster has only database 0)"
                    .to_owned(),
            ));
        }
        let nodes: Vec<String> = hosts.iter().map(|h| node_url(userinfo, h)).collect();
        let builder = |response: Duration| {
            ClusterClientBuilder::new(nodes.clone())
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(response)
                .retries(4)
                .min_retry_wait(50)
                .max_retry_wait(400)
                .build()
                .map_err(|e| invalid("cannot use the cluster nodes", e))
        };
        Ok(Topology::Cluster {
            client: builder(RESPONSE_TIMEOUT)?,
            // Blocking reads are bounded by their caller.
            blocking: builder(Duration::from_secs(24 * 3600))?,
            shared: tokio::sync::Mutex::new(None),
        })
    }

    fn sentinel(rest: &str) -> Result<Topology> {
        let (userinfo, hosts, path) = split_nodes(rest)?;
        let master = path.trim_end_matches('/');
        if master.is_empty() || master.contains('/') {
            return Err(StoreError::InvalidArgument(
                "invalid Redis URL: a redis+sentinel:// URL ends with /MASTER_NAME".to_owned(),
            ));
        }
        let sentinels: Vec<String> = hosts.iter().map(|h| node_url(None, h)).collect();
        let mut node = SentinelNodeConnectionInfo::default();
        if userinfo.is_some() {
            let info = node_url(userinfo, hosts[0])
                .into_connection_info()
                .map_err(|e| invalid("cannot parse the credentials", e))?;
            node = node.set_redis_connection_info(info.redis_settings().clone());
        }
        let client =
            SentinelClient::build(sentinels, master, Some(node), SentinelServerType::Master)
                .map_err(|e| invalid("cannot use the sentinel nodes", e))?;
        Ok(Topology::Sentinel(Box::new(Sentinel {
            sentinels: tokio::sync::Mutex::new(client),
            current: Mutex::new(None),
        })))
    }

    /// Whether this is a Redis Cluster (multi-key commands must stay in one slot).
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, Topology::Cluster { .. })
    }

    /// The shared connection (for everything but blocking commands).
    pub(super) async fn shared(&self) -> Result<Conn> {
        match self {
            Topology::Single { manager, .. } => Ok(Conn::Manager(manager.clone())),
            Topology::Cluster { client, shared, .. } => {
                let mut slot = shared.lock().await;
                if let Some(c) = slot.as_ref() {
                    return Ok(Conn::Cluster(c.clone()));
                }
                let c = bounded(CALL_TIMEOUT, client.get_async_connection()).await?;
                *slot = Some(c.clone());
                Ok(Conn::Cluster(c))
            }
            Topology::Sentinel(s) => Ok(Conn::Manager(s.primary().await?.manager)),
        }
    }

    /// A new dedicated connection for a blocking command, and a tag: a pooled connection
    /// whose tag differs from [`Topology::tag`] no longer leads to the right server.
    pub(super) async fn dedicated(&self) -> Result<(String, Conn)> {
        match self {
            Topology::Single { client, .. } => Ok((String::new(), plain(client).await?)),
            Topology::Cluster { blocking, .. } => {
                let c = bounded(CALL_TIMEOUT, blocking.get_async_connection()).await?;
                Ok((String::new(), Conn::Cluster(c)))
            }
            Topology::Sentinel(s) => {
                let p = s.primary().await?;
                Ok((p.addr, plain(&p.client).await?))
            }
        }
    }

    /// The tag of the server dedicated connections should lead to now.
    pub(super) async fn tag(&self) -> Result<String> {
        match self {
            Topology::Sentinel(s) => Ok(s.primary().await?.addr),
            _ => Ok(String::new()),
        }
    }

    /// Told that a command failed with [`StoreError::Unavailable`]: the sentinels are asked
    /// for the primary again before the next command.
    pub(super) fn failed(&self) {
        if let Topology::Sentinel(s) = self {
            if let Ok(mut cur) = s.current.lock() {
                if let Some(p) = cur.as_mut() {
                    p.checked = None;
                }
            }
        }
    }
}

/// A plain connection without a response timeout (the caller bounds blocking commands).
async fn plain(client: &Client) -> Result<Conn> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(None);
    let connect = client.get_multiplexed_async_connection_with_config(&config);
    Ok(Conn::Plain(bounded(CALL_TIMEOUT, connect).await?))
}

impl Sentinel {
    /// The primary: the one in use when the sentinels confirmed it within [`RECHECK`] and no
    /// command failed since, else the one they name now. While no sentinel answers, the
    /// primary in use stays in use.
    async fn primary(&self) -> Result<Primary> {
        if let Some(p) = self.fresh() {
            return Ok(p);
        }
        let mut sentinels = self.sentinels.lock().await;
        // Another caller may have asked while this one waited for the lock.
        if let Some(p) = self.fresh() {
            return Ok(p);
        }
        let current = self.current.lock().ok().and_then(|c| c.clone());
        let asked = bounded(CALL_TIMEOUT, sentinels.async_get_client()).await;
        drop(sentinels);
        let primary = match (asked, current) {
            (Ok(client), current) => {
                let addr = client.get_connection_info().addr().to_string();
                match current {
                    Some(p) if p.addr == addr => Primary {
                        checked: Some(Instant::now()),
                        ..p
                    },
                    previous => {
                        if let Some(p) = previous {
                            tracing::warn!(from = %p.addr, to = %addr, "Redis Sentinel names a new primary; following it");
                        }
                        // The sentinels' answer carries the nodes' credentials.
                        let manager = ConnectionManager::new_lazy_with_config(
                            client.clone(),
                            manager_config(),
                        )
                        .map_err(|e| StoreError::Internal(format!("Redis connection: {e}")))?;
                        Primary {
                            addr,
                            client,
                            manager,
                            checked: Some(Instant::now()),
                        }
                    }
                }
            }
            // No sentinel answered: keep what works, ask again after RECHECK.
            (Err(_), Some(p)) => Primary {
                checked: Some(Instant::now()),
                ..p
            },
            (Err(e), None) => {
                return Err(match e {
                    StoreError::Unavailable(m) => {
                        unavailable(format!("no primary from Redis Sentinel: {m}"))
                    }
                    other => unavailable(format!("no primary from Redis Sentinel: {other}")),
                })
            }
        };
        if let Ok(mut cur) = self.current.lock() {
            *cur = Some(primary.clone());
        }
        Ok(primary)
    }

    /// The primary in use, when confirmed within [`RECHECK`].
    fn fresh(&self) -> Option<Primary> {
        let cur = self.current.lock().ok()?;
        let p = cur.as_ref()?;
        p.checked
            .is_some_and(|at| at.elapsed() < RECHECK)
            .then(|| p.clone())
    }
}

/// The shared connection's settings.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(200))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> String {
        match Topology::open(url) {
            Err(StoreError::InvalidArgument(m)) => m,
            Err(e) => panic!("{url}: expected InvalidArgument, got {e}"),
            Ok(t) => panic!("{url}: expected an error, got {t:?}"),
        }
    }

    #[test]
    fn schemes_pick_the_topology() {
        let cluster = Topology::open("redis+cluster://10.0.0.1:6379,10.0.0.2:6380").unwrap();
        assert!(cluster.is_cluster());
        let cluster = Topology::open("redis+cluster://:pw@10.0.0.1:6379/").unwrap();
        assert!(cluster.is_cluster());
        let sentinel =
            Topology::open("redis+sentinel://u:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster").unwrap();
        assert!(matches!(sentinel, Topology::Sentinel(_)));
        assert!(!sentinel.is_cluster());
    }

    #[test]
    fn malformed_urls_are_refused_without_their_password() {
        for url in [
            "redis+cluster://user:s3cret@10.0.0.1:6379,,10.0.0.2:6379",
            "redis+cluster://user:s3cret@10.0.0.1:6379/2",
            "redis+sentinel://user:s3cret@10.0.0.1:26379",
            "redis+sentinel://user:s3cret@10.0.0.1:26379/",
            "redis+sentinel://user:s3cret@10.0.0.1:26379/a/b",
            "redis+sentinel://user:s3cret@/mymaster",
            "redis+cluster://user:s3cret@10.0.0.1:notaport",
            "redis+sentinel://user:s3cret@10.0.0.1:notaport/mymaster",
            "redis://user:s3cret@10.0.0.1:notaport/",
        ] {
            let message = refused(url);
            assert!(!message.contains("s3cret"), "{url}: {message}");
        }
    }

    #[test]
    fn node_urls_keep_the_credentials() {
        let (userinfo, hosts, path) = split_nodes("u:p@a:1,b:2/m").unwrap();
        assert_eq!(userinfo, Some("u:p"));
        assert_eq!(hosts, ["a:1", "b:2"]);
        assert_eq!(path, "m");
        assert_eq!(node_url(userinfo, "a:1"), "redis://u:p@a:1/");
        assert_eq!(node_url(None, "b:2"), "redis://b:2/");
    }
}
