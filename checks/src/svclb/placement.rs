use async_trait::async_trait;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts::{self, node_name};
use crate::ingress::providers::pending;
use crate::ingress::traefik::service_name;
use crate::model::{CheckMeta, Outcome};
use crate::svclb::servicelb;
use crate::svclb::{servicelb_nodes, traefik_lb};

declare_check! {
    /// ### What it checks
    /// On k3s, node by node: the `svclb-traefik-*` pods that ServiceLB runs for the Traefik LoadBalancer
    /// Service (found by their `svccontroller.k3s.cattle.io/svcname` / `svcnamespace` labels, in
    /// `kube-system` on k3s since v1.24.3, in the Service's namespace before) run only on the public ingress
    /// node(s) and are Running and Ready with host ports 80 and 443. A Pending pod's cause is named: a host
    /// port already taken (and the pod that holds it), a taint, or the scheduler's message. The message ends
    /// with every node, its labels, its svclb pod and phase, and the addresses it answers on, nodes in the
    /// same state sharing a line (each node on its own line in the details, as `nodes`), e.g. `80/443 for
    /// Service kube-system/traefik answer only on mcp-ingress-1, where the svclb pods run; node by node:
    /// mcp-cp-1, mcp-worker-1, mcp-worker-2 [no enablelb label]: no svclb pod (not eligible: enablelb=true
    /// is set on other nodes), nothing on 80/443; mcp-ingress-1 [enablelb=true, public ingress]:
    /// svclb-traefik-4c5e2f1a-lz6tk Running, host ports 80/443, answers on 10.0.0.21, 203.0.113.10`.
    ///
    /// ### Why it matters
    /// A svclb pod is what makes a node answer on 80/443. Where it is Pending, that node answers nothing and
    /// k3s leaves it out of the Service's address; where it runs on a node the DNS does not point at, the
    /// platform is exposed there too.
    ///
    /// ### What a failure looks like
    /// `svclb pod kube-system/svclb-traefik-4c5e2f1a-7xk2p for Service kube-system/traefik is Pending on
    /// mcp-ingress-1: host port 80 is already taken (80 held by pod docs/nginx-docs-7d9c5b8f6-k2x9q), so
    /// mcp-ingress-1 does not answer on 80/443 (scheduler: 0/4 nodes are available: 1 node(s) didn't have
    /// free ports for the requested pod ports, ...)`
    ///
    /// ### How to fix
    /// Free the host port on that node (move or delete the pod holding it; a second LoadBalancer on 80/443
    /// cannot share a node with Traefik's under ServiceLB, k3s #1969), or fix the taint; fix the enablelb
    /// labels when pods run on the wrong nodes. The remediation names the objects.
    pub struct Placement {
        id: "svclb.placement",
        title: "svclb pods run on the ingress node",
        category: "svclb",
        modes: Both,
        depends_on: ["cluster.distribution"],
        reads: [kinds::NODES, kinds::PODS, kinds::DEPLOYMENTS, kinds::SERVICES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::HELM_CHARTS],
    }
}

#[async_trait]
impl Check for Placement {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let nodes = match servicelb_nodes(ctx).await {
            Ok(n) => n,
            Err(o) => return o,
        };
        let (svc, pods) = match traefik_lb(ctx).await {
            Ok(found) => found,
            Err(o) => return o,
        };
        let name = service_name(&svc);
        let lb = servicelb::lb_pods(&pods, &svc);
        let lines = servicelb::node_lines(&nodes, &lb, &pods);

        let by_node = format!(
            "node by node: {}",
            facts::listed(&servicelb::node_lines_grouped(&nodes, &lb, &pods), "; ")
        );
        if let Some(f) = servicelb::stuck_pod_finding(&svc, &lb, &pods) {
            let message = format!("{}; {by_node}", f.message);
            return f
                .reworded(message)
                .outcome(ctx)
                .await
                .detail("nodes", &lines);
        }
        if lb.is_empty() {
            let services = match crate::ingress::traefik::services(ctx).await {
                Ok(s) => s,
                Err(o) => return o,
            };
            return servicelb::pending_cause(&nodes, &pods, &svc, &[], &pending(&services))
                .outcome(ctx)
                .await
                .detail("nodes", &lines);
        }
        let designated: Vec<&str> = servicelb::designated(&nodes)
            .into_iter()
            .map(node_name)
            .collect();
        let answering: Vec<&str> = lb
            .iter()
            .filter(|p| p.answers())
            .filter_map(|p| p.node.as_deref())
            .collect();
        let elsewhere: Vec<&str> = answering
            .iter()
            .copied()
            .filter(|n| !designated.contains(n))
            .collect();
        if !elsewhere.is_empty()
            && let Some(f) = servicelb::pin_finding(&nodes)
        {
            let message = format!(
                "svclb pods for Service {name} answer on 80/443 on {} (not only on the ingress node {}): {}",
                facts::listed(&answering, ", "),
                if designated.is_empty() {
                    "<none labelled>".to_string()
                } else {
                    facts::listed(&designated, ", ")
                },
                f.message
            );
            return f
                .reworded(message)
                .outcome(ctx)
                .await
                .detail("nodes", &lines);
        }
        if !elsewhere.is_empty() {
            // The labels are right but pods remain where the label was removed: the DaemonSet controller
            // has not deleted them yet (or cannot), and those nodes still answer on 80/443.
            let lingering: Vec<&servicelb::LbPod> = lb
                .iter()
                .filter(|p| {
                    p.answers() && p.node.as_deref().is_some_and(|n| elsewhere.contains(&n))
                })
                .collect();
            let commands: Vec<String> = lingering
                .iter()
                .map(|p| format!("  kubectl -n {} delete pod {}", p.namespace, p.name))
                .collect();
            let vars = mcp_doctor_remediations::Vars::from([
                ("nodes", elsewhere.join(", ")),
                ("commands", commands.join("\n")),
            ]);
            return Outcome::warn(format!(
                "svclb pods for Service {name} still answer on 80/443 on {}, which no longer carry {}=true \
                 (the ingress node is {}): the DaemonSet controller has not removed them yet; {by_node}",
                facts::listed(&elsewhere, ", "),
                servicelb::ENABLELB,
                facts::listed(&designated, ", ")
            ))
            .remediate("rem.svclb-pod-lingering", ctx.distribution().await, &vars)
            .subjects(lingering.iter().map(|p| p.reference()))
            .detail("nodes", &lines);
        }
        Outcome::pass(format!(
            "80/443 for Service {name} answer only on {}, where the svclb pods run; {by_node}",
            facts::listed(&answering, ", "),
        ))
        .detail("nodes", &lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingress::testing::FrontDoor;
    use crate::model::Status;
    use crate::svclb::servicelb::ENABLELB;
    use crate::test_support::expect;

    #[tokio::test]
    async fn pinned_running_pod_passes_and_explains_every_node() {
        let o = FrontDoor::reference().case().run(&Placement).await;
        expect(
            &o,
            Status::Pass,
            &[
                "answer only on mcp-ingress-1",
                "node by node: mcp-cp-1, mcp-worker-1, mcp-worker-2 [no enablelb label]: no svclb pod \
                 (not eligible",
                "nothing on 80/443; mcp-ingress-1 [",
                "host ports 80/443, answers on 10.0.0.21, 203.0.113.10",
            ],
        );
        let nodes = o.details["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 4);
        assert!(
            nodes[1]
                .as_str()
                .unwrap()
                .contains("answers on 10.0.0.21, 203.0.113.10"),
            "{nodes:?}"
        );
        assert!(
            nodes[0].as_str().unwrap().contains("not eligible"),
            "{nodes:?}"
        );
    }

    /// A big cluster pinned to one ingress node: the thousands of ineligible nodes share one line of the
    /// message (ten named, the rest counted), while the details keep a line per node.
    #[tokio::test]
    async fn nodes_in_the_same_state_share_a_line_of_the_message() {
        let mut fd = FrontDoor::reference();
        for i in 0..2000 {
            fd.nodes.push(crate::ingress::testing::node_at(
                &format!("bench-node-{i:04}"),
                &format!("10.1.{}.{}", i / 256, i % 256),
                None,
                &[],
            ));
        }
        let o = fd.case().run(&Placement).await;
        expect(
            &o,
            Status::Pass,
            &["node by node: mcp-cp-1, mcp-worker-1, mcp-worker-2, bench-node-0000, "],
        );
        // Ten names between the two lines: nine on the first, the ingress node on the second.
        assert!(
            o.message.contains(
                "bench-node-0005, and 1994 more [no enablelb label]: no svclb pod (not eligible: \
                 enablelb=true is set on other nodes), nothing on 80/443; mcp-ingress-1 ["
            ),
            "{}",
            o.message
        );
        assert!(
            o.message.len() < 600,
            "{} bytes: {}",
            o.message.len(),
            o.message
        );
        assert_eq!(o.details["nodes"].as_array().unwrap().len(), 2004);
    }

    #[tokio::test]
    async fn pending_pod_on_a_taken_host_port_fails() {
        let mut fd = FrontDoor::reference();
        fd.pending_on_host_port();
        let o = fd.case().run(&Placement).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "is Pending on mcp-ingress-1",
                "80 held by pod docs/nginx-docs-7d9c5b8f6-k2x9q",
                "didn't have free ports",
            ],
        );
        assert_eq!(rem, "rem.svclb-host-port");
    }

    #[tokio::test]
    async fn a_pod_left_on_a_node_that_lost_the_label_warns_until_it_goes() {
        let mut fd = FrontDoor::reference();
        fd.svclb_everywhere();
        let o = fd.case().run(&Placement).await;
        let rem = expect(
            &o,
            Status::Warn,
            &[
                "still answer on 80/443 on mcp-cp-1, mcp-worker-1, mcp-worker-2",
                "the ingress node is mcp-ingress-1",
            ],
        );
        assert_eq!(rem, "rem.svclb-pod-lingering");
        assert!(
            o.remediation
                .unwrap()
                .text
                .contains("kubectl -n kube-system delete pod svclb-traefik-")
        );
    }

    #[tokio::test]
    async fn pods_on_every_node_warn_with_the_labels() {
        let mut fd = FrontDoor::reference();
        fd.nodes[1]["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove(ENABLELB);
        fd.svclb_everywhere();
        let o = fd.case().run(&Placement).await;
        let rem = expect(
            &o,
            Status::Warn,
            &["answer on 80/443 on mcp-cp-1, mcp-ingress-1, mcp-worker-1, mcp-worker-2"],
        );
        assert_eq!(rem, "rem.svclb-pin-ingress-node");
    }
}
