use async_trait::async_trait;
use k8s_openapi::api::core::v1::Node;
use mcp_doctor_remediations::Vars;
use serde_json::json;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts::{self, describe_condition, node_condition, node_name};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// No node reports `DiskPressure`, `MemoryPressure` or `PIDPressure` = True or `NetworkUnavailable` =
    /// True, and none carries the taint the node controller sets for them
    /// (`node.kubernetes.io/disk-pressure:NoSchedule`, `memory-pressure`, `pid-pressure`,
    /// `network-unavailable`). Each finding names the node, the condition and the kubelet's message.
    ///
    /// ### Why it matters
    /// Image-heavy setup runs on small clusters trip DiskPressure during the build-and-push phase: the kubelet
    /// evicts pods and the taint keeps new ones off the node, so `registry-pusher-*` helpers stay Pending and
    /// new Sentinel pods fail scheduling with `untolerated taint(s)`. Memory and PID pressure evict pods the
    /// same way; a node whose network is unavailable cannot reach pods elsewhere.
    ///
    /// ### What a failure looks like
    /// `node mcp-worker-1 has DiskPressure=True (KubeletHasDiskPressure: kubelet has disk pressure) and taint
    /// node.kubernetes.io/disk-pressure:NoSchedule`
    ///
    /// ### How to fix
    /// The seed's disk-pressure recovery: `kubectl describe node <node>`, `df -h /` on the node, clear
    /// `/tmp` build caches and `/root/.cache/go-build` and unused images, restart the runtime if the condition
    /// does not clear (`systemctl restart k3s` on k3s, `systemctl restart kubelet containerd` elsewhere), and
    /// verify `DiskPressure=False` before continuing the rollout.
    pub struct NodesPressure {
        id: "nodes.pressure",
        title: "No node is under resource pressure",
        category: "cluster",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NODES],
    }
}

/// A node problem the kubelet reports as a condition, the taint the node controller sets for it, and the
/// remediation. In priority order: the first one found picks the remediation.
struct Signal {
    condition: &'static str,
    taint: &'static str,
    remediation: &'static str,
}

// A `static`, not a `const`: a const may be a fresh copy at every use, so nothing may rely on its address.
static SIGNALS: &[Signal] = &[
    Signal {
        condition: "DiskPressure",
        taint: "node.kubernetes.io/disk-pressure",
        remediation: "rem.disk-pressure",
    },
    Signal {
        condition: "MemoryPressure",
        taint: "node.kubernetes.io/memory-pressure",
        remediation: "rem.node-pressure",
    },
    Signal {
        condition: "PIDPressure",
        taint: "node.kubernetes.io/pid-pressure",
        remediation: "rem.node-pressure",
    },
    Signal {
        condition: "NetworkUnavailable",
        taint: "node.kubernetes.io/network-unavailable",
        remediation: "rem.node-network-unavailable",
    },
];

/// One signal found on one node.
struct Finding<'a> {
    signal: &'a Signal,
    node: &'a str,
    message: String,
    detail: serde_json::Value,
}

fn finding<'a>(node: &'a Node, signal: &'a Signal) -> Option<Finding<'a>> {
    let name = node_name(node);
    let condition = node_condition(node, signal.condition);
    let taint = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .and_then(|ts| ts.iter().find(|t| t.key == signal.taint))
        .map(|t| format!("{}:{}", t.key, t.effect));
    let raised = condition.filter(|c| c.status == "True");
    let message = match (raised, &taint) {
        (None, None) => return None,
        (Some(c), None) => format!("node {name} has {}", describe_condition(c)),
        (Some(c), Some(t)) => format!("node {name} has {} and taint {t}", describe_condition(c)),
        (None, Some(t)) => match condition {
            Some(c) => format!(
                "node {name} carries taint {t} although {}",
                describe_condition(c)
            ),
            None => format!("node {name} carries taint {t}"),
        },
    };
    let detail = json!({
        "node": name,
        "condition": signal.condition,
        "status": condition.map(|c| c.status.as_str()),
        "reason": condition.and_then(|c| c.reason.as_deref()),
        "message": condition.and_then(|c| c.message.as_deref()),
        "taint": taint,
    });
    Some(Finding {
        signal,
        node: name,
        message,
        detail,
    })
}

#[async_trait]
impl Check for NodesPressure {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let nodes = match facts::nodes_to_judge(ctx).await {
            Ok(nodes) => nodes,
            Err(outcome) => return outcome,
        };
        let found: Vec<Finding> = nodes
            .iter()
            .flat_map(|n| SIGNALS.iter().filter_map(move |s| finding(n, s)))
            .collect();
        // The most pressing signal (SIGNALS order) on the first node that shows it picks the remediation.
        let Some(lead) = SIGNALS
            .iter()
            .find_map(|s| found.iter().find(|f| f.signal.condition == s.condition))
        else {
            return Outcome::pass(format!(
                "no node reports disk, memory or PID pressure or an unavailable network ({} checked)",
                nodes.len()
            ));
        };
        let vars = Vars::from([
            ("node", lead.node.to_string()),
            ("condition", format!("{}=True", lead.signal.condition)),
        ]);
        let message = facts::listed(
            &found.iter().map(|f| f.message.as_str()).collect::<Vec<_>>(),
            "; ",
        );
        Outcome::fail(message)
            .detail(
                "findings",
                found.iter().map(|f| &f.detail).collect::<Vec<_>>(),
            )
            .remediate(lead.signal.remediation, ctx.distribution().await, &vars)
            .subjects(
                found
                    .iter()
                    .filter(|f| f.signal.remediation == lead.signal.remediation)
                    .map(|f| format!("node/{}", f.node)),
            )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::Status;
    use crate::test_support::{context, node, nodes_list, set_condition};

    fn disk_pressure(name: &str) -> Value {
        let mut n = node(name);
        set_condition(
            &mut n,
            "DiskPressure",
            "True",
            "KubeletHasDiskPressure",
            "kubelet has disk pressure",
        );
        n["spec"]["taints"] =
            json!([{ "key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule" }]);
        n
    }

    #[tokio::test]
    async fn passes_without_pressure() {
        let ctx = context(
            &[nodes_list(vec![node("mcp-cp-1"), node("mcp-worker-1")])],
            &[],
        );
        let out = NodesPressure.run(&ctx).await;
        assert_eq!(out.status, Status::Pass, "{out:?}");
    }

    #[tokio::test]
    async fn fails_on_disk_pressure_with_the_k3s_recovery() {
        let ctx = context(
            &[nodes_list(vec![
                node("mcp-cp-1"),
                disk_pressure("mcp-worker-1"),
            ])],
            &[],
        );
        let out = NodesPressure.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "node mcp-worker-1 has DiskPressure=True (KubeletHasDiskPressure: kubelet has disk pressure) and taint \
             node.kubernetes.io/disk-pressure:NoSchedule"
        );
        let rem = out.remediation.expect("remediation");
        assert_eq!(rem.id, "rem.disk-pressure");
        assert!(rem.text.contains("systemctl restart k3s"), "{}", rem.text);
        assert!(
            rem.text.contains("kubectl describe node mcp-worker-1"),
            "{}",
            rem.text
        );
        assert!(rem.text.contains("/root/.cache/go-build"), "{}", rem.text);
    }

    #[tokio::test]
    async fn generic_clusters_get_the_kubelet_restart() {
        let mut n = disk_pressure("worker-a");
        n["status"]["nodeInfo"]["kubeletVersion"] = json!("v1.32.13");
        n["spec"]["providerID"] = json!("");
        n["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("node.kubernetes.io/instance-type");
        let ctx = context(&[nodes_list(vec![n])], &[]);
        let rem = NodesPressure
            .run(&ctx)
            .await
            .remediation
            .expect("remediation");
        assert!(
            rem.text.contains("systemctl restart kubelet containerd"),
            "{}",
            rem.text
        );
        assert!(!rem.text.contains("restart k3s"), "{}", rem.text);
    }

    #[tokio::test]
    async fn memory_pressure_and_a_lingering_taint_are_reported_with_disk_first_in_the_remediation()
    {
        let mut mem = node("mcp-worker-1");
        set_condition(
            &mut mem,
            "MemoryPressure",
            "True",
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        );
        let mut lingering = node("mcp-worker-2");
        set_condition(
            &mut lingering,
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        );
        lingering["spec"]["taints"] =
            json!([{ "key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule" }]);
        let ctx = context(&[nodes_list(vec![mem, lingering])], &[]);
        let out = NodesPressure.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "node mcp-worker-1 has MemoryPressure=True (KubeletHasInsufficientMemory: kubelet has insufficient memory \
             available); node mcp-worker-2 carries taint node.kubernetes.io/disk-pressure:NoSchedule although \
             DiskPressure=False (KubeletHasNoDiskPressure: kubelet has no disk pressure)"
        );
        let rem = out.remediation.expect("remediation");
        assert_eq!(rem.id, "rem.disk-pressure");
        assert!(
            rem.text.contains("kubectl describe node mcp-worker-2"),
            "{}",
            rem.text
        );
    }

    #[tokio::test]
    async fn network_unavailable_points_at_the_cni() {
        let mut n = node("mcp-worker-1");
        set_condition(
            &mut n,
            "NetworkUnavailable",
            "True",
            "NoRouteCreated",
            "Node created without a route",
        );
        let ctx = context(&[nodes_list(vec![n])], &[]);
        let out = NodesPressure.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.remediation.expect("remediation").id,
            "rem.node-network-unavailable"
        );
    }
}
