//! The origin: the addresses where Traefik receives public traffic, read from the cluster.
//!
//! - the Services of every Traefik install (`ingress::traefik::installs`: k3s's bundled one in
//!   `kube-system`, the repo-managed one in `traefik`, any other): their `status.loadBalancer.ingress[].ip`
//!   (k3s ServiceLB writes the node addresses there);
//! - the nodes labelled `ingress.mcpruntime.org/public=true` or
//!   `node-role.mcpruntime.org/public-ingress=true`: their ExternalIP (their InternalIP when they have
//!   none).

use std::net::IpAddr;

use serde::Serialize;

use crate::check::{Context, unreadable};
use crate::facts::{is_public_ingress, node_name, nodes};
use crate::ingress::traefik;
use crate::model::Outcome;

/// One origin address and where it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginAddress {
    pub ip: IpAddr,
    /// `service/kube-system/traefik` or `node/mcp-ingress-1`.
    pub object: String,
    /// `LoadBalancer ingress`, `ExternalIP`, `InternalIP`.
    pub field: String,
}

/// Every origin address, Traefik Services first; empty when the cluster shows none. `Err` is the outcome
/// of a check that could not read the Traefik installs or the nodes.
pub async fn origin_addresses(ctx: &Context) -> Result<Vec<OriginAddress>, Outcome> {
    let mut out: Vec<OriginAddress> = Vec::new();
    let mut push = |o: OriginAddress| {
        if !out.iter().any(|x| x.ip == o.ip && x.object == o.object) {
            out.push(o);
        }
    };
    for install in traefik::installs(ctx).await? {
        let Some(svc) = &install.service else {
            continue;
        };
        for ip in traefik::lb_ingress(svc)
            .iter()
            .filter_map(|a| a.parse().ok())
        {
            push(OriginAddress {
                ip,
                object: traefik::service_ref(svc),
                field: "LoadBalancer ingress".into(),
            });
        }
    }
    let nodes = nodes(ctx).await.map_err(|e| unreadable("the nodes", &e))?;
    for node in nodes.iter().filter(|n| is_public_ingress(n)) {
        let addrs = node.status.as_ref().and_then(|s| s.addresses.as_ref());
        // The InternalIP counts only for a node without an ExternalIP (on-prem behind NAT, internal LB).
        let has_external = addrs.into_iter().flatten().any(|a| a.type_ == "ExternalIP");
        let kind = if has_external {
            "ExternalIP"
        } else {
            "InternalIP"
        };
        for a in addrs.into_iter().flatten().filter(|a| a.type_ == kind) {
            if let Ok(ip) = a.address.parse() {
                push(OriginAddress {
                    ip,
                    object: format!("node/{}", node_name(node)),
                    field: kind.to_string(),
                });
            }
        }
    }
    Ok(out)
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
