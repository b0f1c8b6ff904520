//! `deploy/compose.yaml` against `docs/deploy.md`.

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::*;

/// The services of the table in docs/deploy.md's Compose section (first column, in backticks).
fn services_in_docs() -> BTreeSet<String> {
    let docs = read("docs/deploy.md");
    let section = docs
        .split("\n## ")
        .find(|s| s.starts_with("Docker Compose"))
        .expect("docs/deploy.md has a `## Docker Compose` section");
    let mut lines = section
        .lines()
        .skip_while(|l| !l.starts_with("| service |"));
    assert!(
        lines.next().is_some(),
        "the Compose section has a `| service |` table"
    );
    lines
        .skip(1) // |---|
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cell = l.split('|').nth(1).expect("a first cell").trim();
            cell.trim_matches('`').to_owned()
        })
        .collect()
}

pub(crate) fn compose() -> Value {
    documents("deploy/compose.yaml").remove(0)
}

fn compose_env<'a>(service: &'a Value, name: &str) -> Option<&'a str> {
    service["environment"].get(name).and_then(Value::as_str)
}

#[test]
fn compose_has_the_services_docs_deploy_md_names() {
    let compose = compose();
    let services: BTreeSet<String> = compose["services"]
        .as_mapping()
        .expect("services is a mapping")
        .keys()
        .map(|k| str_of(k, "service name").to_owned())
        .collect();
    assert_eq!(services, services_in_docs());
}

#[test]
fn compose_runs_two_servers_on_redis_with_aof_an_edge_and_a_reachable_console() {
    let compose = compose();
    let services = compose["services"].as_mapping().expect("services");
    let redis = &compose["services"]["redis"];
    let command: Vec<&str> = redis["command"]
        .as_sequence()
        .expect("redis's command is a list")
        .iter()
        .map(|c| str_of(c, "redis argument"))
        .collect();
    assert!(
        command.windows(2).any(|w| w == ["--appendonly", "yes"]),
        "Redis persists with AOF: {command:?}"
    );
    let volumes = redis["volumes"].as_sequence().expect("redis volumes");
    assert!(
        volumes
            .iter()
            .any(|v| v.as_str().is_some_and(|v| v.ends_with(":/data"))),
        "Redis keeps /data in a volume"
    );

    let mut servers = Vec::new();
    let mut edges = Vec::new();
    for (name, service) in services {
        let name = str_of(name, "service name");
        if name == "redis" {
            continue;
        }
        // Every flag-server service runs the image the repository's Dockerfile builds.
        assert_eq!(service["build"]["context"], "..", "{name}");
        assert_eq!(service["build"]["dockerfile"], "Dockerfile", "{name}");
        assert_eq!(
            compose_env(service, "FLAG_LISTEN"),
            Some("0.0.0.0:8080"),
            "{name}"
        );
        if let Some(url) = compose_env(service, "FLAG_REDIS_URL") {
            assert!(
                url.starts_with("redis://redis:"),
                "{name} uses the redis service, not {url}"
            );
            let token = compose_env(service, "FLAG_ADMIN_TOKEN").unwrap_or("");
            assert!(
                token.starts_with("${FLAG_ADMIN_TOKEN:?"),
                "{name}: the admin token comes from the environment, with no default: {token}"
            );
            servers.push((name, service));
        } else if let Some(upstream) = compose_env(service, "FLAG_UPSTREAM_URL") {
            assert!(
                compose_env(service, "FLAG_UPSTREAM_KEYS").is_some(),
                "{name}"
            );
            edges.push((name, upstream.to_owned()));
        } else {
            panic!("{name} is neither a server on Redis nor an edge");
        }
    }
    assert_eq!(servers.len(), 2, "two servers on one Redis");
    assert_eq!(edges.len(), 1, "one edge");
    let (edge, upstream) = &edges[0];
    assert!(
        servers
            .iter()
            .any(|(s, _)| upstream == &format!("http://{s}:8080")),
        "{edge} follows one of the servers, not {upstream}"
    );
    // The web console is served by the server at `/`: one server publishes its port.
    assert!(
        servers
            .iter()
            .any(|(_, s)| s["ports"].as_sequence().is_some_and(|p| p
                .iter()
                .any(|p| p.as_str().is_some_and(|p| p.ends_with(":8080"))))),
        "a server publishes port 8080 (API and web console)"
    );
}
