//! Facts derived from evidence that more than one check (or a remediation) needs. Each is computed from
//! memoized evidence, so asking twice costs nothing.

use k8s_openapi::api::core::v1::Node;
use mcp_doctor_remediations::Distribution;
use serde::Serialize;

use crate::check::Context;
use crate::evidence::{EvidenceError, Scope, kinds, list_typed};

/// The distribution and the signal that gave it away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetectedDistribution {
    pub distribution: Distribution,
    pub evidence: String,
}

/// Reads the nodes (once per run).
pub async fn nodes(ctx: &Context) -> Result<Vec<Node>, EvidenceError> {
    list_typed(ctx.evidence.kube.as_ref(), &kinds::NODES, &Scope::Cluster).await
}

/// Detects the distribution from, strongest first: kubelet version suffixes (`+k3s`, `+rke2`), providerID
/// (`kind://`), node labels (`minikube.k8s.io/*`, `node.kubernetes.io/instance-type=k3s`), node names
/// (`docker-desktop`, `*-control-plane` with kind's labels), and last the context name.
pub async fn detect_distribution(ctx: &Context) -> Result<DetectedDistribution, EvidenceError> {
    let nodes = nodes(ctx).await?;
    let context = ctx.evidence.kube.target().await.ok().and_then(|t| t.context);
    Ok(classify(&nodes, context.as_deref()))
}

/// The pure part of [`detect_distribution`].
pub fn classify(nodes: &[Node], context: Option<&str>) -> DetectedDistribution {
    let found = |d: Distribution, evidence: String| DetectedDistribution { distribution: d, evidence };
    for n in nodes {
        let name = n.metadata.name.as_deref().unwrap_or("?");
        let kubelet = n.status.as_ref().and_then(|s| s.node_info.as_ref()).map(|i| i.kubelet_version.as_str()).unwrap_or("");
        if kubelet.contains("+k3s") {
            return found(Distribution::K3s, format!("node {name} runs kubelet {kubelet}"));
        }
        if kubelet.contains("+rke2") {
            return found(Distribution::Rke2, format!("node {name} runs kubelet {kubelet}"));
        }
    }
    for n in nodes {
        let name = n.metadata.name.as_deref().unwrap_or("?");
        let provider = n.spec.as_ref().and_then(|s| s.provider_id.as_deref()).unwrap_or("");
        if provider.starts_with("kind://") {
            return found(Distribution::Kind, format!("node {name} has providerID {provider}"));
        }
        if provider.starts_with("k3s://") {
            return found(Distribution::K3s, format!("node {name} has providerID {provider}"));
        }
        let labels = n.metadata.labels.clone().unwrap_or_default();
        if labels.keys().any(|k| k.starts_with("minikube.k8s.io/")) {
            return found(Distribution::Minikube, format!("node {name} carries minikube.k8s.io labels"));
        }
        if labels.get("node.kubernetes.io/instance-type").map(String::as_str) == Some("k3s") {
            return found(Distribution::K3s, format!("node {name} has label node.kubernetes.io/instance-type=k3s"));
        }
        if name == "docker-desktop" {
            return found(Distribution::DockerDesktop, "node is named docker-desktop".into());
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
    found(Distribution::Generic, "no distribution marker on the nodes (kubeadm or another distribution)".into())
}
