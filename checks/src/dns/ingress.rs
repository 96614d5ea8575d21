//! The origin: the addresses where Traefik receives public traffic, read from the cluster.
//!
//! - the Traefik Service (`kube-system/traefik` for k3s's bundled Traefik, `traefik/traefik` for the
//!   repo-managed one; any Service there labelled `app.kubernetes.io/name=traefik`): its
//!   `status.loadBalancer.ingress[].ip` (k3s ServiceLB writes the node addresses there);
//! - the nodes labelled `ingress.mcpruntime.org/public=true` or
//!   `node-role.mcpruntime.org/public-ingress=true`: their ExternalIP (their InternalIP when they have
//!   none).
//!
//! A small reader of its own; the ingress/svclb checks read the same objects (see the module report).

use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Node, Service};
use serde::Serialize;

use crate::check::Context;
use crate::evidence::{EvidenceError, Scope, kinds, list_typed};
use crate::facts::{node_label, node_name};

/// Namespaces the active Traefik lives in.
pub const TRAEFIK_NAMESPACES: [&str; 2] = ["kube-system", "traefik"];

/// Node labels that mark the public ingress node (the seed's, without ServiceLB's own enablelb label).
pub const PUBLIC_INGRESS_LABELS: [&str; 2] = [
    "ingress.mcpruntime.org/public",
    "node-role.mcpruntime.org/public-ingress",
];

/// One origin address and where it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginAddress {
    pub ip: IpAddr,
    /// `service/kube-system/traefik` or `node/mcp-ingress-1`.
    pub object: String,
    /// `LoadBalancer ingress`, `ExternalIP`, `InternalIP`.
    pub field: String,
}

/// Every origin address, Traefik Service first; empty when the cluster shows none.
pub async fn origin_addresses(ctx: &Context) -> Result<Vec<OriginAddress>, EvidenceError> {
    let mut out: Vec<OriginAddress> = Vec::new();
    let mut push = |o: OriginAddress| {
        if !out.iter().any(|x| x.ip == o.ip && x.object == o.object) {
            out.push(o);
        }
    };
    for ns in TRAEFIK_NAMESPACES {
        let services: Vec<Service> = list_typed(
            ctx.evidence.kube.as_ref(),
            &kinds::SERVICES,
            &Scope::Namespace(ns.into()),
        )
        .await?;
        for svc in services.iter().filter(|s| is_traefik(s)) {
            let name = svc.metadata.name.as_deref().unwrap_or("?");
            let ingress = svc
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref());
            for ing in ingress.into_iter().flatten() {
                if let Some(ip) = ing.ip.as_deref().and_then(|ip| ip.parse().ok()) {
                    push(OriginAddress {
                        ip,
                        object: format!("service/{ns}/{name}"),
                        field: "LoadBalancer ingress".into(),
                    });
                }
            }
        }
    }
    let nodes: Vec<Node> =
        list_typed(ctx.evidence.kube.as_ref(), &kinds::NODES, &Scope::Cluster).await?;
    for node in nodes.iter().filter(|n| is_public_ingress(n)) {
        let addrs = node.status.as_ref().and_then(|s| s.addresses.as_ref());
        // The InternalIP counts only for a node without an ExternalIP (on-prem behind NAT, internal LB).
        let has_external = addrs.into_iter().flatten().any(|a| a.type_ == "ExternalIP");
        let kinds: &[&str] = if has_external {
            &["ExternalIP"]
        } else {
            &["InternalIP"]
        };
        for kind in kinds {
            for a in addrs.into_iter().flatten().filter(|a| a.type_ == *kind) {
                if let Ok(ip) = a.address.parse() {
                    push(OriginAddress {
                        ip,
                        object: format!("node/{}", node_name(node)),
                        field: kind.to_string(),
                    });
                }
            }
        }
    }
    Ok(out)
}

fn is_traefik(svc: &Service) -> bool {
    svc.metadata.name.as_deref() == Some("traefik")
        || svc
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("app.kubernetes.io/name"))
            .map(String::as_str)
            == Some("traefik")
}

/// Carries one of [`PUBLIC_INGRESS_LABELS`] set to `true`.
pub fn is_public_ingress(node: &Node) -> bool {
    PUBLIC_INGRESS_LABELS
        .iter()
        .any(|k| node_label(node, k) == Some("true"))
}

/// `45.79.0.10 (service/kube-system/traefik LoadBalancer ingress, node/mcp-ingress-1 ExternalIP)`: each
/// address once, with every place it was seen.
pub fn describe(origin: &[OriginAddress]) -> String {
    let mut ips: Vec<IpAddr> = Vec::new();
    for o in origin {
        if !ips.contains(&o.ip) {
            ips.push(o.ip);
        }
    }
    ips.iter()
        .map(|ip| {
            let seen: Vec<String> = origin
                .iter()
                .filter(|o| o.ip == *ip)
                .map(|o| format!("{} {}", o.object, o.field))
                .collect();
            format!("{ip} ({})", seen.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
