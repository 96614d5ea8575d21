use async_trait::async_trait;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// Which distribution runs the cluster: k3s, rke2, kind, minikube, docker-desktop, or kubeadm/generic.
    /// It reads kubelet version suffixes (`+k3s`, `+rke2`), providerIDs (`kind://`, `k3s://`), node labels,
    /// node names and, last, the kubeconfig context name.
    ///
    /// ### Why it matters
    /// Registry mirrors, host DNS and restarts are configured differently on each distribution: the
    /// remediations of other checks are written for the one detected here.
    ///
    /// ### What a failure looks like
    /// It is informational and passes whenever the nodes can be read, e.g. `k3s (node mcp-cp-1 runs kubelet
    /// v1.32.3+k3s1)`. It is `error` when nodes cannot be listed.
    ///
    /// ### How to fix
    /// Nothing to fix. If the guess is wrong (a distribution without markers shows as generic), the generic
    /// remediation texts still apply.
    pub struct ClusterDistribution {
        id: "cluster.distribution",
        title: "Distribution detected",
        category: "cluster",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NODES],
    }
}

#[async_trait]
impl Check for ClusterDistribution {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        match crate::facts::detect_distribution(ctx).await {
            Ok(d) => Outcome::pass(format!("{} ({})", d.distribution, d.evidence))
                .detail("distribution", d.distribution)
                .detail("evidence", d.evidence),
            Err(e) => unreadable("the nodes", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Node;
    use mcp_doctor_remediations::Distribution;
    use serde_json::json;

    use super::*;
    use crate::evidence::Scope;
    use crate::facts::classify;
    use crate::model::Status;
    use crate::test_support::{Case, forbidden, node};

    fn parsed(v: serde_json::Value) -> Node {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn markers_are_recognised_strongest_first() {
        let k3s = parsed(node("mcp-cp-1"));
        assert_eq!(classify(&[k3s], None).distribution, Distribution::K3s);
        let kind = parsed(
            json!({"metadata": {"name": "kind-control-plane"}, "spec": {"providerID": "kind://docker/kind/kind-control-plane"}}),
        );
        assert_eq!(
            classify(&[kind], Some("kind-kind")).distribution,
            Distribution::Kind
        );
        let mk = parsed(
            json!({"metadata": {"name": "minikube", "labels": {"minikube.k8s.io/name": "minikube"}}}),
        );
        assert_eq!(classify(&[mk], None).distribution, Distribution::Minikube);
        let dd = parsed(json!({"metadata": {"name": "docker-desktop"}}));
        assert_eq!(
            classify(&[dd], None).distribution,
            Distribution::DockerDesktop
        );
        let plain = parsed(
            json!({"metadata": {"name": "node-1"}, "status": {"nodeInfo": {"kubeletVersion": "v1.30.4"}}}),
        );
        assert_eq!(
            classify(std::slice::from_ref(&plain), None).distribution,
            Distribution::Generic
        );
        assert_eq!(
            classify(&[plain], Some("kind-dev")).distribution,
            Distribution::Kind
        );
    }

    #[tokio::test]
    async fn detected_distribution_passes_and_unreadable_nodes_are_an_error() {
        let o = Case::new()
            .objects(&kinds::NODES, Scope::Cluster, vec![node("mcp-cp-1")])
            .run(&ClusterDistribution)
            .await;
        assert_eq!(o.status, Status::Pass);
        assert!(o.message.starts_with("k3s"), "{}", o.message);
        let o = Case::new()
            .list_error(
                &kinds::NODES,
                Scope::Cluster,
                forbidden(&kinds::NODES, &Scope::Cluster),
            )
            .run(&ClusterDistribution)
            .await;
        assert_eq!(o.status, Status::Error, "{}", o.message);
    }
}
