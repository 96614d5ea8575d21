use async_trait::async_trait;
use mcp_doctor_remediations::{Distribution, Vars};
use serde_json::json;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::KubeTarget;
use crate::evidence::host::HostFacts;
use crate::model::{CheckMeta, Outcome, Status};

declare_check! {
    /// ### What it checks
    /// The kubeconfig this run uses is readable by its owner only: world-readable (`mode & 0o004`) fails,
    /// group-readable warns. From node facts, the k3s join token (`/var/lib/rancher/k3s/server/node-token`,
    /// `.../server/token`) and kubeadm's `/etc/kubernetes/admin.conf` must not be readable by other users
    /// (fail), and `/etc/rancher/k3s/k3s.yaml` should not be (warn: k3s installed with
    /// `--write-kubeconfig-mode 0644` writes it that way). In-cluster configuration has no file and passes.
    ///
    /// ### Why it matters
    /// The kubeconfig copied from a k3s server is a cluster-admin credential, and the node token lets any
    /// machine join the cluster as a node: the seed says to keep the kubeconfig at `chmod 0600` and to treat
    /// the token as a secret. A file other users can read hands them the cluster.
    ///
    /// ### What a failure looks like
    /// `kubeconfig /home/ops/mcp-k3s.yaml is world-readable (mode 0644): every local user can use its
    /// credentials`, or `node mcp-cp-1: /var/lib/rancher/k3s/server/node-token (the k3s join token) is
    /// readable by every user (mode 0644)`.
    ///
    /// ### How to fix
    /// `chmod 0600 <path>`. On k3s, make it stick for `/etc/rancher/k3s/k3s.yaml` by dropping
    /// `--write-kubeconfig-mode 0644` and setting `write-kubeconfig-mode: "0600"` in
    /// `/etc/rancher/k3s/config.yaml`, since k3s rewrites the file at every start.
    pub struct NodeKubeconfig {
        id: "node.kubeconfig",
        title: "Kubeconfig and join token are private",
        category: "node",
        modes: Setup,
        depends_on: [],
        reads: [],
    }
}

const K3S_KUBECONFIG: &str = "/etc/rancher/k3s/k3s.yaml";

/// Credential files on a node: path, what it is, and the verdict when every user can read it.
const NODE_CREDENTIALS: &[(&str, &str, Status)] = &[
    (
        "/var/lib/rancher/k3s/server/node-token",
        "the k3s join token",
        Status::Fail,
    ),
    (
        "/var/lib/rancher/k3s/server/token",
        "the k3s server token",
        Status::Fail,
    ),
    (
        "/etc/kubernetes/admin.conf",
        "kubeadm's cluster-admin kubeconfig",
        Status::Fail,
    ),
    (
        K3S_KUBECONFIG,
        "the k3s cluster-admin kubeconfig",
        Status::Warn,
    ),
];

/// A credential file others can read, and the command that closes it.
struct Finding {
    status: Status,
    path: String,
    message: String,
    fix: String,
}

fn mode(m: u32) -> String {
    format!("{:04o}", m & 0o7777)
}

/// What the kubeconfig in use tells.
enum Local {
    /// Verified private (or no file at all): what was verified.
    Private(String),
    Exposed(Finding),
    /// The file exists but its mode is unknown.
    Unknown(String),
}

fn judge_target(target: &KubeTarget) -> Local {
    let Some(path) = target.kubeconfig.as_deref().filter(|_| !target.in_cluster) else {
        return Local::Private("in-cluster configuration (no kubeconfig file)".into());
    };
    let Some(m) = target.kubeconfig_mode else {
        return Local::Unknown(format!("the mode of kubeconfig {path} could not be read"));
    };
    let (status, who, users) = if m & 0o004 != 0 {
        (Status::Fail, "world-readable", "every local user")
    } else if m & 0o040 != 0 {
        (Status::Warn, "group-readable", "every member of its group")
    } else {
        return Local::Private(format!("kubeconfig {path} is {}", mode(m)));
    };
    let message = format!(
        "kubeconfig {path} is {who} (mode {}): {users} can use its credentials",
        mode(m)
    );
    Local::Exposed(Finding {
        status,
        path: path.to_string(),
        message,
        fix: format!("chmod 0600 {path}"),
    })
}

fn judge_node(node: &str, facts: &HostFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (path, what, status) in NODE_CREDENTIALS {
        let Some(file) = facts.files.get(*path).filter(|f| f.world_readable()) else {
            continue;
        };
        let mut message = format!(
            "node {node}: {path} ({what}) is readable by every user (mode {})",
            mode(file.mode)
        );
        let mut fix = format!("sudo chmod 0600 {path}    # on {node}");
        if *path == K3S_KUBECONFIG {
            message.push_str(", as k3s writes it when installed with --write-kubeconfig-mode 0644");
            fix.push_str(
                "; keep it: write-kubeconfig-mode: \"0600\" in /etc/rancher/k3s/config.yaml",
            );
        }
        out.push(Finding {
            status: *status,
            path: path.to_string(),
            message,
            fix,
        });
    }
    out
}

#[async_trait]
impl Check for NodeKubeconfig {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let mut findings = Vec::new();
        let mut verified = Vec::new();
        let mut unavailable = Vec::new();
        match ctx.evidence.kube.target().await {
            Ok(target) => match judge_target(&target) {
                Local::Private(what) => verified.push(what),
                Local::Exposed(finding) => findings.push(finding),
                Local::Unknown(why) => unavailable.push(why),
            },
            Err(e) => unavailable.push(format!("the kubeconfig in use: {e}")),
        }
        match ctx.evidence.host.nodes().await {
            Ok(hosts) if hosts.is_empty() => unavailable.push("node facts: none collected".into()),
            Ok(hosts) => {
                let before = findings.len();
                findings.extend(
                    hosts
                        .iter()
                        .flat_map(|(node, facts)| judge_node(node, facts)),
                );
                if findings.len() == before {
                    verified.push(format!(
                        "credential files on {} node(s) are not readable by others",
                        hosts.len()
                    ));
                }
            }
            Err(e) => unavailable.push(format!("node facts: {e}")),
        }
        findings.sort_by_key(|f| std::cmp::Reverse(f.status));
        let Some(lead) = findings.first() else {
            if verified.is_empty() {
                return Outcome::skip(format!(
                    "cannot check credential file modes: {}",
                    unavailable.join("; ")
                ));
            }
            let mut message = verified.join("; ");
            if !unavailable.is_empty() {
                message.push_str(&format!(" (not checked: {})", unavailable.join("; ")));
            }
            return Outcome::pass(message).detail("not_checked", &unavailable);
        };
        // A k3s file proves the distribution even when the nodes cannot be read.
        let distribution = if findings.iter().any(|f| f.path.contains("/rancher/k3s/")) {
            Some(Distribution::K3s)
        } else {
            ctx.distribution().await
        };
        let vars = Vars::from([("path", lead.path.clone())]);
        let message = findings
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Outcome::of(lead.status, message)
            .detail(
                "files",
                findings
                    .iter()
                    .map(|f| json!({ "path": f.path, "status": f.status }))
                    .collect::<Vec<_>>(),
            )
            .detail("not_checked", &unavailable)
            .remediate("rem.kubeconfig-permissions", distribution, &vars)
            .snippet(
                findings
                    .iter()
                    .map(|f| f.fix.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::test_support::{context, host_facts};

    fn target(path: Option<&str>, mode: Option<u32>) -> (&'static str, Value) {
        let ok = KubeTarget {
            kubeconfig: path.map(str::to_string),
            kubeconfig_mode: mode,
            context: Some("default".into()),
            server: "https://203.0.113.10:6443".into(),
            in_cluster: path.is_none(),
            ..KubeTarget::default()
        };
        (
            "evidence/kube/target.json",
            json!({ "key": "kube/target", "ok": ok }),
        )
    }

    fn server_facts(token_mode: u32, kubeconfig_mode: u32) -> (&'static str, Value) {
        let files = [
            ("/var/lib/rancher/k3s/server/node-token", token_mode),
            (K3S_KUBECONFIG, kubeconfig_mode),
        ];
        ("host/mcp-cp-1.json", host_facts("mcp-cp-1", &[], &files))
    }

    #[tokio::test]
    async fn passes_for_private_files() {
        let ctx = context(
            &[
                target(Some("/home/ops/mcp-k3s.yaml"), Some(0o600)),
                server_facts(0o600, 0o600),
            ],
            &[],
        );
        let out = NodeKubeconfig.run(&ctx).await;
        assert_eq!(out.status, Status::Pass, "{out:?}");
        assert_eq!(
            out.message,
            "kubeconfig /home/ops/mcp-k3s.yaml is 0600; credential files on 1 node(s) are not readable by others"
        );
    }

    #[tokio::test]
    async fn fails_on_a_world_readable_kubeconfig_with_the_chmod() {
        let ctx = context(&[target(Some("/home/ops/mcp-k3s.yaml"), Some(0o644))], &[]);
        let out = NodeKubeconfig.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "kubeconfig /home/ops/mcp-k3s.yaml is world-readable (mode 0644): every local user can use its credentials"
        );
        let rem = out.remediation.expect("remediation");
        assert_eq!(rem.id, "rem.kubeconfig-permissions");
        assert!(
            rem.text.contains("chmod 0600 /home/ops/mcp-k3s.yaml"),
            "{}",
            rem.text
        );
        assert_eq!(
            rem.snippet.as_deref(),
            Some("chmod 0600 /home/ops/mcp-k3s.yaml")
        );
    }

    #[tokio::test]
    async fn warns_on_a_group_readable_kubeconfig() {
        let ctx = context(&[target(Some("/home/ops/.kube/config"), Some(0o640))], &[]);
        assert_eq!(NodeKubeconfig.run(&ctx).await.status, Status::Warn);
    }

    #[tokio::test]
    async fn warns_on_the_k3s_0644_kubeconfig_and_fails_on_a_readable_token() {
        let ctx = context(&[target(None, None), server_facts(0o600, 0o644)], &[]);
        let out = NodeKubeconfig.run(&ctx).await;
        assert_eq!(out.status, Status::Warn, "{out:?}");
        assert!(
            out.message.contains("--write-kubeconfig-mode 0644"),
            "{}",
            out.message
        );
        let rem = out.remediation.expect("remediation");
        assert!(
            rem.text.contains("write-kubeconfig-mode: \"0600\""),
            "{}",
            rem.text
        );

        let ctx = context(&[server_facts(0o644, 0o600)], &[]);
        let out = NodeKubeconfig.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "node mcp-cp-1: /var/lib/rancher/k3s/server/node-token (the k3s join token) is readable by every user \
             (mode 0644)"
        );
    }

    #[tokio::test]
    async fn in_cluster_config_passes() {
        let ctx = context(&[target(None, None)], &[]);
        let out = NodeKubeconfig.run(&ctx).await;
        assert_eq!(out.status, Status::Pass);
        assert!(
            out.message
                .starts_with("in-cluster configuration (no kubeconfig file)"),
            "{}",
            out.message
        );
    }

    #[tokio::test]
    async fn skips_when_nothing_can_be_read() {
        let ctx = context(&[], &[]);
        let out = NodeKubeconfig.run(&ctx).await;
        assert_eq!(out.status, Status::Skip);
        assert!(out.message.starts_with(
            "cannot check credential file modes: the kubeconfig in use: not collected"
        ));
    }
}
