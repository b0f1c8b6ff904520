//! A real Redis Sentinel deployment for tests: a primary and a replica (`redis-server
//! --replicaof`) and three `redis-server --sentinel` processes on free loopback ports, and a
//! failover (`SENTINEL FAILOVER`). Killed when dropped (or when the test process exits).

use std::time::{Duration, Instant};

use crate::node::{info_field, poll, Node};

/// How long the deployment may take to form, or a failover to complete.
const DEADLINE: Duration = Duration::from_secs(30);

/// The name the sentinels know the primary by.
pub const MASTER_NAME: &str = "flagmaster";

/// A running primary, replica and three sentinels.
#[derive(Debug)]
pub struct RedisSentinel {
    /// Both data nodes; which one is the primary changes with a failover.
    data: Vec<Node>,
    sentinels: Vec<Node>,
}

const DATA_ARGS: [&str; 4] = ["--appendonly", "no", "--save", ""];

impl RedisSentinel {
    /// Starts the primary, the replica (waiting until it is in sync) and three sentinels
    /// (waiting until each knows the replica and the other sentinels).
    pub fn start() -> RedisSentinel {
        let primary = Node::start("", &DATA_ARGS);
        let primary_port = primary.port().to_string();
        let mut args = DATA_ARGS.to_vec();
        args.extend(["--replicaof", "127.0.0.1", &primary_port]);
        let replica = Node::start("", &args);
        poll("the replica is in sync", DEADLINE, || {
            let info: String = replica.query(redis::cmd("INFO").arg("replication")).ok()?;
            (info_field(&info, "master_link_status").as_deref() == Some("up")).then_some(())
        });
        let config = format!(
            "sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 5000\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n"
        );
        let sentinels: Vec<Node> = (0..3)
            .map(|_| Node::start(&config, &["--sentinel"]))
            .collect();
        let deployment = RedisSentinel {
            data: vec![primary, replica],
            sentinels,
        };
        poll(
            "every sentinel knows the replica and the other sentinels",
            DEADLINE,
            || {
                deployment
                    .sentinels
                    .iter()
                    .all(|s| {
                        let replicas: Vec<redis::Value> = s
                            .query(redis::cmd("SENTINEL").arg("REPLICAS").arg(MASTER_NAME))
                            .unwrap_or_default();
                        let others: Vec<redis::Value> = s
                            .query(redis::cmd("SENTINEL").arg("SENTINELS").arg(MASTER_NAME))
                            .unwrap_or_default();
                        replicas.len() == 1 && others.len() == 2
                    })
                    .then_some(())
            },
        );
        deployment
    }

    /// `redis+sentinel://127.0.0.1:<s1>,127.0.0.1:<s2>,127.0.0.1:<s3>/flagmaster`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","))
    }

    /// The port of the primary the first sentinel names.
    pub fn primary_port(&self) -> u16 {
        let addr: Vec<String> = self.sentinels[0]
            .query(
                redis::cmd("SENTINEL")
                    .arg("GET-MASTER-ADDR-BY-NAME")
                    .arg(MASTER_NAME),
            )
            .expect("SENTINEL GET-MASTER-ADDR-BY-NAME");
        addr.get(1)
            .and_then(|p| p.parse().ok())
            .expect("a primary address")
    }

    /// The node that is the primary now.
    pub fn primary(&self) -> &Node {
        let port = self.primary_port();
        self.data
            .iter()
            .find(|n| n.port() == port)
            .expect("the primary is one of the data nodes")
    }

    /// `SENTINEL FAILOVER` and waits until every sentinel names the former replica, it is a
    /// primary, and the former primary replicates from it. Returns the new primary's port
    /// and how long the failover took.
    pub fn failover(&self) -> (u16, Duration) {
        let old = self.primary_port();
        let new = self
            .data
            .iter()
            .find(|n| n.port() != old)
            .expect("a replica")
            .port();
        let started = Instant::now();
        // Refused (NOGOODSLAVE) until the sentinel has fresh information about the replica.
        poll("a sentinel accepts SENTINEL FAILOVER", DEADLINE, || {
            self.sentinels[0]
                .query::<String>(redis::cmd("SENTINEL").arg("FAILOVER").arg(MASTER_NAME))
                .ok()
        });
        poll("the failover is complete", DEADLINE, || {
            let named = self.sentinels.iter().all(|s| {
                s.query::<Vec<String>>(
                    redis::cmd("SENTINEL")
                        .arg("GET-MASTER-ADDR-BY-NAME")
                        .arg(MASTER_NAME),
                )
                .is_ok_and(|a| a.get(1) == Some(&new.to_string()))
            });
            let roles = self.data.iter().all(|n| {
                let info: String = n
                    .query(redis::cmd("INFO").arg("replication"))
                    .unwrap_or_default();
                if n.port() == new {
                    info_field(&info, "role").as_deref() == Some("master")
                } else {
                    info_field(&info, "master_link_status").as_deref() == Some("up")
                        && info_field(&info, "master_port") == Some(new.to_string())
                }
            });
            (named && roles).then_some(())
        });
        (new, started.elapsed())
    }
}
