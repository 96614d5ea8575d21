//! What a support bundle collects besides the evidence the checks asked for: the objects a vendor needs to
//! diagnose what no check knows yet, and the last lines of the platform pods' logs.
//!
//! Everything goes through the evidence layer, so it is memoized with the checks' own requests, redacted at
//! the source, and journaled (errors included: a kind the user cannot read is recorded as the API's 403,
//! never fatal) exactly as the checks' evidence is.

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::evidence::kinds::{self, ResourceKind};
use crate::evidence::{Evidence, LogQuery, Scope};
use crate::platform::Layout;

/// Cluster-scoped kinds a bundle holds.
pub const CLUSTER_KINDS: &[&ResourceKind] = &[
    &kinds::NODES,
    &kinds::NAMESPACES,
    &kinds::STORAGE_CLASSES,
    &kinds::INGRESS_CLASSES,
    &kinds::CUSTOM_RESOURCE_DEFINITIONS,
    &kinds::CLUSTER_ISSUERS,
];

/// Namespaced kinds a bundle holds for each collected namespace.
pub const NAMESPACED_KINDS: &[&ResourceKind] = &[
    &kinds::DEPLOYMENTS,
    &kinds::STATEFULSETS,
    &kinds::DAEMONSETS,
    &kinds::PODS,
    &kinds::SERVICES,
    &kinds::INGRESSES,
    &kinds::EVENTS,
    &kinds::PERSISTENT_VOLUME_CLAIMS,
    &kinds::CONFIGMAPS,
    &kinds::SECRETS,
    &kinds::CERTIFICATES,
    &kinds::ISSUERS,
    &kinds::CERTIFICATE_REQUESTS,
    &kinds::ORDERS,
    &kinds::CHALLENGES,
    &kinds::MCP_SERVERS,
    &kinds::HELM_CHARTS,
];

/// Namespaces collected whatever the platform layout.
const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "cert-manager"];

/// How many requests are in flight at once.
const CONCURRENCY: usize = 8;

#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// `--platform-namespace`, as the platform checks read it.
    pub platform_namespace: Option<String>,
    /// The last N lines of each log.
    pub log_lines: i64,
    /// Only log lines newer than this.
    pub since_seconds: Option<i64>,
}

/// What was collected, for the manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    /// The namespaces whose objects were listed.
    pub namespaces: Vec<String>,
    /// The namespaces whose pods' logs were taken.
    pub log_namespaces: Vec<String>,
    pub log_lines: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_seconds: Option<i64>,
    /// How many logs were taken.
    pub logs: usize,
    /// Everything asked for that did not come (kind or log, and why), in the order asked.
    pub unreadable: Vec<String>,
    /// `--collect-nodes`: how the host-facts DaemonSet fared on each node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_facts: Vec<crate::collect_nodes::NodeFactsOutcome>,
}

/// Lists the bundle's kinds and takes the platform pods' logs, all through `evidence` (which journals them).
pub async fn collect(evidence: &Evidence, opts: &CollectOptions) -> Collection {
    let kube = evidence.kube.as_ref();
    let mut out = Collection {
        log_lines: opts.log_lines,
        since_seconds: opts.since_seconds,
        ..Default::default()
    };
    // An API server that did not answer the doctor's run would only make every request below wait out its
    // timeout: the journal already says why, and the bundle is made without the objects.
    if let Err(e) = kube.version().await {
        out.unreadable.push(format!(
            "the API server ({e}): no objects or logs were asked"
        ));
        let _ = evidence.host.nodes().await;
        return out;
    }
    let cluster: Vec<_> = futures::stream::iter(CLUSTER_KINDS)
        .map(|kind| async move { (*kind, kube.list(kind, &Scope::Cluster).await) })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut existing: Option<Vec<String>> = None;
    for (kind, result) in &cluster {
        match result {
            Ok(items) if kind.plural == "namespaces" => {
                existing = Some(items.iter().filter_map(name_of).collect());
            }
            Ok(_) => {}
            Err(e) => out.unreadable.push(format!("{kind}: {e}")),
        }
    }
    let layout = Layout::detect(
        opts.platform_namespace.as_deref(),
        existing.as_deref().unwrap_or_default(),
    );
    // Without the namespace list, ask for every namespace a platform may have: a missing one is an empty list.
    let exists = |ns: &String| existing.as_ref().is_none_or(|all| all.contains(ns));
    let mut namespaces: Vec<String> = layout.all.iter().filter(|ns| exists(ns)).cloned().collect();
    out.log_namespaces = namespaces.clone();
    for ns in SYSTEM_NAMESPACES {
        let ns = ns.to_string();
        if exists(&ns) && !namespaces.contains(&ns) {
            namespaces.push(ns);
        }
    }
    out.namespaces = namespaces.clone();

    let asks: Vec<(&'static ResourceKind, Scope)> = namespaces
        .iter()
        .flat_map(|ns| {
            NAMESPACED_KINDS
                .iter()
                .map(move |kind| (*kind, Scope::Namespace(ns.clone())))
        })
        .collect();
    let listed: Vec<_> = futures::stream::iter(asks)
        .map(|(kind, scope)| async move {
            let result = kube.list(kind, &scope).await;
            (kind, scope, result)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut queries = Vec::new();
    for (kind, scope, result) in &listed {
        match result {
            Err(e) => out.unreadable.push(format!("{kind} in {scope}: {e}")),
            Ok(pods) if kind.plural == "pods" => {
                let ns = scope.namespace().unwrap_or_default();
                if out.log_namespaces.iter().any(|n| n == ns) {
                    queries.extend(pods.iter().flat_map(|pod| log_queries(pod, opts)));
                }
            }
            Ok(_) => {}
        }
    }
    let logs: Vec<_> = futures::stream::iter(queries)
        .map(|q| async move {
            let result = kube.logs(&q).await;
            (q, result)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for (q, result) in logs {
        match result {
            Ok(_) => out.logs += 1,
            Err(e) => out.unreadable.push(format!("{q}: {e}")),
        }
    }
    // Node facts given with --host-facts / --host-root belong in the bundle even when no check read them.
    let _ = evidence.host.nodes().await;
    out
}

fn name_of(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The logs of a pod: every container's current log, and the previous instance's of each container that
/// has restarted (asking for one that never terminated is a 400 from the API server).
pub fn log_queries(pod: &Value, opts: &CollectOptions) -> Vec<LogQuery> {
    let (Some(namespace), Some(name)) = (
        pod.pointer("/metadata/namespace").and_then(Value::as_str),
        pod.pointer("/metadata/name").and_then(Value::as_str),
    ) else {
        return Vec::new();
    };
    let query = |container: &str, previous: bool| LogQuery {
        namespace: namespace.to_string(),
        pod: name.to_string(),
        container: container.to_string(),
        previous,
        tail_lines: Some(opts.log_lines),
        since_seconds: opts.since_seconds,
    };
    let mut out = Vec::new();
    for (spec, statuses) in [
        ("initContainers", "initContainerStatuses"),
        ("containers", "containerStatuses"),
    ] {
        let containers = pod
            .pointer(&format!("/spec/{spec}"))
            .and_then(Value::as_array);
        for c in containers.into_iter().flatten() {
            let Some(container) = c.get("name").and_then(Value::as_str) else {
                continue;
            };
            out.push(query(container, false));
            let restarted = pod
                .pointer(&format!("/status/{statuses}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|s| {
                    s.get("name").and_then(Value::as_str) == Some(container)
                        && s.pointer("/lastState/terminated").is_some()
                });
            if restarted {
                out.push(query(container, true));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn previous_logs_only_for_containers_that_terminated_before() {
        let pod = json!({
            "metadata": {"name": "api-0", "namespace": "mcp-sentinel"},
            "spec": {"initContainers": [{"name": "migrate"}], "containers": [{"name": "api"}, {"name": "proxy"}]},
            "status": {"containerStatuses": [
                {"name": "api", "restartCount": 3, "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}},
                {"name": "proxy", "restartCount": 0, "lastState": {}}
            ]}
        });
        let opts = CollectOptions {
            platform_namespace: None,
            log_lines: 200,
            since_seconds: Some(3600),
        };
        let asked: Vec<(String, bool)> = log_queries(&pod, &opts)
            .into_iter()
            .map(|q| (q.container, q.previous))
            .collect();
        assert_eq!(
            asked,
            [
                ("migrate".into(), false),
                ("api".into(), false),
                ("api".into(), true),
                ("proxy".into(), false)
            ]
        );
        assert!(log_queries(&json!({"metadata": {}}), &opts).is_empty());
    }
}
