//! The Dockerfile, the variables every deployment file sets, and the smoke script.

use std::collections::BTreeSet;
use std::process::Command;

use clap::CommandFactory;

use crate::*;

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
    for service in crate::compose::compose()["services"]
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
