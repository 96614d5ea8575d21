use std::collections::BTreeMap;

use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts::{self, node_label, node_name};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// All nodes carry the same `kubernetes.io/arch` label, and `MCP_IMAGE_PLATFORM`, when set, names that
    /// architecture (`linux/amd64` for amd64 nodes). A node without the label is counted by the architecture
    /// its kubelet reports and makes the check warn.
    ///
    /// ### Why it matters
    /// Setup builds the operator, gateway proxy and Sentinel images for one platform, detected from
    /// `kubernetes.io/arch` or forced with `MCP_IMAGE_PLATFORM`, and rejects mixed-architecture clusters: the
    /// platform deployments do not pin pods to an architecture, so a pod on the other kind of node dies with
    /// `exec format error`. Images built for the wrong platform fail the same way on every node.
    ///
    /// ### What a failure looks like
    /// `nodes run 2 architectures (amd64: mcp-cp-1, mcp-worker-1; arm64: mcp-worker-2): setup rejects mixed
    /// clusters, and a pod on the wrong one fails with exec format error`, or `MCP_IMAGE_PLATFORM=linux/arm64
    /// (env MCP_IMAGE_PLATFORM) builds arm64 images but the nodes are amd64: pods will fail with exec format
    /// error`.
    ///
    /// ### How to fix
    /// Remove the nodes of the minority architecture (`kubectl drain`, `kubectl delete node`), or set
    /// `MCP_IMAGE_PLATFORM=linux/<arch>` to the nodes' architecture (or unset it) and rerun setup.
    pub struct NodesArchitecture {
        id: "nodes.architecture",
        title: "Nodes share one CPU architecture",
        category: "cluster",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NODES],
    }
}

const ARCH_LABEL: &str = "kubernetes.io/arch";

/// `linux/arm64/v8` -> `arm64`; a bare `amd64` is taken as the architecture itself.
fn platform_arch(platform: &str) -> &str {
    let mut parts = platform.split('/');
    let first = parts.next().unwrap_or_default();
    parts.next().unwrap_or(first)
}

/// `amd64: mcp-cp-1, mcp-worker-1; arm64: mcp-worker-2`
fn describe_groups(by_arch: &BTreeMap<String, Vec<String>>) -> String {
    by_arch
        .iter()
        .map(|(arch, nodes)| format!("{arch}: {}", facts::listed(nodes, ", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[async_trait]
impl Check for NodesArchitecture {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let nodes = match facts::nodes_to_judge(ctx).await {
            Ok(nodes) => nodes,
            Err(outcome) => return outcome,
        };
        let mut by_arch: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // Nodes without the label, with the architecture their kubelet reports (if any).
        let mut unlabelled: Vec<(String, Option<String>)> = Vec::new();
        for node in nodes.iter() {
            let name = node_name(node).to_string();
            let reported = node
                .status
                .as_ref()
                .and_then(|s| s.node_info.as_ref())
                .map(|i| i.architecture.clone())
                .filter(|a| !a.is_empty());
            match node_label(node, ARCH_LABEL) {
                Some(arch) => by_arch.entry(arch.to_string()).or_default().push(name),
                None => {
                    if let Some(arch) = &reported {
                        by_arch.entry(arch.clone()).or_default().push(name.clone());
                    }
                    unlabelled.push((name, reported));
                }
            }
        }
        let distribution = ctx.distribution().await;
        let majority = by_arch
            .iter()
            .max_by_key(|(_, nodes)| nodes.len())
            .map(|(a, _)| a.clone());
        if by_arch.len() > 1 {
            let majority = majority.unwrap_or_default();
            let others: Vec<String> = by_arch
                .iter()
                .filter(|(a, _)| **a != majority)
                .flat_map(|(_, n)| n.iter().cloned())
                .collect();
            let subjects: Vec<String> = others.iter().map(|n| format!("node/{n}")).collect();
            let vars = Vars::from([("arch", majority), ("nodes", others.join(", "))]);
            return Outcome::fail(format!(
                "nodes run {} architectures ({}): setup rejects mixed clusters, and a pod on the wrong one fails \
                 with exec format error",
                by_arch.len(),
                describe_groups(&by_arch)
            ))
            .detail("architectures", &by_arch)
            .remediate("rem.mixed-architecture", distribution, &vars)
            .subjects(subjects);
        }
        let platform = ctx
            .config
            .get("image_platform")
            .filter(|s| !s.value.trim().is_empty());
        if let (Some(arch), Some(setting)) = (&majority, platform) {
            let wanted = platform_arch(setting.value.trim());
            if wanted != arch {
                let vars = Vars::from([
                    ("platform", setting.value.trim().to_string()),
                    ("arch", arch.clone()),
                ]);
                return Outcome::fail(format!(
                    "MCP_IMAGE_PLATFORM={} builds {wanted} images but the nodes are {arch}: pods will fail with \
                     exec format error",
                    setting.value.trim(),
                ))
                .detail("architectures", &by_arch)
                .detail("image_platform", setting)
                .remediate("rem.image-platform-mismatch", distribution, &vars)
                .snippet(format!("export MCP_IMAGE_PLATFORM=linux/{arch}"));
            }
        }
        if let Some((first, _)) = unlabelled.first() {
            let listed: Vec<String> = unlabelled
                .iter()
                .map(|(n, arch)| match arch {
                    Some(a) => format!("{n} (kubelet reports {a})"),
                    None => format!("{n} (architecture unknown)"),
                })
                .collect();
            let commands: Vec<String> = unlabelled
                .iter()
                .map(|(n, arch)| {
                    let arch = arch.as_deref().unwrap_or("<arch>");
                    format!("kubectl label node {n} {ARCH_LABEL}={arch}")
                })
                .collect();
            let vars = Vars::from([("node", first.clone())]);
            return Outcome::warn(format!(
                "node(s) {} lack the {ARCH_LABEL} label that setup reads to pick the image platform",
                facts::listed(&listed, ", ")
            ))
            .detail("architectures", &by_arch)
            .detail("unlabelled", &listed)
            .remediate("rem.node-arch-label", distribution, &vars)
            .subjects(unlabelled.iter().map(|(n, _)| format!("node/{n}")))
            .snippet(commands.join("\n"));
        }
        let platform_note = platform
            .map(|s| format!(", matching MCP_IMAGE_PLATFORM={}", s.value.trim()))
            .unwrap_or_default();
        Outcome::pass(format!(
            "every node is {}{platform_note}",
            describe_groups(&by_arch)
        ))
        .detail("architectures", &by_arch)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::Status;
    use crate::test_support::{context, node, node_with_arch, nodes_list};

    #[tokio::test]
    async fn passes_on_a_homogeneous_cluster_matching_the_image_platform() {
        let nodes = ["mcp-cp-1", "mcp-ingress-1", "mcp-worker-1"]
            .map(node)
            .to_vec();
        let ctx = context(
            &[nodes_list(nodes)],
            &[("MCP_IMAGE_PLATFORM", "linux/amd64")],
        );
        let out = NodesArchitecture.run(&ctx).await;
        assert_eq!(out.status, Status::Pass, "{out:?}");
        assert_eq!(
            out.message,
            "every node is amd64: mcp-cp-1, mcp-ingress-1, mcp-worker-1, matching MCP_IMAGE_PLATFORM=linux/amd64"
        );
    }

    #[tokio::test]
    async fn fails_on_mixed_architectures_listing_each() {
        let nodes = vec![
            node("mcp-cp-1"),
            node("mcp-worker-1"),
            node_with_arch("mcp-worker-2", "arm64"),
        ];
        let ctx = context(&[nodes_list(nodes)], &[]);
        let out = NodesArchitecture.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "nodes run 2 architectures (amd64: mcp-cp-1, mcp-worker-1; arm64: mcp-worker-2): setup rejects mixed \
             clusters, and a pod on the wrong one fails with exec format error"
        );
        let rem = out.remediation.expect("remediation");
        assert_eq!(rem.id, "rem.mixed-architecture");
        assert!(
            rem.text.contains("take the others (mcp-worker-2)"),
            "{}",
            rem.text
        );
        assert!(
            rem.text.contains("MCP_IMAGE_PLATFORM=linux/amd64"),
            "{}",
            rem.text
        );
    }

    #[tokio::test]
    async fn fails_when_the_image_platform_does_not_match_the_nodes() {
        let ctx = context(
            &[nodes_list(vec![node("mcp-cp-1")])],
            &[("MCP_IMAGE_PLATFORM", "linux/arm64")],
        );
        let out = NodesArchitecture.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "MCP_IMAGE_PLATFORM=linux/arm64 builds arm64 images but the nodes are amd64: \
             pods will fail with exec format error"
        );
        let rem = out.remediation.expect("remediation");
        assert_eq!(
            rem.snippet.as_deref(),
            Some("export MCP_IMAGE_PLATFORM=linux/amd64")
        );
    }

    #[tokio::test]
    async fn warns_on_a_node_without_the_arch_label() {
        let mut bare = node("mcp-worker-1");
        bare["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove(ARCH_LABEL);
        let ctx = context(&[nodes_list(vec![node("mcp-cp-1"), bare])], &[]);
        let out = NodesArchitecture.run(&ctx).await;
        assert_eq!(out.status, Status::Warn);
        assert_eq!(
            out.message,
            "node(s) mcp-worker-1 (kubelet reports amd64) lack the kubernetes.io/arch label that setup reads to pick \
             the image platform"
        );
        let rem = out.remediation.expect("remediation");
        assert_eq!(rem.id, "rem.node-arch-label");
        assert_eq!(
            rem.snippet.as_deref(),
            Some("kubectl label node mcp-worker-1 kubernetes.io/arch=amd64")
        );
    }

    #[test]
    fn platform_strings_name_their_architecture() {
        assert_eq!(platform_arch("linux/amd64"), "amd64");
        assert_eq!(platform_arch("linux/arm64/v8"), "arm64");
        assert_eq!(platform_arch("arm64"), "arm64");
    }
}
