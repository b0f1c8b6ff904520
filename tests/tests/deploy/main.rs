//! The deployment files (issue 13, part 5), checked without Docker or a cluster: every YAML file
//! under `deploy/` parses; the Kubernetes manifests have their probes, a non-root user, the
//! Redis URL from a Secret, a PodDisruptionBudget and a HorizontalPodAutoscaler that select the
//! Deployment; the Compose file runs the services `docs/deploy.md` names, with Redis on AOF;
//! the Dockerfile is multi-stage, non-root, with a HEALTHCHECK on `/healthz`; every `FLAG_*`
//! variable the files set is one flag-server reads; and `deploy/smoke.sh` (which needs a Docker
//! engine and runs from `.ci/run`) says plainly that it skipped when there is none.

mod compose;
mod image;
mod kubernetes;

use std::path::{Path, PathBuf};

use serde_yaml::Value;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of a YAML file, with `<<` merge keys applied (Compose uses them).
pub fn documents(rel: &str) -> Vec<Value> {
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

pub fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
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

pub fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v:?}"))
}

/// The Kubernetes objects of a manifest file, by kind and name.
pub fn k8s_object(file: &str, kind: &str, name: &str) -> Value {
    documents(file)
        .into_iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{file} has no {kind} named {name}"))
}

/// `true` when every label of `selector` is among `labels`.
pub fn selects(selector: &Value, labels: &Value) -> bool {
    let selector = selector.as_mapping().expect("a selector is a mapping");
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The one container of a Deployment, with its pod spec.
pub fn container(deployment: &Value) -> (&Value, &Value) {
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"]
        .as_sequence()
        .expect("containers is a list");
    assert_eq!(containers.len(), 1, "one container per pod");
    (pod, &containers[0])
}

pub fn env_var<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_sequence()
        .expect("env is a list")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("the container does not set {name}"))
}

/// Checks the probes, the user and the listen address of a flag-server container.
pub fn check_flag_server_pod(what: &str, pod: &Value, container: &Value) {
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
pub fn from_secret(container: &Value, name: &str) -> (String, String) {
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
