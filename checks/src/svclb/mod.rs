//! k3s ServiceLB checks: which nodes answer on 80/443 for Traefik's LoadBalancer Service, and why.

mod address_match;
mod enablelb_labels;
mod placement;
pub mod servicelb;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use mcp_doctor_remediations::Distribution;

pub use address_match::AddressMatch;
pub use enablelb_labels::EnablelbLabels;
pub use placement::Placement;

use crate::Check;
use crate::check::{Context, unreadable};
use crate::facts;
use crate::ingress::traefik::{self, service_name, service_type};
use crate::model::{Outcome, Status};

/// The svclb checks in CHECKS.md row order.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(EnablelbLabels),
        Box::new(Placement),
        Box::new(AddressMatch),
    ]
}

/// The nodes ServiceLB places pods on: those of a k3s cluster whose server runs ServiceLB. Otherwise the
/// skip that says why the svclb checks do not apply (another distribution, or `--disable servicelb`, which
/// `ingress.lb-provider` and `ingress.exposure` report).
pub(crate) async fn servicelb_nodes(ctx: &Context) -> Result<Arc<Vec<Node>>, Outcome> {
    let nodes = facts::nodes_to_judge(ctx).await?;
    match ctx.distribution().await {
        Some(Distribution::K3s) => {}
        other => {
            return Err(Outcome::skip(format!(
                "the cluster is {}, not k3s: ServiceLB is k3s's load balancer",
                other
                    .map(|d| d.as_str())
                    .unwrap_or("of an unknown distribution")
            )));
        }
    }
    if let Some((server, arg)) = servicelb::disabled_by(&nodes) {
        return Err(Outcome::skip(format!(
            "k3s ServiceLB is disabled ({arg} on {server}): no svclb pods to judge (ingress.lb-provider and \
             ingress.exposure report it)"
        )));
    }
    Ok(nodes)
}

/// The LoadBalancer Service of the Traefik the platform uses, and every pod; skips when there is none.
pub(crate) async fn traefik_lb(ctx: &Context) -> Result<(Service, Arc<Vec<Pod>>), Outcome> {
    let (installs, i) = traefik::the_traefik(ctx).await.map_err(|o| {
        if o.status == Status::Fail {
            Outcome::skip(format!(
                "no Traefik to place ServiceLB pods for (ingress.traefik-ready reports it): {}",
                o.message
            ))
        } else {
            o
        }
    })?;
    let t = &installs[i];
    let Some(svc) = t.service.clone() else {
        return Err(Outcome::skip(format!(
            "{} has no Service (ingress.exposure reports it)",
            t.label()
        )));
    };
    if service_type(&svc) != "LoadBalancer" {
        return Err(Outcome::skip(format!(
            "Service {} is {}, not a LoadBalancer: ServiceLB does not serve it",
            service_name(&svc),
            service_type(&svc)
        )));
    }
    let pods = ctx
        .servicelb_pods()
        .await
        .map_err(|e| unreadable("the pods", &e))?;
    Ok((svc, pods))
}
