//! Unit tests of the platform checks over small bundles: both layouts, the override, and unreadable
//! namespaces that must never pass.

use serde_json::{Value, json};

use super::*;
use crate::evidence::{EvidenceError, Scope, kinds};
use crate::model::Status;
use crate::test_support::{Case, expect};

fn ns(name: &str) -> Value {
    json!({"metadata": {"name": name}, "status": {"phase": "Active"}})
}

fn namespaces(names: &[&str]) -> Vec<Value> {
    names.iter().map(|n| ns(n)).collect()
}

const LEGACY: [&str; 4] = ["mcp-runtime", "registry", "mcp-sentinel", "mcp-servers"];

fn sts(ns: &str, name: &str, ready: i32) -> Value {
    json!({"metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {}, "serviceName": name, "template": {},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
        "status": {"replicas": 1, "readyReplicas": ready}})
}

fn pvc(ns: &str, name: &str, phase: &str, deleting: bool) -> Value {
    let mut v = json!({"metadata": {"name": name, "namespace": ns},
        "spec": {"storageClassName": "local-path"}, "status": {"phase": phase}});
    if deleting {
        v["metadata"]["deletionTimestamp"] = json!("2026-11-21T11:40:02Z");
    }
    v
}

fn sentinel_case(ns_name: &str, names: &[&str]) -> Case {
    let sets: Vec<Value> = sentinel::SENTINEL_STATEFULSETS
        .iter()
        .map(|s| sts(ns_name, s, 1))
        .collect();
    let claims: Vec<Value> = sentinel::SENTINEL_STATEFULSETS
        .iter()
        .map(|s| pvc(ns_name, &format!("data-{s}-0"), "Bound", false))
        .collect();
    Case::new()
        .objects(&kinds::NAMESPACES, Scope::Cluster, namespaces(names))
        .objects(&kinds::STATEFULSETS, Scope::AllNamespaces, sets)
        .objects(
            &kinds::PERSISTENT_VOLUME_CLAIMS,
            Scope::AllNamespaces,
            claims,
        )
        .objects(&kinds::PODS, Scope::AllNamespaces, vec![])
}

#[tokio::test]
async fn namespaces_pass_in_both_layouts_and_fail_when_one_is_missing() {
    let o = Case::new()
        .objects(&kinds::NAMESPACES, Scope::Cluster, namespaces(&LEGACY))
        .run(&Namespaces)
        .await;
    expect(&o, Status::Pass, &["legacy layout"]);
    let split = [
        "mcp-runtime",
        "registry",
        "mcp-platform",
        "mcp-observability",
        "mcp-servers",
    ];
    let o = Case::new()
        .objects(&kinds::NAMESPACES, Scope::Cluster, namespaces(&split))
        .run(&Namespaces)
        .await;
    expect(&o, Status::Pass, &["split layout"]);
    let o = Case::new()
        .objects(
            &kinds::NAMESPACES,
            Scope::Cluster,
            namespaces(&["mcp-runtime", "registry", "mcp-servers"]),
        )
        .run(&Namespaces)
        .await;
    expect(&o, Status::Fail, &["mcp-sentinel is missing"]);
    assert_eq!(o.subjects, vec!["namespace/mcp-sentinel"]);
}

#[tokio::test]
async fn the_override_names_the_sentinel_namespace() {
    let o = sentinel_case("obs", &["mcp-runtime", "registry", "obs", "mcp-servers"])
        .flag("platform_namespace", "obs")
        .run(&Sentinel)
        .await;
    expect(&o, Status::Pass, &["obs/clickhouse"]);
    // Without it, the StatefulSets are looked for in mcp-sentinel.
    let o = sentinel_case("obs", &["mcp-runtime", "registry", "obs", "mcp-servers"])
        .run(&Sentinel)
        .await;
    expect(&o, Status::Fail, &["missing from mcp-sentinel"]);
}

#[tokio::test]
async fn a_terminating_sentinel_pvc_names_the_pod_that_mounts_it() {
    let stale = json!({"metadata": {"name": "pgbackup-6f9c-h4x2m", "namespace": "mcp-sentinel"},
        "spec": {"nodeName": "mcp-worker-1", "containers": [],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-mcp-sentinel-postgres-0"}}]},
        "status": {"phase": "Running"}});
    let mut claims: Vec<Value> = sentinel::SENTINEL_STATEFULSETS
        .iter()
        .map(|s| pvc("mcp-sentinel", &format!("data-{s}-0"), "Bound", false))
        .collect();
    claims[4] = pvc(
        "mcp-sentinel",
        "data-mcp-sentinel-postgres-0",
        "Bound",
        true,
    );
    // An unrelated Pending claim elsewhere never counts.
    claims.push(pvc("team-a", "scratch", "Pending", false));
    let o = sentinel_case("mcp-sentinel", &LEGACY)
        .objects(
            &kinds::PERSISTENT_VOLUME_CLAIMS,
            Scope::AllNamespaces,
            claims,
        )
        .objects(&kinds::PODS, Scope::AllNamespaces, vec![stale])
        .run(&Sentinel)
        .await;
    expect(
        &o,
        Status::Fail,
        &[
            "data-mcp-sentinel-postgres-0 is stuck Terminating",
            "pgbackup-6f9c-h4x2m",
        ],
    );
    assert_eq!(
        o.remediation.as_ref().map(|r| r.id.as_str()),
        Some("rem.platform-stale-pvc-user")
    );
}

#[tokio::test]
async fn an_unreadable_platform_namespace_never_passes() {
    let forbidden = EvidenceError::Forbidden {
        message: "pods is forbidden: User \"ops\" cannot list resource \"pods\" in the namespace \"mcp-sentinel\"".into(),
    };
    let o = sentinel_case("mcp-sentinel", &LEGACY)
        .list_error(&kinds::PODS, Scope::AllNamespaces, forbidden.clone())
        .run(&StalePods)
        .await;
    assert_eq!(o.status, Status::Error, "{o:#?}");
    let o = sentinel_case("mcp-sentinel", &LEGACY)
        .list_error(&kinds::SECRETS, Scope::AllNamespaces, forbidden.clone())
        .run(&AdminBootstrap)
        .await;
    assert_eq!(o.status, Status::Error, "{o:#?}");
    let o = sentinel_case("mcp-sentinel", &LEGACY)
        .list_error(&kinds::STATEFULSETS, Scope::AllNamespaces, forbidden)
        .run(&Sentinel)
        .await;
    assert_eq!(o.status, Status::Error, "{o:#?}");
}

#[tokio::test]
async fn admin_bootstrap_needs_both_keys_or_neither() {
    let secret = |keys: &[&str]| {
        let data: serde_json::Map<String, Value> =
            keys.iter().map(|k| (k.to_string(), json!(""))).collect();
        json!({"metadata": {"name": "mcp-sentinel-secrets", "namespace": "mcp-sentinel"}, "data": data})
    };
    for keys in [
        &["PLATFORM_ADMIN_EMAIL", "PLATFORM_ADMIN_PASSWORD"][..],
        &["JWT_SECRET"][..],
    ] {
        let o = sentinel_case("mcp-sentinel", &LEGACY)
            .objects(&kinds::SECRETS, Scope::AllNamespaces, vec![secret(keys)])
            .run(&AdminBootstrap)
            .await;
        expect(&o, Status::Pass, &[]);
    }
    let o = sentinel_case("mcp-sentinel", &LEGACY)
        .objects(
            &kinds::SECRETS,
            Scope::AllNamespaces,
            vec![secret(&["PLATFORM_ADMIN_PASSWORD"])],
        )
        .run(&AdminBootstrap)
        .await;
    expect(
        &o,
        Status::Fail,
        &["has PLATFORM_ADMIN_PASSWORD but not PLATFORM_ADMIN_EMAIL"],
    );
}

#[tokio::test]
async fn the_crd_must_be_established() {
    let crd = |established: &str| {
        json!({"metadata": {"name": "mcpservers.mcpruntime.org"},
            "spec": {"group": "mcpruntime.org", "names": {"plural": "mcpservers", "kind": "MCPServer"},
                "scope": "Namespaced", "versions": [{"name": "v1alpha1", "served": true, "storage": true}]},
            "status": {"conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                {"type": "Established", "status": established, "reason": "Installing"}]}})
    };
    let o = Case::new()
        .objects(
            &kinds::CUSTOM_RESOURCE_DEFINITIONS,
            Scope::Cluster,
            vec![crd("True")],
        )
        .run(&Crd)
        .await;
    expect(&o, Status::Pass, &["v1alpha1"]);
    let o = Case::new()
        .objects(
            &kinds::CUSTOM_RESOURCE_DEFINITIONS,
            Scope::Cluster,
            vec![crd("False")],
        )
        .run(&Crd)
        .await;
    expect(&o, Status::Fail, &["Established=False"]);
    let o = Case::new()
        .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, vec![])
        .run(&Crd)
        .await;
    expect(&o, Status::Fail, &["is missing"]);
}

#[tokio::test]
async fn platform_ingresses_need_an_address_and_the_configured_hosts() {
    let ing = |host: &str, address: bool| {
        json!({"metadata": {"name": "mcp-sentinel-platform-ui", "namespace": "mcp-sentinel"},
            "spec": {"ingressClassName": "traefik", "rules": [{"host": host}]},
            "status": {"loadBalancer": if address { json!({"ingress": [{"ip": "203.0.113.10"}]}) } else { json!({}) }}})
    };
    let case = |host: &str, address: bool| {
        Case::new()
            .env("MCP_PLATFORM_INGRESS_HOST", "platform.example.com")
            .objects(&kinds::NAMESPACES, Scope::Cluster, namespaces(&LEGACY))
            .objects(
                &kinds::INGRESSES,
                Scope::AllNamespaces,
                vec![ing(host, address)],
            )
    };
    expect(
        &case("platform.example.com", true).run(&Ingresses).await,
        Status::Pass,
        &["platform.example.com"],
    );
    expect(
        &case("platform.example.com", false).run(&Ingresses).await,
        Status::Fail,
        &["(class traefik) has no load-balancer address"],
    );
    expect(
        &case("platform.old.example.com", true).run(&Ingresses).await,
        Status::Fail,
        &["no platform Ingress serves platform.example.com"],
    );
}

#[tokio::test]
async fn an_mcpserver_whose_image_cannot_be_pulled_names_the_pull_failure() {
    let server = json!({"apiVersion": "mcpruntime.org/v1alpha1", "kind": "MCPServer",
        "metadata": {"name": "weather", "namespace": "mcp-servers"}, "spec": {"image": "registry.example.com/weather:9"}});
    let named = |kind: &str| json!({"metadata": {"name": "weather", "namespace": "mcp-servers"}, "kind": kind});
    let dep = json!({"metadata": {"name": "weather", "namespace": "mcp-servers"},
        "spec": {"replicas": 1, "selector": {}, "template": {}}, "status": {"replicas": 1}});
    let pod = json!({"metadata": {"name": "weather-6c8f-k2m4p", "namespace": "mcp-servers"},
        "spec": {"containers": []},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "weather", "image": "registry.example.com/weather:9",
            "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}});
    let base = || {
        Case::new()
            .objects(&kinds::NAMESPACES, Scope::Cluster, namespaces(&LEGACY))
            .objects(
                &kinds::MCP_SERVERS,
                Scope::AllNamespaces,
                vec![server.clone()],
            )
            .objects(&kinds::DEPLOYMENTS, Scope::AllNamespaces, vec![dep.clone()])
            .objects(
                &kinds::SERVICES,
                Scope::AllNamespaces,
                vec![named("Service")],
            )
            .objects(
                &kinds::INGRESSES,
                Scope::AllNamespaces,
                vec![named("Ingress")],
            )
    };
    let o = base()
        .objects(&kinds::PODS, Scope::AllNamespaces, vec![pod])
        .run(&McpServers)
        .await;
    expect(&o, Status::Fail, &["0/1 ready", "ImagePullBackOff"]);
    assert_eq!(
        o.remediation.as_ref().map(|r| r.id.as_str()),
        Some("rem.platform-image-pull")
    );
    let o = base()
        .list_error(
            &kinds::PODS,
            Scope::AllNamespaces,
            EvidenceError::Forbidden {
                message: "pods is forbidden".into(),
            },
        )
        .run(&McpServers)
        .await;
    assert_eq!(o.status, Status::Error, "{o:#?}");
}

/// Restarts count by how recent they are: the same seven restarts are flapping three minutes after the last
/// one and history a day later.
#[test]
fn restarts_are_judged_by_recency_not_by_their_lifetime_total() {
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "op-1", "namespace": "mcp-runtime" },
        "status": { "containerStatuses": [ {
            "name": "manager", "ready": true, "restartCount": 7, "image": "x", "imageID": "",
            "state": { "running": { "startedAt": "2026-11-21T11:56:12Z" } },
            "lastState": { "terminated": { "exitCode": 2, "reason": "Error",
                                           "finishedAt": "2026-11-21T11:56:10Z" } }
        } ] }
    }))
    .unwrap();
    let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_second();
    let flaps = super::flapping(&pod, at("2026-11-21T12:00:00Z"));
    assert_eq!(
        flaps,
        ["container manager restarted 7 times, the last 3 min ago (exit code 2: Error)"]
    );
    assert!(super::flapping(&pod, at("2026-11-22T12:00:00Z")).is_empty());
}
