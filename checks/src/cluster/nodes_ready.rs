use async_trait::async_trait;
use k8s_openapi::api::core::v1::Node;
use mcp_doctor_remediations::Vars;
use serde_json::{Value, json};

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts::{self, describe_condition, node_condition, node_name};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// Every node reports the condition `Ready=True`. A node whose kubelet stopped posting status
    /// (`Ready=Unknown`), that reports `Ready=False`, or that has not posted a Ready condition yet is named
    /// with the condition's status, reason and message. A cluster without any node fails.
    ///
    /// ### Why it matters
    /// The scheduler places no new pod on a node that is not Ready, and after about five minutes the node
    /// lifecycle controller evicts the pods already there. Setup waits for the registry, operator and Sentinel
    /// to become ready; with a node down it times out, or its pods pile up on the remaining nodes.
    ///
    /// ### What a failure looks like
    /// `node mcp-worker-2 is not Ready: Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node
    /// status.)`
    ///
    /// ### How to fix
    /// `kubectl describe node <node>` names the cause; on the node, the kubelet's service log (`journalctl -u
    /// k3s-agent` on k3s agents, `journalctl -u kubelet` elsewhere) says why it stopped. Restart the service
    /// once the cause is fixed, or delete a node that is gone for good. The remediation gives the commands for
    /// the detected distribution.
    pub struct NodesReady {
        id: "nodes.ready",
        title: "Every node is Ready",
        category: "cluster",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NODES],
    }
}

/// Why a node is not Ready, in one phrase, with its Ready condition as structured detail.
fn not_ready(node: &Node) -> Option<(String, Value)> {
    let name = node_name(node);
    match node_condition(node, "Ready") {
        Some(c) if c.status == "True" => None,
        Some(c) => Some((
            format!("node {name} is not Ready: {}", describe_condition(c)),
            json!({
                "node": name,
                "status": c.status,
                "reason": c.reason,
                "message": c.message,
                "last_heartbeat": c.last_heartbeat_time.as_ref().map(|t| t.0.to_string()),
            }),
        )),
        None => Some((
            format!("node {name} is not Ready: the kubelet has not posted a Ready condition yet"),
            json!({ "node": name, "status": null }),
        )),
    }
}

#[async_trait]
impl Check for NodesReady {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let nodes = match facts::nodes(ctx).await {
            Ok(nodes) => nodes,
            Err(e) => return unreadable("the nodes", &e),
        };
        let mut vars = Vars::new();
        if nodes.is_empty() {
            vars.insert("node", "<node-name>".into());
            return Outcome::fail(
                "the API server lists no nodes: no kubelet has registered, so nothing can be scheduled",
            )
            .detail("nodes", 0)
            .remediate("rem.node-not-ready", ctx.distribution().await, &vars);
        }
        let (messages, details): (Vec<String>, Vec<Value>) =
            nodes.iter().filter_map(not_ready).unzip();
        let Some(first) = details.first() else {
            return Outcome::pass(format!("every node is Ready ({} checked)", nodes.len()))
                .detail("nodes", nodes.len());
        };
        vars.insert("node", first["node"].as_str().unwrap_or("?").to_string());
        let message = match messages.len() {
            1 => messages[0].clone(),
            n => format!(
                "{n} of {} nodes are not Ready: {}",
                nodes.len(),
                facts::listed(&messages, "; ")
            ),
        };
        let subjects: Vec<String> = details
            .iter()
            .filter_map(|d| d["node"].as_str())
            .map(|n| format!("node/{n}"))
            .collect();
        Outcome::fail(message)
            .detail("nodes", nodes.len())
            .detail("not_ready", details)
            .remediate("rem.node-not-ready", ctx.distribution().await, &vars)
            .subjects(subjects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::test_support::{context, node, nodes_forbidden, nodes_list, set_condition};

    #[tokio::test]
    async fn passes_when_every_node_is_ready() {
        let nodes = ["mcp-cp-1", "mcp-ingress-1", "mcp-worker-1", "mcp-worker-2"].map(node);
        let ctx = context(&[nodes_list(nodes.to_vec())], &[]);
        let out = NodesReady.run(&ctx).await;
        assert_eq!(out.status, Status::Pass, "{out:?}");
        assert_eq!(out.message, "every node is Ready (4 checked)");
    }

    /// A big cluster's message stays one line: ten nodes named, the rest counted; every node stays a subject.
    #[tokio::test]
    async fn a_message_about_many_nodes_names_ten_and_counts_the_rest() {
        let nodes: Vec<_> = (0..25)
            .map(|i| {
                let mut n = node(&format!("bench-node-{i:02}"));
                set_condition(
                    &mut n,
                    "Ready",
                    "False",
                    "KubeletNotReady",
                    "PLEG is not healthy",
                );
                n
            })
            .collect();
        let ctx = context(&[nodes_list(nodes)], &[]);
        let out = NodesReady.run(&ctx).await;
        assert_eq!(out.status, Status::Fail, "{out:?}");
        assert!(
            out.message
                .starts_with("25 of 25 nodes are not Ready: node bench-node-00 is not Ready"),
            "{}",
            out.message
        );
        assert!(
            out.message.contains("node bench-node-09 is not Ready"),
            "{}",
            out.message
        );
        assert!(!out.message.contains("bench-node-10"), "{}", out.message);
        assert!(out.message.ends_with("; and 15 more"), "{}", out.message);
        assert_eq!(out.subjects.len(), 25);
    }

    #[tokio::test]
    async fn names_the_node_whose_kubelet_stopped_posting_status() {
        let mut worker2 = node("mcp-worker-2");
        set_condition(
            &mut worker2,
            "Ready",
            "Unknown",
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        );
        let ctx = context(&[nodes_list(vec![node("mcp-cp-1"), worker2])], &[]);
        let out = NodesReady.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "node mcp-worker-2 is not Ready: Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)"
        );
        assert_eq!(out.details["not_ready"][0]["reason"], "NodeStatusUnknown");
        let rem = out.remediation.expect("remediation");
        assert_eq!(rem.id, "rem.node-not-ready");
        // k3s (from the kubelet version): the agent's service, with the node filled in.
        assert!(
            rem.text.contains("systemctl restart k3s-agent"),
            "{}",
            rem.text
        );
        assert!(
            rem.text.contains("kubectl describe node mcp-worker-2"),
            "{}",
            rem.text
        );
    }

    #[tokio::test]
    async fn counts_several_not_ready_nodes_and_one_without_a_ready_condition() {
        let mut cp = node("mcp-cp-1");
        set_condition(
            &mut cp,
            "Ready",
            "False",
            "KubeletNotReady",
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady",
        );
        let mut fresh = node("mcp-worker-3");
        fresh["status"]["conditions"] = json!([]);
        let ctx = context(&[nodes_list(vec![cp, node("mcp-worker-1"), fresh])], &[]);
        let out = NodesReady.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert!(out.message.starts_with("2 of 3 nodes are not Ready: node mcp-cp-1 is not Ready: Ready=False (KubeletNotReady: container runtime network not ready"), "{}", out.message);
        assert!(out.message.contains(
            "node mcp-worker-3 is not Ready: the kubelet has not posted a Ready condition yet"
        ));
    }

    #[tokio::test]
    async fn fails_without_nodes() {
        let ctx = context(&[nodes_list(vec![])], &[]);
        let out = NodesReady.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert!(out.message.contains("lists no nodes"));
    }

    #[tokio::test]
    async fn a_forbidden_node_list_is_an_error_not_a_pass() {
        let ctx = context(&[nodes_forbidden()], &[]);
        let out = NodesReady.run(&ctx).await;
        assert_eq!(out.status, Status::Error, "{out:?}");
        assert!(
            out.message.contains("cannot list resource \"nodes\""),
            "{}",
            out.message
        );
    }

    #[tokio::test]
    async fn nodes_missing_from_the_bundle_skip() {
        let ctx = context(&[], &[]);
        assert_eq!(NodesReady.run(&ctx).await.status, Status::Skip);
    }
}
