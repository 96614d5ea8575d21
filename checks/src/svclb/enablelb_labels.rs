use async_trait::async_trait;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts::PUBLIC_INGRESS_LABELS;
use crate::facts::{self, node_name};
use crate::model::{CheckMeta, Outcome};
use crate::svclb::servicelb::{self, ENABLELB};
use crate::svclb::servicelb_nodes;

declare_check! {
    /// ### What it checks
    /// On k3s: which nodes carry `svccontroller.k3s.cattle.io/enablelb`. k3s's rule: once any node carries
    /// the label (whatever its value), ServiceLB runs only on nodes labelled `true`; with none, on every
    /// node. It warns when no node carries it (ServiceLB uses every node) or more than one is `true` (80/443
    /// spread across them), fails when the label exists but no node is `true` (ServiceLB has nowhere to run),
    /// and warns when the `enablelb` node lacks the seed's `ingress.mcpruntime.org/public=true` and
    /// `node-role.mcpruntime.org/public-ingress=true`, or the labelled public node is not the `enablelb` one.
    /// It skips on other distributions and when ServiceLB is disabled.
    ///
    /// ### Why it matters
    /// The public DNS names point at one ingress node. Any other node ServiceLB uses also answers on 80 and
    /// 443 (exposing the platform where the firewall may not expect it), and k3s advertises every such node's
    /// address in the Traefik Service's status.
    ///
    /// ### What a failure looks like
    /// `no node carries svccontroller.k3s.cattle.io/enablelb: ServiceLB runs svclb pods on every node
    /// (mcp-cp-1, mcp-ingress-1, mcp-worker-1, mcp-worker-2), so 80 and 443 answer on all 4 of them`
    ///
    /// ### How to fix
    /// The guide's labels on the ingress node, and the ServiceLB label off every other node:
    /// `kubectl label node mcp-ingress-1 svccontroller.k3s.cattle.io/enablelb=true
    /// ingress.mcpruntime.org/public=true node-role.mcpruntime.org/public-ingress=true` and
    /// `kubectl label node <node> svccontroller.k3s.cattle.io/enablelb-`.
    pub struct EnablelbLabels {
        id: "svclb.enablelb-labels",
        title: "ServiceLB is pinned to the ingress node",
        category: "svclb",
        modes: Both,
        depends_on: ["cluster.distribution"],
        reads: [kinds::NODES],
    }
}

#[async_trait]
impl Check for EnablelbLabels {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let nodes = match servicelb_nodes(ctx).await {
            Ok(n) => n,
            Err(o) => return o,
        };
        let labels: Vec<String> = nodes
            .iter()
            .map(|n| format!("{} {}", node_name(n), servicelb::describe_labels(n)))
            .collect();
        if let Some(finding) = servicelb::pin_finding(&nodes) {
            return finding.outcome(ctx).await.detail("nodes", &labels);
        }
        let pinned: Vec<&str> = nodes
            .iter()
            .filter(|n| servicelb::enablelb(n) == Some("true"))
            .map(node_name)
            .collect();
        Outcome::pass(format!(
            "ServiceLB is pinned to {} ({ENABLELB}=true, {}=true, {}=true); no other node is eligible",
            facts::listed(&pinned, ", "),
            PUBLIC_INGRESS_LABELS[0],
            PUBLIC_INGRESS_LABELS[1]
        ))
        .detail("nodes", &labels)
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
    async fn the_guide_labels_pass() {
        let o = FrontDoor::reference().case().run(&EnablelbLabels).await;
        expect(&o, Status::Pass, &["ServiceLB is pinned to mcp-ingress-1"]);
    }

    #[tokio::test]
    async fn no_enablelb_label_warns_that_every_node_answers() {
        let mut fd = FrontDoor::reference();
        fd.nodes[1]["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove(ENABLELB);
        let o = fd.case().run(&EnablelbLabels).await;
        let rem = expect(
            &o,
            Status::Warn,
            &[
                "no node carries svccontroller.k3s.cattle.io/enablelb",
                "all 4 of them",
            ],
        );
        assert_eq!(rem, "rem.svclb-pin-ingress-node");
        let text = o.remediation.unwrap().text;
        assert!(
            text.contains(
                "kubectl label node mcp-ingress-1 svccontroller.k3s.cattle.io/enablelb=true"
            ),
            "{text}"
        );
    }

    #[tokio::test]
    async fn two_labelled_nodes_warn_and_enablelb_false_everywhere_fails() {
        let mut fd = FrontDoor::reference();
        fd.nodes[3]["metadata"]["labels"][ENABLELB] = json!("true");
        let o = fd.case().run(&EnablelbLabels).await;
        expect(
            &o,
            Status::Warn,
            &["2 nodes carry", "mcp-ingress-1, mcp-worker-2"],
        );
        assert!(
            o.remediation
                .unwrap()
                .text
                .contains("kubectl label node mcp-worker-2 svccontroller.k3s.cattle.io/enablelb-")
        );

        let mut fd = FrontDoor::reference();
        fd.nodes[1]["metadata"]["labels"][ENABLELB] = json!("false");
        let o = fd.case().run(&EnablelbLabels).await;
        expect(
            &o,
            Status::Fail,
            &["no node has svccontroller.k3s.cattle.io/enablelb=true"],
        );
    }

    #[tokio::test]
    async fn other_distributions_skip() {
        let o = FrontDoor::kind().case().run(&EnablelbLabels).await;
        assert_eq!(o.status, Status::Skip, "{}", o.message);
        assert!(o.message.contains("not k3s"), "{}", o.message);
    }
}
