use async_trait::async_trait;
use k8s_openapi::api::core::v1::Node;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts::{self, ingress_node_label, is_control_plane, node_name};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// Which nodes are cordoned (`spec.unschedulable`, `SchedulingDisabled` in `kubectl get nodes`). It warns
    /// when the public ingress node (labelled `ingress.mcpruntime.org/public=true`,
    /// `node-role.mcpruntime.org/public-ingress=true` or `svccontroller.k3s.cattle.io/enablelb=true`) is
    /// cordoned, or when every worker (a node without the `node-role.kubernetes.io/control-plane` or `master`
    /// label) is, and fails when every node is. Another cordoned node, such as a docs node kept out of
    /// scheduling on purpose, is reported and passes.
    ///
    /// ### Why it matters
    /// A cordoned node takes no new pods. With every node cordoned the platform cannot be installed or
    /// rescheduled at all; with every worker cordoned its workloads crowd onto the control plane; a cordoned
    /// ingress node cannot take back the public ingress pods that belong there after a restart or rollout.
    ///
    /// ### What a failure looks like
    /// `every node is cordoned (mcp-cp-1, mcp-ingress-1, mcp-worker-1, mcp-worker-2): no new pod can be
    /// scheduled`, or the warning `ingress node mcp-ingress-1 (ingress.mcpruntime.org/public=true) is
    /// cordoned: pods meant for the public ingress node cannot be scheduled there`.
    ///
    /// ### How to fix
    /// `kubectl uncordon <node>` for every node the cordon was not meant for (a drain that never finished,
    /// maintenance left behind). A node serving something else, like docs, may stay cordoned.
    pub struct NodesSchedulable {
        id: "nodes.schedulable",
        title: "Nodes accept new pods",
        category: "cluster",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NODES],
    }
}

fn is_cordoned(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
}

fn names<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Vec<&'a str> {
    nodes.into_iter().map(node_name).collect()
}

#[async_trait]
impl Check for NodesSchedulable {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let nodes = match facts::nodes_to_judge(ctx).await {
            Ok(nodes) => nodes,
            Err(outcome) => return outcome,
        };
        let cordoned: Vec<&Node> = nodes.iter().filter(|n| is_cordoned(n)).collect();
        let schedulable = nodes.len() - cordoned.len();
        if cordoned.is_empty() {
            return Outcome::pass(format!("no node is cordoned ({schedulable} schedulable)"));
        }
        let cordoned_names = names(cordoned.iter().copied());
        let distribution = ctx.distribution().await;
        let with_fix = |o: Outcome, affected: &[&str]| {
            let vars = Vars::from([("nodes", affected.join(" "))]);
            o.detail("cordoned", &cordoned_names)
                .detail("schedulable", schedulable)
                .remediate("rem.cordoned-nodes", distribution, &vars)
                .subjects(affected.iter().map(|n| format!("node/{n}")))
        };
        if schedulable == 0 {
            let message = format!(
                "every node is cordoned ({}): no new pod can be scheduled",
                facts::listed(&cordoned_names, ", ")
            );
            return with_fix(Outcome::fail(message), &cordoned_names);
        }

        let mut problems = Vec::new();
        let mut affected = Vec::new();
        for (node, label) in cordoned
            .iter()
            .filter_map(|n| Some((n, ingress_node_label(n)?)))
        {
            problems.push(format!(
                "ingress node {} ({label}=true) is cordoned: pods meant for the public ingress node cannot be \
                 scheduled there",
                node_name(node)
            ));
            affected.push(node_name(node));
        }
        let (control_plane, workers): (Vec<&Node>, Vec<&Node>) =
            nodes.iter().partition(|n| is_control_plane(n));
        if !workers.is_empty() && workers.iter().all(|n| is_cordoned(n)) {
            problems.push(format!(
                "every worker node is cordoned ({}): platform workloads can only land on the control plane ({})",
                facts::listed(&names(workers.iter().copied()), ", "),
                facts::listed(&names(control_plane.iter().copied()), ", ")
            ));
            for worker in names(workers.iter().copied()) {
                if !affected.contains(&worker) {
                    affected.push(worker);
                }
            }
        }
        if !problems.is_empty() {
            return with_fix(Outcome::warn(problems.join("; ")), &affected);
        }
        Outcome::pass(format!(
            "{} cordoned node(s) ({}) take no new pods; {schedulable} node(s) remain schedulable",
            cordoned.len(),
            facts::listed(&cordoned_names, ", ")
        ))
        .detail("cordoned", &cordoned_names)
        .detail("schedulable", schedulable)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::Status;
    use crate::test_support::{context, node, nodes_list};

    /// The reference topology: control plane, labelled ingress node, two workers.
    fn topology() -> Vec<Value> {
        let mut cp = node("mcp-cp-1");
        cp["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = json!("true");
        cp["metadata"]["labels"]["node-role.kubernetes.io/master"] = json!("true");
        let mut ingress = node("mcp-ingress-1");
        for label in [
            "svccontroller.k3s.cattle.io/enablelb",
            "ingress.mcpruntime.org/public",
            "node-role.mcpruntime.org/public-ingress",
        ] {
            ingress["metadata"]["labels"][label] = json!("true");
        }
        vec![cp, ingress, node("mcp-worker-1"), node("mcp-worker-2")]
    }

    fn cordon(n: &mut Value) {
        n["spec"]["unschedulable"] = json!(true);
        n["spec"]["taints"] = json!([{ "key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": "2026-11-21T10:00:00Z" }]);
    }

    #[tokio::test]
    async fn passes_when_nothing_is_cordoned() {
        let ctx = context(&[nodes_list(topology())], &[]);
        let out = NodesSchedulable.run(&ctx).await;
        assert_eq!(out.status, Status::Pass);
        assert_eq!(out.message, "no node is cordoned (4 schedulable)");
    }

    #[tokio::test]
    async fn a_cordoned_docs_node_passes_and_is_reported() {
        let mut nodes = topology();
        let mut docs = node("docs-1");
        cordon(&mut docs);
        nodes.push(docs);
        let ctx = context(&[nodes_list(nodes)], &[]);
        let out = NodesSchedulable.run(&ctx).await;
        assert_eq!(out.status, Status::Pass, "{out:?}");
        assert_eq!(out.details["cordoned"], json!(["docs-1"]));
        assert!(
            out.message.starts_with("1 cordoned node(s) (docs-1)"),
            "{}",
            out.message
        );
    }

    #[tokio::test]
    async fn warns_when_the_ingress_node_is_cordoned() {
        let mut nodes = topology();
        cordon(&mut nodes[1]);
        let ctx = context(&[nodes_list(nodes)], &[]);
        let out = NodesSchedulable.run(&ctx).await;
        assert_eq!(out.status, Status::Warn);
        assert_eq!(
            out.message,
            "ingress node mcp-ingress-1 (ingress.mcpruntime.org/public=true) is cordoned: pods meant for the public \
             ingress node cannot be scheduled there"
        );
        assert!(
            out.remediation
                .expect("remediation")
                .text
                .contains("kubectl uncordon mcp-ingress-1")
        );
    }

    #[tokio::test]
    async fn warns_when_every_worker_is_cordoned() {
        let mut nodes = topology();
        for n in &mut nodes[1..] {
            cordon(n);
        }
        let ctx = context(&[nodes_list(nodes)], &[]);
        let out = NodesSchedulable.run(&ctx).await;
        assert_eq!(out.status, Status::Warn);
        assert!(out.message.contains(
            "every worker node is cordoned (mcp-ingress-1, mcp-worker-1, mcp-worker-2): platform workloads can only \
             land on the control plane (mcp-cp-1)"
        ));
        let rem = out.remediation.expect("remediation");
        assert!(
            rem.text
                .contains("kubectl uncordon mcp-ingress-1 mcp-worker-1 mcp-worker-2"),
            "{}",
            rem.text
        );
    }

    #[tokio::test]
    async fn fails_when_every_node_is_cordoned() {
        let mut nodes = topology();
        nodes.iter_mut().for_each(cordon);
        let ctx = context(&[nodes_list(nodes)], &[]);
        let out = NodesSchedulable.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "every node is cordoned (mcp-cp-1, mcp-ingress-1, mcp-worker-1, mcp-worker-2): no new pod can be scheduled"
        );
    }
}
