use async_trait::async_trait;
use mcp_doctor_remediations::{Distribution, Vars};

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts;
use crate::ingress::providers::{other_providers, pending, tolerates_pending};
use crate::ingress::traefik;
use crate::model::{CheckMeta, Outcome};
use crate::svclb::servicelb;

declare_check! {
    /// ### What it checks
    /// Something will give LoadBalancer Services an address: k3s ServiceLB (enabled unless the server runs
    /// with `--disable servicelb`, read from the `k3s.io/node-args` annotation), MetalLB (`metallb-system`),
    /// kube-vip, or a cloud controller (a node `providerID` such as `aws://`). On kind, minikube and Docker
    /// Desktop without one it warns: LoadBalancer Services stay `<pending>` there, and the distribution's own
    /// way in (port mappings, `minikube tunnel`) is used instead.
    ///
    /// ### Why it matters
    /// Traefik's Service is a LoadBalancer: with nothing to serve it, it stays `<pending>` forever and the
    /// public hosts have no address to point at.
    ///
    /// ### What a failure looks like
    /// `k3s ServiceLB is disabled (--disable servicelb on mcp-cp-1) and no other LoadBalancer provider runs:
    /// Service kube-system/traefik stays <pending>`
    ///
    /// ### How to fix
    /// Re-enable ServiceLB (drop `--disable servicelb` from the k3s server's arguments or
    /// `/etc/rancher/k3s/config.yaml` and restart k3s), or install MetalLB with an address pool.
    pub struct LbProvider {
        id: "ingress.lb-provider",
        title: "A LoadBalancer provider serves LoadBalancer Services",
        category: "ingress",
        modes: Setup,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NODES, kinds::DEPLOYMENTS, kinds::DAEMONSETS, kinds::SERVICES],
    }
}

#[async_trait]
impl Check for LbProvider {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let nodes = match facts::nodes_to_judge(ctx).await {
            Ok(n) => n,
            Err(o) => return o,
        };
        let distribution = ctx.distribution().await;
        let others = match other_providers(ctx, &nodes).await {
            Ok(o) => o,
            Err(o) => return o,
        };
        let services = match traefik::services(ctx).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        let pending = pending(&services);
        let k3s = distribution == Some(Distribution::K3s);
        let disabled = servicelb::disabled_by(&nodes);
        let mut providers = Vec::new();
        if k3s {
            match &disabled {
                None => providers.push("k3s ServiceLB".to_string()),
                Some((server, arg)) if others.is_empty() => {
                    return servicelb::disabled_finding(server, arg, &pending)
                        .outcome(ctx)
                        .await;
                }
                Some(_) => {}
            }
        }
        providers.extend(others);
        if !providers.is_empty() {
            let note = match &disabled {
                Some((server, arg)) if k3s => {
                    format!(" (k3s ServiceLB is disabled: {arg} on {server})")
                }
                _ => String::new(),
            };
            return Outcome::pass(format!(
                "LoadBalancer Services are served by {}{note}",
                providers.join(", ")
            ))
            .detail("providers", &providers);
        }
        let vars = Vars::from([
            (
                "service",
                if pending.is_empty() {
                    "a LoadBalancer Service".to_string()
                } else {
                    pending.join(", ")
                },
            ),
            ("ports", "kubectl get svc -A shows them".to_string()),
            ("namespace", "<namespace>".to_string()),
            ("name", "<service>".to_string()),
            ("web_node_port", "<web nodePort>".to_string()),
            ("websecure_node_port", "<websecure nodePort>".to_string()),
        ]);
        let names: Vec<&str> = pending
            .iter()
            .map(|s| s.strip_prefix("service/").unwrap_or(s))
            .collect();
        let stays = if names.is_empty() {
            "LoadBalancer Services will stay <pending>".to_string()
        } else {
            format!("{} will stay <pending>", names.join(", "))
        };
        if tolerates_pending(distribution) {
            let d = distribution.map(|d| d.as_str()).unwrap_or("?");
            return Outcome::warn(format!(
                "no LoadBalancer provider on {d}: {stays} (tolerated there: use NodePorts, port mappings or a \
                 tunnel)"
            ))
            .remediate("rem.lb-pending-local", distribution, &vars)
            .subjects(pending);
        }
        Outcome::warn(format!(
            "no LoadBalancer provider found (no k3s ServiceLB, MetalLB, kube-vip or cloud controller): {stays}"
        ))
        .remediate("rem.lb-provider-missing", distribution, &vars)
        .subjects(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingress::testing::FrontDoor;
    use crate::model::Status;
    use crate::test_support::expect;

    #[tokio::test]
    async fn k3s_with_servicelb_passes() {
        let o = FrontDoor::reference().case().run(&LbProvider).await;
        expect(&o, Status::Pass, &["served by k3s ServiceLB"]);
    }

    #[tokio::test]
    async fn k3s_with_servicelb_disabled_and_nothing_else_fails() {
        let mut fd = FrontDoor::reference();
        fd.disable_servicelb();
        let o = fd.case().run(&LbProvider).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "k3s ServiceLB is disabled (--disable servicelb on mcp-cp-1)",
                "Service kube-system/traefik stays <pending>",
            ],
        );
        assert_eq!(rem, "rem.servicelb-disabled");
        assert_eq!(o.subjects, vec!["node/mcp-cp-1"]);
    }

    #[tokio::test]
    async fn metallb_serves_when_servicelb_is_disabled() {
        let mut fd = FrontDoor::reference();
        fd.disable_servicelb();
        fd.add_metallb();
        let o = fd.case().run(&LbProvider).await;
        expect(
            &o,
            Status::Pass,
            &["MetalLB (deployment metallb-system/controller)"],
        );
    }

    #[tokio::test]
    async fn kind_without_a_provider_warns() {
        let o = FrontDoor::kind().case().run(&LbProvider).await;
        let rem = expect(&o, Status::Warn, &["no LoadBalancer provider on kind"]);
        assert_eq!(rem, "rem.lb-pending-local");
        assert_eq!(o.subjects, vec!["service/traefik/traefik"]);
    }
}
