use async_trait::async_trait;
use mcp_doctor_remediations::{Distribution, Vars};

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts;
use crate::ingress::providers::{other_providers, pending, tolerates_pending};
use crate::ingress::traefik::{self, describe_ports, lb_ingress, service_type};
use crate::model::{CheckMeta, Outcome};
use crate::svclb::servicelb;

declare_check! {
    /// ### What it checks
    /// The Service of the Traefik the platform uses is reachable from outside the cluster: a LoadBalancer
    /// with an address in `status.loadBalancer.ingress`, or a NodePort Service. A LoadBalancer left
    /// `<pending>` is tolerated (warning) on kind, minikube and Docker Desktop, which have other ways in; on
    /// k3s it is a failure whose cause is named: ServiceLB disabled with no other provider, no node eligible
    /// for ServiceLB, or a svclb pod that cannot run (a host port already taken, a taint).
    ///
    /// ### Why it matters
    /// The public hosts' DNS records must point at this address; with none, nothing outside the cluster
    /// reaches Traefik and HTTP-01 validation cannot succeed.
    ///
    /// ### What a failure looks like
    /// `Service kube-system/traefik has no LoadBalancer address: svclb pod kube-system/svclb-traefik-... is
    /// Pending on mcp-ingress-1: host port 80 is already taken (80 held by pod docs/nginx-docs-...)`, or the
    /// warning `Service traefik/traefik is LoadBalancer <pending> on kind (tolerated): reach it through ...`.
    ///
    /// Pods are read only to explain a `<pending>` address on k3s (they are not in this check's declared
    /// reads: a Traefik with an address passes without them, and `svclb.placement` declares them).
    ///
    /// ### How to fix
    /// Remove the cause named (free the host port, re-enable ServiceLB or install MetalLB, fix the enablelb
    /// labels). On kind, map host ports to the NodePorts; on minikube run `minikube tunnel`.
    pub struct Exposure {
        id: "ingress.exposure",
        title: "Traefik is exposed outside the cluster",
        category: "ingress",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::DEPLOYMENTS, kinds::SERVICES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::HELM_CHARTS, kinds::NODES, kinds::DAEMONSETS],
    }
}

/// The nodePort behind a Service port, or a placeholder when it has none.
fn node_port(svc: &k8s_openapi::api::core::v1::Service, port: i32, unknown: &str) -> String {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .find(|p| p.port == port)
        .and_then(|p| p.node_port)
        .map(|n| n.to_string())
        .unwrap_or_else(|| unknown.to_string())
}

#[async_trait]
impl Check for Exposure {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (installs, i) = match traefik::the_traefik(ctx).await {
            Ok(found) => found,
            Err(o) => return o,
        };
        let t = &installs[i];
        let distribution = ctx.distribution().await;
        let Some(svc) = &t.service else {
            let vars = Vars::from([("namespace", t.namespace.clone())]);
            return Outcome::fail(format!(
                "{} has no Service: nothing publishes it outside the cluster",
                t.label()
            ))
            .remediate("rem.traefik-not-exposed", distribution, &vars)
            .subject(t.deployment_ref());
        };
        let name = traefik::service_name(svc);
        let kind = service_type(svc);
        let ports = describe_ports(svc);
        let addresses = lb_ingress(svc);
        match kind {
            "LoadBalancer" if !addresses.is_empty() => {
                return Outcome::pass(format!(
                    "Service {name} is a LoadBalancer at {} ({ports})",
                    addresses.join(", ")
                ))
                .detail("addresses", &addresses);
            }
            "NodePort" => {
                return Outcome::pass(format!("Service {name} is a NodePort Service ({ports})"));
            }
            "LoadBalancer" => {}
            other => {
                let vars = Vars::from([("namespace", t.namespace.clone())]);
                return Outcome::fail(format!(
                    "Service {name} is {other}: nothing outside the cluster reaches Traefik"
                ))
                .remediate("rem.traefik-not-exposed", distribution, &vars)
                .subject(traefik::service_ref(svc));
            }
        }

        // A LoadBalancer without an address.
        if tolerates_pending(distribution) {
            let vars = Vars::from([
                ("service", name.clone()),
                ("namespace", t.namespace.clone()),
                (
                    "name",
                    svc.metadata
                        .name
                        .clone()
                        .unwrap_or_else(|| "traefik".into()),
                ),
                ("ports", ports.clone()),
                ("web_node_port", node_port(svc, 80, "<web nodePort>")),
                (
                    "websecure_node_port",
                    node_port(svc, 443, "<websecure nodePort>"),
                ),
            ]);
            return Outcome::warn(format!(
                "Service {name} is LoadBalancer <pending> on {} (tolerated: no LoadBalancer provider there; \
                 reach it through its NodePorts or the distribution's tunnel) ({ports})",
                distribution.map(|d| d.as_str()).unwrap_or("this distribution")
            ))
            .remediate("rem.lb-pending-local", distribution, &vars)
            .subject(traefik::service_ref(svc));
        }
        let nodes = match facts::nodes(ctx).await {
            Ok(n) => n,
            Err(e) => return unreadable("the nodes", &e),
        };
        let others = match other_providers(ctx, &nodes).await {
            Ok(o) => o,
            Err(o) => return o,
        };
        let services = match traefik::services(ctx).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        let pending_services = pending(&services);
        if distribution != Some(Distribution::K3s) {
            let vars = Vars::from([("service", name.clone())]);
            let (message, id) = if others.is_empty() {
                (
                    format!(
                        "Service {name} is LoadBalancer <pending> and no LoadBalancer provider runs (no MetalLB, \
                         kube-vip or cloud controller found)"
                    ),
                    "rem.lb-provider-missing",
                )
            } else {
                (
                    format!(
                        "Service {name} is LoadBalancer <pending> although {} runs",
                        others.join(", ")
                    ),
                    "rem.lb-provider-pending",
                )
            };
            let subjects = if others.is_empty() {
                pending_services.clone()
            } else {
                vec![traefik::service_ref(svc)]
            };
            return Outcome::fail(message)
                .remediate(id, distribution, &vars)
                .subjects(subjects);
        }
        let pods = match ctx.servicelb_pods().await {
            Ok(p) => p,
            Err(e) => return unreadable("the pods", &e),
        };
        let finding = servicelb::pending_cause(&nodes, &pods, svc, &others, &pending_services);
        let message = format!(
            "Service {name} has no LoadBalancer address: {}",
            finding.message
        );
        let lb_pods = servicelb::lb_pods(&pods, svc);
        finding
            .reworded(message)
            .outcome(ctx)
            .await
            .detail("nodes", servicelb::node_lines(&nodes, &lb_pods, &pods))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ingress::testing::FrontDoor;
    use crate::model::Status;
    use crate::test_support::expect;

    #[tokio::test]
    async fn lb_with_an_address_passes() {
        let o = FrontDoor::reference().case().run(&Exposure).await;
        expect(
            &o,
            Status::Pass,
            &["Service kube-system/traefik is a LoadBalancer at 203.0.113.10"],
        );
    }

    #[tokio::test]
    async fn pending_lb_on_k3s_with_a_taken_host_port_fails_naming_the_holder() {
        let mut fd = FrontDoor::reference();
        fd.pending_on_host_port();
        let o = fd.case().run(&Exposure).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "Service kube-system/traefik has no LoadBalancer address",
                "is Pending on mcp-ingress-1",
                "host port 80 is already taken",
                "pod docs/nginx-docs",
            ],
        );
        assert_eq!(rem, "rem.svclb-host-port");
        assert!(o.subjects.contains(&"node/mcp-ingress-1".to_string()));
        assert!(
            o.subjects
                .contains(&"pod/docs/nginx-docs-7d9c5b8f6-k2x9q".to_string())
        );
    }

    #[tokio::test]
    async fn servicelb_disabled_fails_with_the_server_flag() {
        let mut fd = FrontDoor::reference();
        fd.disable_servicelb();
        let o = fd.case().run(&Exposure).await;
        let rem = expect(
            &o,
            Status::Fail,
            &["k3s ServiceLB is disabled (--disable servicelb on mcp-cp-1)"],
        );
        assert_eq!(rem, "rem.servicelb-disabled");
        assert_eq!(o.subjects, vec!["node/mcp-cp-1"]);
    }

    #[tokio::test]
    async fn pending_lb_on_kind_is_tolerated() {
        let fd = FrontDoor::kind();
        let o = fd.case().run(&Exposure).await;
        let rem = expect(&o, Status::Warn, &["<pending> on kind (tolerated"]);
        assert_eq!(rem, "rem.lb-pending-local");
        let text = o.remediation.unwrap().text;
        assert!(text.contains("extraPortMappings"), "{text}");
        assert!(
            text.contains("containerPort: 31080\n      hostPort: 80"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn cluster_ip_fails() {
        let mut fd = FrontDoor::reference();
        fd.services[0]["spec"]["type"] = json!("ClusterIP");
        let o = fd.case().run(&Exposure).await;
        expect(&o, Status::Fail, &["is ClusterIP"]);
    }
}
