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
