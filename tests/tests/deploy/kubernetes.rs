//! The Kubernetes manifests under `deploy/kubernetes/`.

use std::collections::BTreeSet;

use crate::*;

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
