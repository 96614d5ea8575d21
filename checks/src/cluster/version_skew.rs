use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{kinds, parse_major_minor};
use crate::facts;
use crate::model::{CheckMeta, Outcome};

/// The oldest API server minor this tool and the platform support.
pub const MIN_SUPPORTED_MINOR: u32 = 26;
/// Kubernetes' skew policy: a kubelet may be up to three minors older than the API server, never newer.
pub const MAX_KUBELET_LAG: u32 = 3;

declare_check! {
    /// ### What it checks
    /// The API server runs Kubernetes 1.26 or newer, and every kubelet is neither newer than the API server
    /// nor more than three minor versions older (the upstream version-skew policy).
    ///
    /// ### Why it matters
    /// An unsupported skew breaks in ways that look unrelated: kubelets reject fields, status updates are
    /// lost, and a half-upgraded k3s cluster often has one agent left on the old version.
    ///
    /// ### What a failure looks like
    /// `kubelet on mcp-worker-2 is v1.28.5+k3s1, 4 minors behind the API server v1.32.3+k3s1 (at most 3
    /// allowed)`
    ///
    /// ### How to fix
    /// Upgrade the lagging nodes (on k3s, rerun the install script with the server's `INSTALL_K3S_VERSION`
    /// on each agent), or upgrade the control plane first when a kubelet is newer than it.
    pub struct VersionSkew {
        id: "cluster.version-skew",
        title: "Supported versions and kubelet skew",
        category: "cluster",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NODES],
    }
}

#[async_trait]
impl Check for VersionSkew {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let server = match ctx.evidence.kube.version().await {
            Ok(v) => v,
            Err(e) => return unreadable("the API server version", &e),
        };
        let Some((major, minor)) = server.major_minor() else {
            return Outcome::error(format!(
                "cannot parse the API server version {:?}",
                server.git_version
            ));
        };
        let nodes = match crate::facts::nodes(ctx).await {
            Ok(n) => n,
            Err(e) => return unreadable("the nodes", &e),
        };
        let distribution = ctx.distribution().await;
        let mut vars = Vars::new();
        vars.insert("server_version", server.git_version.clone());
        if major != 1 || minor < MIN_SUPPORTED_MINOR {
            return Outcome::fail(format!(
                "the API server runs {}, older than the oldest supported Kubernetes 1.{MIN_SUPPORTED_MINOR}",
                server.git_version
            ))
            .remediate("rem.version-skew", distribution, &vars);
        }
        let mut problems = Vec::new();
        let mut skewed = Vec::new();
        for n in nodes.iter() {
            let name = crate::facts::node_name(n);
            let kubelet = crate::facts::kubelet_version(n);
            let Some((_, kminor)) = parse_major_minor(kubelet) else {
                problems.push(format!(
                    "node {name} reports no parseable kubelet version ({kubelet:?})"
                ));
                skewed.push(format!("node/{name}"));
                continue;
            };
            if kminor > minor || minor - kminor > MAX_KUBELET_LAG {
                skewed.push(format!("node/{name}"));
            }
            if kminor > minor {
                problems.push(format!(
                    "kubelet on {name} is {kubelet}, newer than the API server {}",
                    server.git_version
                ));
            } else if minor - kminor > MAX_KUBELET_LAG {
                problems.push(format!(
                    "kubelet on {name} is {kubelet}, {} minors behind the API server {} (at most {MAX_KUBELET_LAG} allowed)",
                    minor - kminor,
                    server.git_version
                ));
            }
        }
        if problems.is_empty() {
            Outcome::pass(format!(
                "API server {}; {} kubelets within the supported skew",
                server.git_version,
                nodes.len()
            ))
        } else {
            Outcome::fail(facts::listed(&problems, "; "))
                .detail("problems", &problems)
                .remediate("rem.version-skew", distribution, &vars)
                .subjects(skewed)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evidence::Scope;
    use crate::model::Status;
    use crate::test_support::{Case, expect, node};

    fn with_kubelet(name: &str, version: &str) -> serde_json::Value {
        let mut n = node(name);
        n["status"]["nodeInfo"]["kubeletVersion"] = json!(version);
        n
    }

    fn case(server: &str, nodes: Vec<serde_json::Value>) -> Case {
        Case::new()
            .file(
                "cluster/version.json",
                json!({"major": "1", "minor": "32", "gitVersion": server}).to_string(),
            )
            .objects(&kinds::NODES, Scope::Cluster, nodes)
    }

    #[tokio::test]
    async fn kubelets_within_three_minors_pass() {
        let o = case(
            "v1.32.3+k3s1",
            vec![
                with_kubelet("a", "v1.32.3+k3s1"),
                with_kubelet("b", "v1.29.1+k3s1"),
            ],
        )
        .run(&VersionSkew)
        .await;
        assert_eq!(o.status, Status::Pass, "{}", o.message);
    }

    #[tokio::test]
    async fn a_kubelet_four_minors_behind_fails() {
        let o = case(
            "v1.32.3+k3s1",
            vec![with_kubelet("mcp-worker-2", "v1.28.5+k3s1")],
        )
        .run(&VersionSkew)
        .await;
        expect(
            &o,
            Status::Fail,
            &["mcp-worker-2", "4 minors behind", "at most 3"],
        );
    }

    #[tokio::test]
    async fn a_kubelet_newer_than_the_server_fails() {
        let o = case("v1.30.2", vec![with_kubelet("mcp-worker-1", "v1.31.0")])
            .run(&VersionSkew)
            .await;
        expect(
            &o,
            Status::Fail,
            &["mcp-worker-1", "newer than the API server"],
        );
    }

    #[tokio::test]
    async fn a_server_older_than_1_26_fails() {
        let o = case("v1.25.9", vec![with_kubelet("a", "v1.25.9")])
            .run(&VersionSkew)
            .await;
        expect(
            &o,
            Status::Fail,
            &["older than the oldest supported Kubernetes 1.26"],
        );
    }
}
