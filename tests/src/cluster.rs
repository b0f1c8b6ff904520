//! A real Redis Cluster for tests: `redis-server --cluster-enabled yes` nodes on free loopback
//! ports, joined with `redis-cli --cluster create`, and a coordinated failover
//! (`CLUSTER FAILOVER` on a replica). Killed when dropped (or when the test process exits).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::node::{info_field, poll, Node};

/// How long the cluster may take to form, or a failover to complete.
const DEADLINE: Duration = Duration::from_secs(30);

/// A running Redis Cluster.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone)]
struct NodeLine {
    id: String,
    port: u16,
    primary: bool,
    primary_id: String,
    slots: Vec<(u16, u16)>,
}

fn parse_nodes(text: &str) -> Vec<NodeLine> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let addr = f.get(1)?.split('@').next()?;
            let port = addr.rsplit(':').next()?.parse().ok()?;
            let flags = f.get(2)?;
            let slots = f
                .iter()
                .skip(8)
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| match s.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => s.parse().ok().map(|v| (v, v)),
                })
                .collect();
            Some(NodeLine {
                id: f.first()?.to_string(),
                port,
                primary: flags.contains("master"),
                primary_id: f.get(3)?.to_string(),
                slots,
            })
        })
        .collect()
}

impl RedisCluster {
    /// Starts `primaries` primaries (at least 3) with `replicas` replicas each, forms the
    /// cluster and waits until every node sees every slot served and every replica in sync.
    pub fn start(primaries: usize, replicas: usize) -> RedisCluster {
        let count = primaries * (1 + replicas);
        let nodes: Vec<Node> = (0..count)
            .map(|_| {
                Node::start(
                    "",
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-port",
                        "{free}",
                        "--cluster-config-file",
                        "nodes.conf",
                        // Generous: a node starved of CPU by other tests must not be
                        // taken for failed (the failovers here are manual).
                        "--cluster-node-timeout",
                        "5000",
                        "--appendonly",
                        "no",
                        "--save",
                        "",
                    ],
                )
            })
            .collect();
        let verbose = std::env::var_os("TEST_LOG").is_some();
        let status = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())))
            .arg("--cluster-replicas")
            .arg(replicas.to_string())
            .arg("--cluster-yes")
            .stdin(Stdio::null())
            .stdout(if verbose {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(if verbose {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .status()
            .expect("run redis-cli --cluster create (install redis-tools)");
        assert!(
            status.success(),
            "redis-cli --cluster create failed: {status}"
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_healthy(primaries);
        cluster
    }

    /// Waits until every node answers `cluster_state:ok`, knows `primaries` primaries, and
    /// every replica's link to its primary is up.
    fn wait_healthy(&self, primaries: usize) {
        poll("the cluster is formed and in sync", DEADLINE, || {
            self.nodes
                .iter()
                .all(|n| {
                    let info: String = n
                        .query(redis::cmd("CLUSTER").arg("INFO"))
                        .unwrap_or_default();
                    let nodes: String = n
                        .query(redis::cmd("CLUSTER").arg("NODES"))
                        .unwrap_or_default();
                    let known = parse_nodes(&nodes);
                    let replication: String = n
                        .query(redis::cmd("INFO").arg("replication"))
                        .unwrap_or_default();
                    let in_sync = info_field(&replication, "role").as_deref() == Some("master")
                        || info_field(&replication, "master_link_status").as_deref() == Some("up");
                    info_field(&info, "cluster_state").as_deref() == Some("ok")
                        && known.len() == self.nodes.len()
                        && known.iter().filter(|l| l.primary).count() == primaries
                        && in_sync
                })
                .then_some(())
        });
    }

    /// `redis+cluster://127.0.0.1:<a>,127.0.0.1:<b>/`: two seed nodes; the rest are
    /// discovered.
    pub fn url(&self) -> String {
        format!(
            "redis+cluster://127.0.0.1:{},127.0.0.1:{}/",
            self.nodes[0].port(),
            self.nodes[1].port()
        )
    }

    /// The nodes' URLs (`redis://…`), for a cluster-aware client.
    pub fn node_urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::url).collect()
    }

    /// Runs one command on the cluster (routed by its key).
    pub fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let client = redis::cluster::ClusterClient::new(self.node_urls()).expect("cluster client");
        let mut c = client.get_connection().expect("connect to the cluster");
        cmd.query(&mut c).expect("a cluster command")
    }

    /// The port of the primary that serves `key` now.
    pub fn primary_of(&self, key: &str) -> u16 {
        let slot: u16 = self.nodes[0]
            .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
            .expect("CLUSTER KEYSLOT");
        self.owner(slot).port
    }

    fn owner(&self, slot: u16) -> NodeLine {
        let text: String = self
            .nodes
            .iter()
            .find_map(|n| n.query(redis::cmd("CLUSTER").arg("NODES")).ok())
            .expect("CLUSTER NODES from some node");
        parse_nodes(&text)
            .into_iter()
            .find(|l| l.primary && l.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
            .expect("a primary serves the slot")
    }

    fn node(&self, port: u16) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.port() == port)
            .expect("a node of this cluster")
    }

    /// Fails the primary serving `key` over to one of its replicas with `CLUSTER FAILOVER`
    /// (coordinated: no acknowledged write is lost) and waits until every node agrees the
    /// replica is the primary and the cluster is healthy. Returns the new primary's port and
    /// how long the failover took.
    pub fn failover_owner_of(&self, key: &str) -> (u16, Duration) {
        let slot: u16 = self.nodes[0]
            .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
            .expect("CLUSTER KEYSLOT");
        let old = self.owner(slot);
        let text: String = self
            .node(old.port)
            .query(redis::cmd("CLUSTER").arg("NODES"))
            .expect("CLUSTER NODES");
        let replica = parse_nodes(&text)
            .into_iter()
            .find(|l| !l.primary && l.primary_id == old.id)
            .expect("the primary has a replica");
        let started = Instant::now();
        let _: String = self
            .node(replica.port)
            .query(redis::cmd("CLUSTER").arg("FAILOVER"))
            .expect("CLUSTER FAILOVER");
        poll(
            "every node sees the replica as the primary",
            DEADLINE,
            || {
                self.nodes
                    .iter()
                    .all(|n| {
                        let info: String = n
                            .query(redis::cmd("CLUSTER").arg("INFO"))
                            .unwrap_or_default();
                        let nodes: String = n
                            .query(redis::cmd("CLUSTER").arg("NODES"))
                            .unwrap_or_default();
                        info_field(&info, "cluster_state").as_deref() == Some("ok")
                            && parse_nodes(&nodes)
                                .iter()
                                .any(|l| l.port == replica.port && l.primary)
                    })
                    .then_some(())
            },
        );
        (replica.port, started.elapsed())
    }
}
