//! The deployment files (issue 13, part 5), checked without Docker or a cluster: every YAML file
//! under `deploy/` parses; the Kubernetes manifests have their probes, a non-root user, the
//! Redis URL from a Secret, a PodDisruptionBudget and a HorizontalPodAutoscaler that select the
//! Deployment; the Compose file runs the services `docs/deploy.md` names, with Redis on AOF;
//! the Dockerfile is multi-stage, non-root, with a HEALTHCHECK on `/healthz`; every `FLAG_*`
//! variable the files set is one flag-server reads; and `deploy/smoke.sh` (which needs a Docker
//! engine and runs from `.ci/run`) says plainly that it skipped when there is none.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of a YAML file, with `<<` merge keys applied (Compose uses them).
fn documents(rel: &str) -> Vec<Value> {
    let text = read(rel);
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(&text) {
        let mut doc = <Value as serde::Deserialize>::deserialize(de)
            .unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"));
        doc.apply_merge()
            .unwrap_or_else(|e| panic!("{rel}: bad merge key: {e}"));
        if !doc.is_null() {
            docs.push(doc);
        }
    }
    docs
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v:?}"))
}

/// The Kubernetes objects of a manifest file, by kind and name.
fn k8s_object(file: &str, kind: &str, name: &str) -> Value {
    documents(file)
        .into_iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{file} has no {kind} named {name}"))
}

/// `true` when every label of `selector` is among `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let selector = selector.as_mapping().expect("a selector is a mapping");
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The one container of a Deployment, with its pod spec.
fn container(deployment: &Value) -> (&Value, &Value) {
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"]
        .as_sequence()
        .expect("containers is a list");
    assert_eq!(containers.len(), 1, "one container per pod");
    (pod, &containers[0])
}

fn env_var<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_sequence()
        .expect("env is a list")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("the container does not set {name}"))
}

/// Checks the probes, the user and the listen address of a flag-server container.
fn check_flag_server_pod(what: &str, pod: &Value, container: &Value) {
    let port = container["ports"][0].clone();
    assert_eq!(port["containerPort"], 8080, "{what}: container port");
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{what}: {probe} path");
        assert!(
            get["port"] == port["name"] || get["port"] == port["containerPort"],
            "{what}: {probe} asks port {:?}, the container listens on {port:?}",
            get["port"]
        );
    }
    assert_eq!(
        pod["securityContext"]["runAsNonRoot"], true,
        "{what}: runAsNonRoot"
    );
    let uid = pod["securityContext"]["runAsUser"]
        .as_u64()
        .expect("runAsUser is a number");
    assert_ne!(uid, 0, "{what}: runs as root");
    let sc = &container["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
    assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
    assert_eq!(
        env_var(container, "FLAG_LISTEN")["value"],
        "0.0.0.0:8080",
        "{what}: a container must listen on all interfaces, on its container port"
    );
}

/// A `secretKeyRef` env var: (secret name, key); a literal value is refused.
fn from_secret(container: &Value, name: &str) -> (String, String) {
    let var = env_var(container, name);
    assert!(
        var.get("value").is_none(),
        "{name} must come from a Secret, not a literal"
    );
    let r = &var["valueFrom"]["secretKeyRef"];
    (
        str_of(&r["name"], "secretKeyRef.name").to_owned(),
        str_of(&r["key"], "secretKeyRef.key").to_owned(),
    )
}

#[test]
fn every_yaml_file_under_deploy_parses() {
    let mut files = Vec::new();
    yaml_files(&root().join("deploy"), &mut files);
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .expect("under the root")
                .display()
                .to_string()
        })
        .collect();
    for expected in [
        "deploy/compose.yaml",
        "deploy/kubernetes/deployment.yaml",
        "deploy/kubernetes/service.yaml",
        "deploy/kubernetes/pdb.yaml",
        "deploy/kubernetes/hpa.yaml",
        "deploy/kubernetes/kustomization.yaml",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing");
    }
    for name in &names {
        let docs = documents(name);
        assert!(!docs.is_empty(), "{name} holds no document");
        for doc in &docs {
            assert!(doc.is_mapping(), "{name}: a document is not a mapping");
        }
    }
}

#[test]
fn the_deployment_has_probes_a_non_root_user_and_the_redis_url_from_a_secret() {
    let deployment = k8s_object(
        "deploy/kubernetes/deployment.yaml",
        "Deployment",
        "flag-server",
    );
    let (pod, container) = container(&deployment);
    check_flag_server_pod("flag-server", pod, container);

    let secret = k8s_object(
        "deploy/kubernetes/secret.example.yaml",
        "Secret",
        "flag-server",
    );
    for var in ["FLAG_REDIS_URL", "FLAG_ADMIN_TOKEN"] {
        let (name, key) = from_secret(container, var);
        assert_eq!(
            secret["metadata"]["name"], name,
            "{var}: the Secret the example shows"
        );
        assert!(
            secret["stringData"].get(&key).is_some(),
            "{var}: secret.example.yaml has no key {key}"
        );
    }
    // The example Secret holds placeholders: it must never be applied with the rest.
    let kustomization = documents("deploy/kubernetes/kustomization.yaml").remove(0);
    let resources: Vec<&str> = kustomization["resources"]
        .as_sequence()
        .expect("resources is a list")
        .iter()
        .map(|r| str_of(r, "a resource"))
        .collect();
    assert!(!resources.contains(&"secret.example.yaml"));
}

#[test]
fn the_kustomization_lists_the_deployment_its_service_pdb_and_hpa() {
    let kustomization = documents("deploy/kubernetes/kustomization.yaml").remove(0);
    let resources: BTreeSet<&str> = kustomization["resources"]
        .as_sequence()
        .expect("resources is a list")
        .iter()
        .map(|r| str_of(r, "a resource"))
        .collect();
    for file in &resources {
        assert!(
            root().join("deploy/kubernetes").join(file).is_file(),
            "kustomization.yaml lists {file}, which does not exist"
        );
    }
    let kinds: BTreeSet<String> = resources
        .iter()
        .flat_map(|f| documents(&format!("deploy/kubernetes/{f}")))
        .map(|d| str_of(&d["kind"], "kind").to_owned())
        .collect();
    for kind in [
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    ] {
        assert!(kinds.contains(kind), "no {kind} in the kustomization");
    }

    let deployment = k8s_object(
        "deploy/kubernetes/deployment.yaml",
        "Deployment",
        "flag-server",
    );
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert!(selects(
        &deployment["spec"]["selector"]["matchLabels"],
        labels
    ));
    let (_, container) = container(&deployment);

    let service = k8s_object("deploy/kubernetes/service.yaml", "Service", "flag-server");
    assert!(
        selects(&service["spec"]["selector"], labels),
        "the Service selects the pods"
    );
    let target = &service["spec"]["ports"][0]["targetPort"];
    assert!(
        *target == container["ports"][0]["name"] || *target == 8080,
        "the Service sends to the container's port, not {target:?}"
    );

    let pdb = k8s_object(
        "deploy/kubernetes/pdb.yaml",
        "PodDisruptionBudget",
        "flag-server",
    );
    assert!(
        selects(&pdb["spec"]["selector"]["matchLabels"], labels),
        "the PodDisruptionBudget selects the pods"
    );
    assert!(pdb["spec"]["minAvailable"].as_u64().unwrap_or(0) >= 1);

    let hpa = k8s_object(
        "deploy/kubernetes/hpa.yaml",
        "HorizontalPodAutoscaler",
        "flag-server",
    );
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(target["kind"], "Deployment");
    assert_eq!(target["name"], deployment["metadata"]["name"]);
    let min = hpa["spec"]["minReplicas"].as_u64().expect("minReplicas");
    let max = hpa["spec"]["maxReplicas"].as_u64().expect("maxReplicas");
    assert!(
        min >= 2 && min <= max,
        "at least two instances, so the PodDisruptionBudget can let one go ({min}..{max})"
    );
}

#[test]
fn the_edge_manifest_follows_the_service_with_keys_from_a_secret() {
    let edge = k8s_object("deploy/kubernetes/edge.yaml", "Deployment", "flag-edge");
    let (pod, container) = container(&edge);
    check_flag_server_pod("flag-edge", pod, container);
    let upstream = str_of(
        &env_var(container, "FLAG_UPSTREAM_URL")["value"],
        "upstream",
    );
    let service = k8s_object("deploy/kubernetes/service.yaml", "Service", "flag-server");
    let name = str_of(&service["metadata"]["name"], "service name");
    assert!(
        upstream == format!("http://{name}") || upstream.starts_with(&format!("http://{name}:")),
        "the edge follows the servers' Service, not {upstream}"
    );
    from_secret(container, "FLAG_UPSTREAM_KEYS");
    let edge_service = k8s_object("deploy/kubernetes/edge.yaml", "Service", "flag-edge");
    assert!(selects(
        &edge_service["spec"]["selector"],
        &edge["spec"]["template"]["metadata"]["labels"]
    ));
    assert!(
        !selects(
            &service["spec"]["selector"],
            &edge["spec"]["template"]["metadata"]["labels"]
        ),
        "the servers' Service must not send admin calls to edges"
    );
}

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

fn compose() -> Value {
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

#[test]
fn the_dockerfile_is_multi_stage_non_root_with_a_healthcheck_on_healthz() {
    let dockerfile = read("Dockerfile");
    let lines: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let stages: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("FROM "))
        .map(|(i, _)| i)
        .collect();
    assert!(stages.len() >= 2, "a build stage and a runtime stage");
    let runtime = &lines[*stages.last().expect("a stage")..];
    assert!(
        runtime[0].contains("debian:bookworm-slim")
            || runtime[0].contains("gcr.io/distroless/cc-debian12"),
        "a small runtime image: {}",
        runtime[0]
    );
    assert!(dockerfile.contains("cargo build --release -p flag-server --locked"));
    assert!(dockerfile.contains("--mount=type=cache"));
    let user = runtime
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap_or("").trim();
    assert!(
        !matches!(uid, "" | "0" | "root"),
        "the runtime user is not root: {user}"
    );
    assert!(
        uid.parse::<u32>().is_ok(),
        "a numeric user, so Kubernetes' runAsNonRoot can check it: {user}"
    );
    let deployment = k8s_object(
        "deploy/kubernetes/deployment.yaml",
        "Deployment",
        "flag-server",
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
            .as_u64()
            .map(|u| u.to_string()),
        Some(uid.to_owned()),
        "the Deployment runs as the image's user"
    );
    let healthcheck = runtime
        .iter()
        .position(|l| l.starts_with("HEALTHCHECK"))
        .expect("a HEALTHCHECK");
    let check = runtime[healthcheck..=healthcheck + 1].join(" ");
    assert!(check.contains("/healthz"), "{check}");
    if check.contains("curl") {
        assert!(
            runtime
                .iter()
                .any(|l| l.contains("apt-get install") && l.contains("curl")),
            "the HEALTHCHECK uses curl: the runtime image must have it"
        );
    }
    assert!(
        runtime
            .iter()
            .any(|l| l.contains("FLAG_LISTEN=0.0.0.0:8080")),
        "the image listens on all interfaces"
    );
    assert!(runtime.iter().any(|l| l.starts_with("ENTRYPOINT")));

    let dockerignore = read(".dockerignore");
    let ignore: BTreeSet<&str> = dockerignore
        .lines()
        .map(|l| l.trim().trim_end_matches('/'))
        .collect();
    for dir in ["target", ".git", "flag-data"] {
        assert!(ignore.contains(dir), ".dockerignore leaves out {dir}");
    }
}

/// Every `FLAG_*` variable the deployment files give flag-server is one it reads.
#[test]
fn every_flag_variable_in_the_deployment_files_is_one_the_server_reads() {
    let known: BTreeSet<String> = flag_server::Config::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    assert!(known.contains("FLAG_REDIS_URL"), "{known:?}");

    let mut used: BTreeSet<String> = BTreeSet::new();
    for service in compose()["services"]
        .as_mapping()
        .expect("services")
        .values()
    {
        if let Some(env) = service["environment"].as_mapping() {
            used.extend(env.keys().map(|k| str_of(k, "variable").to_owned()));
        }
    }
    for (file, name) in [
        ("deploy/kubernetes/deployment.yaml", "flag-server"),
        ("deploy/kubernetes/edge.yaml", "flag-edge"),
    ] {
        let deployment = k8s_object(file, "Deployment", name);
        let (_, container) = container(&deployment);
        for var in container["env"].as_sequence().expect("env") {
            used.insert(str_of(&var["name"], "variable").to_owned());
        }
    }
    for line in read("Dockerfile").lines() {
        for word in line.split(|c: char| c.is_whitespace() || c == '=') {
            if word.starts_with("FLAG_") && line.trim_start().starts_with("ENV") {
                used.insert(word.to_owned());
            }
        }
    }
    assert!(used.len() >= 6, "{used:?}");
    for var in &used {
        assert!(
            known.contains(var),
            "{var} is not a variable flag-server reads (it reads {known:?})"
        );
    }
}

#[test]
fn the_smoke_test_is_valid_bash_skips_plainly_without_docker_and_runs_in_ci() {
    let script = root().join("deploy/smoke.sh");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // A docker client that cannot reach an engine, whatever this machine has.
    let out = Command::new(&script)
        .env("DOCKER", root().join("deploy/no-such-docker"))
        .output()
        .expect("deploy/smoke.sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "docker engine not available: skipped the container smoke test"
    );
    assert!(
        read(".ci/run")
            .lines()
            .any(|l| l.trim() == "deploy/smoke.sh"),
        ".ci/run runs deploy/smoke.sh"
    );
}
