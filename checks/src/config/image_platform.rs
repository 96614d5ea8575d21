use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{shown, vars};
use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// `MCP_IMAGE_PLATFORM`, when set, is `linux/amd64` or `linux/arm64` (the only platforms setup builds)
    /// and equals the `kubernetes.io/arch` label of every node.
    ///
    /// - Unset: pass. Setup detects the platform from the nodes' `kubernetes.io/arch` label; whether the nodes
    ///   agree with each other is `nodes.architecture`'s job.
    /// - Not one of the two values: fail, whatever the nodes say.
    /// - A valid value but the nodes cannot be read (403, timeout, not in the bundle): `error` / `skip`, with
    ///   the message saying the value itself is valid. Setup would use it unchecked in that case, which is
    ///   exactly when an `exec format error` slips through, so this is not a pass.
    /// - Nodes whose architecture differs: fail, naming them.
    ///
    /// ### Why it matters
    /// Setup builds the operator, gateway proxy and Sentinel images for this one platform. An override left
    /// over from an Apple Silicon laptop (`linux/arm64`) on an amd64 VPS cluster produces images that start
    /// with `exec format error`, after the whole build-and-push phase.
    ///
    /// ### What a failure looks like
    /// `MCP_IMAGE_PLATFORM=linux/arm64 does not match nodes mcp-cp-1, mcp-worker-1 (kubernetes.io/arch=amd64):
    /// setup-built pods would fail with "exec format error"; set MCP_IMAGE_PLATFORM=linux/amd64`
    ///
    /// ### How to fix
    /// Set the platform of the nodes, or unset the override and let setup detect it (remediations
    /// `rem.image-platform` for an unsupported value, `rem.image-platform-mismatch`, and
    /// `rem.mixed-architecture` when the nodes disagree among themselves):
    ///
    /// ```sh
    /// kubectl get nodes -L kubernetes.io/arch
    /// export MCP_IMAGE_PLATFORM=linux/amd64    # or: unset MCP_IMAGE_PLATFORM
    /// ```
    pub struct ImagePlatform {
        id: "config.image-platform",
        title: "MCP_IMAGE_PLATFORM is supported and matches the nodes",
        category: "config",
        modes: Setup,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NODES],
    }
}

const PLATFORMS: [&str; 2] = ["linux/amd64", "linux/arm64"];
const ARCH_LABEL: &str = "kubernetes.io/arch";

#[async_trait]
impl Check for ImagePlatform {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let cfg = &ctx.config;
        let (Some(platform), Some(given)) =
            (cfg.value("image_platform"), shown(cfg, "image_platform"))
        else {
            return Outcome::pass(format!(
                "MCP_IMAGE_PLATFORM is not set: setup detects the image platform from the nodes' {ARCH_LABEL} label"
            ));
        };
        if !PLATFORMS.contains(&platform) {
            let fix = suggest(platform);
            return Outcome::fail(format!(
                "{given} is not a platform setup builds: only linux/amd64 and linux/arm64 are supported; set MCP_IMAGE_PLATFORM={fix}"
            ))
            .detail("image_platform", platform)
            .remediate("rem.image-platform", None, &vars([("platform", fix.into())]));
        }

        let nodes = match crate::facts::nodes(ctx).await {
            Ok(nodes) => nodes,
            Err(e) => {
                return unreadable(
                    &format!(
                        "nodes to compare {given} (a supported value) with their {ARCH_LABEL}"
                    ),
                    &e,
                )
                .detail("image_platform", platform);
            }
        };
        let wanted = platform.trim_start_matches("linux/");
        let mut by_arch: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for n in nodes.iter() {
            let name = n.metadata.name.clone().unwrap_or_else(|| "?".into());
            let arch = n
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(ARCH_LABEL))
                .cloned()
                .unwrap_or_else(|| "<unlabelled>".into());
            by_arch.entry(arch).or_default().push(name);
        }
        let outcome = if nodes.is_empty() {
            Outcome::warn(format!(
                "{given} is supported, but the cluster has no nodes to compare it with; join the nodes before setup"
            ))
            .remediate("rem.image-platform", None, &vars([("platform", platform.into())]))
        } else if by_arch.keys().all(|a| a == wanted) {
            Outcome::pass(format!(
                "{given} matches all {} node(s) ({ARCH_LABEL}={wanted})",
                nodes.len()
            ))
        } else {
            let others: Vec<String> = by_arch
                .iter()
                .filter(|(arch, _)| arch.as_str() != wanted)
                .map(|(arch, names)| {
                    format!("{} ({ARCH_LABEL}={arch})", facts::listed(names, ", "))
                })
                .collect();
            let archs: Vec<&String> = by_arch.keys().collect();
            let (fix, rem, rem_vars) = match archs.as_slice() {
                [only] if PLATFORMS.contains(&format!("linux/{only}").as_str()) => (
                    format!("set MCP_IMAGE_PLATFORM=linux/{only}"),
                    "rem.image-platform-mismatch",
                    vars([("platform", platform.into()), ("arch", only.to_string())]),
                ),
                [only] => (
                    format!("setup builds only linux/amd64 and linux/arm64 images, not {only}"),
                    "rem.image-platform",
                    vars([("platform", platform.into())]),
                ),
                _ => (
                    "the nodes mix architectures, which setup rejects (see nodes.architecture)"
                        .into(),
                    "rem.mixed-architecture",
                    vars([
                        ("arch", wanted.into()),
                        ("nodes", others_names(&by_arch, wanted)),
                    ]),
                ),
            };
            Outcome::fail(format!(
                "{given} does not match nodes {}: setup-built pods would fail with \"exec format error\"; {fix}",
                others.join("; ")
            ))
            .remediate(rem, None, &rem_vars)
            .subjects(
                by_arch
                    .iter()
                    .filter(|(arch, _)| arch.as_str() != wanted)
                    .flat_map(|(_, names)| names.iter().map(|n| format!("node/{n}"))),
            )
        };
        outcome
            .detail("image_platform", platform)
            .detail("nodes_by_arch", by_arch)
    }
}

/// The names of the nodes whose architecture is not `wanted`.
fn others_names(by_arch: &BTreeMap<String, Vec<String>>, wanted: &str) -> String {
    by_arch
        .iter()
        .filter(|(a, _)| a.as_str() != wanted)
        .flat_map(|(_, names)| names.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The supported platform a mistyped value most likely meant.
fn suggest(raw: &str) -> &'static str {
    let v = raw.to_ascii_lowercase();
    if v.contains("arm64") || v.contains("aarch64") {
        "linux/arm64"
    } else {
        "linux/amd64"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Scope;
    use crate::model::Status;
    use crate::test_support::{Case, expect, forbidden, node, node_with_arch};

    fn amd64_cluster(case: Case) -> Case {
        case.objects(
            &kinds::NODES,
            Scope::Cluster,
            vec![node("mcp-cp-1"), node("mcp-worker-1")],
        )
    }

    #[tokio::test]
    async fn matching_platform_passes_and_unset_passes() {
        let o = amd64_cluster(Case::new().env("MCP_IMAGE_PLATFORM", "linux/amd64"))
            .run(&ImagePlatform)
            .await;
        expect(
            &o,
            Status::Pass,
            &["MCP_IMAGE_PLATFORM=linux/amd64 matches all 2 node(s)"],
        );
        let o = Case::new().run(&ImagePlatform).await;
        expect(&o, Status::Pass, &["setup detects the image platform"]);
    }

    #[tokio::test]
    async fn laptop_override_on_amd64_nodes_fails() {
        let o = amd64_cluster(Case::new().env("MCP_IMAGE_PLATFORM", "linux/arm64"))
            .run(&ImagePlatform)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "MCP_IMAGE_PLATFORM=linux/arm64 does not match nodes mcp-cp-1, mcp-worker-1 (kubernetes.io/arch=amd64)",
                "exec format error",
                "set MCP_IMAGE_PLATFORM=linux/amd64",
            ],
        );
        assert_eq!(rem, "rem.image-platform-mismatch");
        assert!(
            o.remediation
                .unwrap()
                .text
                .contains("export MCP_IMAGE_PLATFORM=linux/amd64")
        );
    }

    #[tokio::test]
    async fn mixed_nodes_name_the_odd_ones_out() {
        let o = Case::new()
            .env("MCP_IMAGE_PLATFORM", "linux/amd64")
            .objects(
                &kinds::NODES,
                Scope::Cluster,
                vec![node("mcp-cp-1"), node_with_arch("mcp-worker-2", "arm64")],
            )
            .run(&ImagePlatform)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "does not match nodes mcp-worker-2 (kubernetes.io/arch=arm64)",
                "nodes.architecture",
            ],
        );
        assert_eq!(rem, "rem.mixed-architecture");
        assert!(
            o.remediation
                .unwrap()
                .text
                .contains("take the others (mcp-worker-2)")
        );
    }

    #[tokio::test]
    async fn unsupported_value_fails_without_reading_nodes() {
        let o = Case::new()
            .env("MCP_IMAGE_PLATFORM", "x86_64")
            .run(&ImagePlatform)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "MCP_IMAGE_PLATFORM=x86_64 is not a platform setup builds",
                "set MCP_IMAGE_PLATFORM=linux/amd64",
            ],
        );
    }

    #[tokio::test]
    async fn unreadable_nodes_are_an_error_not_a_pass() {
        let o = Case::new()
            .env("MCP_IMAGE_PLATFORM", "linux/amd64")
            .list_error(
                &kinds::NODES,
                Scope::Cluster,
                forbidden(&kinds::NODES, &Scope::Cluster),
            )
            .run(&ImagePlatform)
            .await;
        expect(
            &o,
            Status::Error,
            &[
                "MCP_IMAGE_PLATFORM=linux/amd64 (a supported value)",
                "permission denied",
            ],
        );
    }
}
