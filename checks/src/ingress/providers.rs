//! Who serves LoadBalancer Services: k3s ServiceLB, MetalLB, kube-vip, or a cloud controller. Shared by
//! `ingress.lb-provider` and `ingress.exposure`.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Node, Service};

use crate::check::{Context, unreadable};
use crate::evidence::{Scope, kinds, list_typed};
use crate::facts::node_name;
use crate::ingress::traefik::{lb_ingress, service_ref, service_type};

/// Distributions on which a `<pending>` LoadBalancer is normal and there is another way in.
pub fn tolerates_pending(d: Option<mcp_doctor_remediations::Distribution>) -> bool {
    use mcp_doctor_remediations::Distribution::*;
    matches!(d, Some(Kind | Minikube | DockerDesktop))
}

/// LoadBalancer providers other than k3s ServiceLB, each described with the object that shows it.
pub async fn other_providers(ctx: &Context, nodes: &[Node]) -> Result<Vec<String>, crate::Outcome> {
    let kube = ctx.evidence.kube.as_ref();
    let deployments: Vec<Deployment> = list_typed(kube, &kinds::DEPLOYMENTS, &Scope::AllNamespaces)
        .await
        .map_err(|e| unreadable("the deployments", &e))?;
    let daemonsets: Vec<DaemonSet> = list_typed(kube, &kinds::DAEMONSETS, &Scope::AllNamespaces)
        .await
        .map_err(|e| unreadable("the daemonsets", &e))?;
    let mut found = Vec::new();
    let label = |l: Option<&std::collections::BTreeMap<String, String>>, k: &str| {
        l.and_then(|l| l.get(k)).cloned().unwrap_or_default()
    };
    for d in &deployments {
        let ns = d.metadata.namespace.as_deref().unwrap_or("");
        let name = d.metadata.name.as_deref().unwrap_or("");
        let labels = d.metadata.labels.as_ref();
        if ns == "metallb-system"
            || label(labels, "app") == "metallb"
            || label(labels, "app.kubernetes.io/name") == "metallb"
        {
            found.push(format!("MetalLB (deployment {ns}/{name})"));
        } else if name.starts_with("kube-vip") {
            found.push(format!("kube-vip (deployment {ns}/{name})"));
        }
    }
    for d in &daemonsets {
        let ns = d.metadata.namespace.as_deref().unwrap_or("");
        let name = d.metadata.name.as_deref().unwrap_or("");
        if name.starts_with("kube-vip") {
            found.push(format!("kube-vip (daemonset {ns}/{name})"));
        }
    }
    for n in nodes {
        let provider = n
            .spec
            .as_ref()
            .and_then(|s| s.provider_id.as_deref())
            .unwrap_or("");
        let scheme = provider.split("://").next().unwrap_or("");
        if provider.contains("://") && !["k3s", "kind", "rke2"].contains(&scheme) {
            found.push(format!(
                "a {scheme} cloud controller (node {} has providerID {provider})",
                node_name(n)
            ));
            break;
        }
    }
    found.dedup();
    Ok(found)
}

/// LoadBalancer Services without an address, as `service/<ns>/<name>`.
pub fn pending(services: &[Service]) -> Vec<String> {
    services
        .iter()
        .filter(|s| service_type(s) == "LoadBalancer" && lb_ingress(s).is_empty())
        .map(service_ref)
        .collect()
}
