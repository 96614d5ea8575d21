//! Facts derived from evidence that more than one check (or a remediation) needs. Each is computed from
//! memoized evidence, so asking twice costs nothing.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, NodeCondition};
use mcp_doctor_remediations::Distribution;
use serde::Serialize;

use crate::check::{Context, unreadable};
use crate::evidence::EvidenceError;
use crate::model::Outcome;

/// The distribution and the signal that gave it away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetectedDistribution {
    pub distribution: Distribution,
    pub evidence: String,
}

/// At most this many names (or per-node lines) in a one-line message.
pub const LISTED_IN_A_MESSAGE: usize = 10;

/// Names (or per-node lines) joined for a one-line message: every one up to ten, else the first ten and how
/// many more. On a 5,000-node cluster a message naming each node would be pages long; the check's details
/// and remediation still carry every name.
pub fn listed<S: AsRef<str>>(items: &[S], separator: &str) -> String {
    listed_at_most(items, separator, LISTED_IN_A_MESSAGE)
}

/// As [`listed`], naming at most `limit` (at least one) items.
pub fn listed_at_most<S: AsRef<str>>(items: &[S], separator: &str, limit: usize) -> String {
    let limit = limit.max(1);
    let mut text = items
        .iter()
        .take(limit)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(separator);
    if items.len() > limit {
        text.push_str(&format!("{separator}and {} more", items.len() - limit));
    }
    text
}

/// Reads the nodes (decoded once per run: [`Context::nodes`]).
pub async fn nodes(ctx: &Context) -> Result<Arc<Vec<Node>>, EvidenceError> {
    ctx.nodes().await
}

/// Detects the distribution from, strongest first: kubelet version suffixes (`+k3s`, `+rke2`), providerID
/// (`kind://`), node labels (`minikube.k8s.io/*`, `node.kubernetes.io/instance-type=k3s`), node names
/// (`docker-desktop`, `*-control-plane` with kind's labels), and last the context name.
pub async fn detect_distribution(ctx: &Context) -> Result<DetectedDistribution, EvidenceError> {
    let nodes = nodes(ctx).await?;
    let context = ctx
        .evidence
        .kube
        .target()
        .await
        .ok()
        .and_then(|t| t.context);
    Ok(classify(&nodes, context.as_deref()))
}

/// The pure part of [`detect_distribution`].
pub fn classify(nodes: &[Node], context: Option<&str>) -> DetectedDistribution {
    let found = |d: Distribution, evidence: String| DetectedDistribution {
        distribution: d,
        evidence,
    };
    for n in nodes {
        let name = node_name(n);
        let kubelet = kubelet_version(n);
        if kubelet.contains("+k3s") {
            return found(
                Distribution::K3s,
                format!("node {name} runs kubelet {kubelet}"),
            );
        }
        if kubelet.contains("+rke2") {
            return found(
                Distribution::Rke2,
                format!("node {name} runs kubelet {kubelet}"),
            );
        }
    }
    for n in nodes {
        let name = n.metadata.name.as_deref().unwrap_or("?");
        let provider = n
            .spec
            .as_ref()
            .and_then(|s| s.provider_id.as_deref())
            .unwrap_or("");
        if provider.starts_with("kind://") {
            return found(
                Distribution::Kind,
                format!("node {name} has providerID {provider}"),
            );
        }
        if provider.starts_with("k3s://") {
            return found(
                Distribution::K3s,
                format!("node {name} has providerID {provider}"),
            );
        }
        let labels = n.metadata.labels.clone().unwrap_or_default();
        if labels.keys().any(|k| k.starts_with("minikube.k8s.io/")) {
            return found(
                Distribution::Minikube,
                format!("node {name} carries minikube.k8s.io labels"),
            );
        }
        if labels
            .get("node.kubernetes.io/instance-type")
            .map(String::as_str)
            == Some("k3s")
        {
            return found(
                Distribution::K3s,
                format!("node {name} has label node.kubernetes.io/instance-type=k3s"),
            );
        }
        if name == "docker-desktop" {
            return found(
                Distribution::DockerDesktop,
                "node is named docker-desktop".into(),
            );
        }
        if name == "minikube" {
            return found(Distribution::Minikube, "node is named minikube".into());
        }
    }
    if let Some(ctx) = context {
        let by_context = [
            ("kind-", Distribution::Kind),
            ("minikube", Distribution::Minikube),
            ("docker-desktop", Distribution::DockerDesktop),
            ("k3d-", Distribution::K3s),
        ];
        for (prefix, d) in by_context {
            if ctx.starts_with(prefix) {
                return found(d, format!("kubeconfig context is named {ctx}"));
            }
        }
    }
    found(
        Distribution::Generic,
        "no distribution marker on the nodes (kubeadm or another distribution)".into(),
    )
}

/// The nodes a node check judges, or that check's outcome when it cannot judge: the evidence error as
/// `skip`/`error` (never a pass), or `skip` for a cluster without nodes (which `nodes.ready` fails).
pub async fn nodes_to_judge(ctx: &Context) -> Result<Arc<Vec<Node>>, Outcome> {
    match nodes(ctx).await {
        Ok(nodes) if nodes.is_empty() => Err(Outcome::skip(
            "the API server lists no nodes (nodes.ready fails on that)",
        )),
        Ok(nodes) => Ok(nodes),
        Err(e) => Err(unreadable("the nodes", &e)),
    }
}

/// The node facts to judge, or the outcome of a check that has none to judge: `skip` when no node
/// facts were collected, `error`/`skip` (via `unreadable`) when they could not be read.
pub async fn host_facts_to_judge(
    ctx: &Context,
) -> Result<std::sync::Arc<std::collections::BTreeMap<String, crate::evidence::HostFacts>>, Outcome>
{
    match ctx.evidence.host.nodes().await {
        Ok(hosts) if hosts.is_empty() => Err(Outcome::skip(
            "no node facts: collect them with `mcp-doctor host-facts` on each node, or pass --host-root /",
        )),
        Ok(hosts) => Ok(hosts),
        Err(e) => Err(unreadable("node facts", &e)),
    }
}

/// A node's name (`?` when the object has none).
pub fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or("?")
}

/// The kubelet version a node reports (`v1.32.3+k3s1`), empty when it has posted none.
pub fn kubelet_version(node: &Node) -> &str {
    node.status
        .as_ref()
        .and_then(|s| s.node_info.as_ref())
        .map(|i| i.kubelet_version.as_str())
        .unwrap_or("")
}

/// The value of one of a node's labels.
pub fn node_label<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// The node's status condition of a type (`Ready`, `DiskPressure`, ...), as the kubelet last posted it.
pub fn node_condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// A condition the way `kubectl describe node` reads it:
/// `Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)`.
pub fn describe_condition(c: &NodeCondition) -> String {
    let why = match (
        c.reason.as_deref().filter(|r| !r.is_empty()),
        c.message.as_deref().filter(|m| !m.is_empty()),
    ) {
        (Some(r), Some(m)) => format!(" ({r}: {m})"),
        (Some(x), None) | (None, Some(x)) => format!(" ({x})"),
        (None, None) => String::new(),
    };
    format!("{}={}{why}", c.type_, c.status)
}

/// The two labels the seed puts on the public ingress node besides ServiceLB's own `enablelb`.
pub const PUBLIC_INGRESS_LABELS: [&str; 2] = [
    "ingress.mcpruntime.org/public",
    "node-role.mcpruntime.org/public-ingress",
];

/// Labels that mark the public ingress node of the reference topology (any of them set to `true`).
pub const INGRESS_NODE_LABELS: &[&str] = &[
    PUBLIC_INGRESS_LABELS[0],
    PUBLIC_INGRESS_LABELS[1],
    "svccontroller.k3s.cattle.io/enablelb",
];

/// Labelled the public ingress node by the seed's mcpruntime labels (either of them `true`).
pub fn is_public_ingress(node: &Node) -> bool {
    PUBLIC_INGRESS_LABELS
        .iter()
        .any(|k| node_label(node, k) == Some("true"))
}

/// The ingress label a node carries (`key=true`), when it is a public ingress node.
pub fn ingress_node_label(node: &Node) -> Option<&'static str> {
    INGRESS_NODE_LABELS
        .iter()
        .copied()
        .find(|k| node_label(node, k) == Some("true"))
}

/// Carries `node-role.kubernetes.io/control-plane` or the older `node-role.kubernetes.io/master` label.
pub fn is_control_plane(node: &Node) -> bool {
    [
        "node-role.kubernetes.io/control-plane",
        "node-role.kubernetes.io/master",
    ]
    .iter()
    .any(|k| node_label(node, k).is_some())
}
