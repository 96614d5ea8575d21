use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use super::config::{
    Distribution, K3S_REGISTRIES, NodeFacts, k3s_supports_wildcard, parse_hosts_toml,
};
use super::simulate::requires_host_tree;
use crate::check::{Check, Context};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome, Status};

declare_check! {
    /// ### What it checks
    /// On each node, from its host facts: k3s `registries.yaml`, containerd `config.toml` and every
    /// `certs.d/*/hosts.toml` parse (YAML/TOML errors are reported with line and column); no mirror key is a
    /// URL (`"http://registry.local:32000"` never matches an image host); containerd's config.toml does not
    /// set both legacy `mirrors` and `config_path`; no hosts.toml without a `[host]` table meets a
    /// containerd older than 1.7.32; no `"*"` mirror meets a k3s older than the March 2024 releases.
    ///
    /// ### Why it matters
    /// A broken file is ignored or half-applied: a malformed hosts.toml makes containerd fall back to plain
    /// HTTPS with only a log line; `mirrors` together with `config_path` stops the CRI plugin from loading,
    /// so every pull fails with `unknown service runtime.v1.ImageService`, which looks like a broken runtime.
    ///
    /// ### What a failure looks like
    /// `node mcp-worker-2: /etc/rancher/k3s/registries.yaml mirror key "http://registry.local:32000" is a URL,
    /// not a registry host: it never matches an image`, or
    /// `node mcp-cp-1: /etc/containerd/certs.d/registry.local:32000/hosts.toml:1:10: ...`.
    ///
    /// ### How to fix
    /// Fix the named file at the named line (remediation `rem.containerd-config`), write mirror keys as the
    /// bare `host:port`, and restart k3s (or containerd) after changing `registries.yaml` or `config.toml`.
    pub struct ContainerdConfigValid {
        id: "containerd.config-valid",
        title: "The nodes' registry configuration files are valid",
        category: "node",
        modes: Both,
        depends_on: [],
        reads: [],
    }
}

struct Finding {
    status: Status,
    node: String,
    file: String,
    why: String,
}

/// The problems in one node's registry configuration.
fn findings(n: &NodeFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |status, file: &str, why: String| {
        out.push(Finding {
            status,
            node: n.node.clone(),
            file: file.to_string(),
            why,
        })
    };
    for e in &n.errors {
        push(Status::Fail, &e.file, e.to_string());
    }
    if let Some(reg) = &n.registries_yaml {
        for key in reg.mirrors.keys().chain(reg.configs.keys()) {
            if key.contains("://") || (key != "*" && key.contains('/')) {
                push(
                    Status::Fail,
                    K3S_REGISTRIES,
                    format!(
                        "{K3S_REGISTRIES} key \"{key}\" is a URL, not a registry host: it never matches an image"
                    ),
                );
            }
        }
        if reg.mirrors.contains_key("*") && n.k3s_version.is_some_and(|v| !k3s_supports_wildcard(v))
        {
            push(
                Status::Warn,
                K3S_REGISTRIES,
                format!(
                    "{K3S_REGISTRIES} has a \"*\" mirror, which this k3s version ignores (supported from the March 2024 releases)"
                ),
            );
        }
    }
    let eff = &n.effective;
    if n.distribution == Distribution::Containerd
        && !eff.mirrors.is_empty()
        && !eff.config_path.is_empty()
    {
        push(
            Status::Fail,
            super::config::CONTAINERD_CONFIG,
            "config.toml sets both registry `mirrors` and `config_path`: the CRI plugin does not load and every pull fails with `unknown service runtime.v1.ImageService`".into(),
        );
    }
    if requires_host_tree(n.containerd_version) {
        for (dir, d) in &eff.dirs {
            let file = format!("{dir}/hosts.toml");
            if let Some(Ok(h)) = d.hosts_toml.as_ref().map(|t| parse_hosts_toml(&file, t))
                && !h.has_host_tree
            {
                push(
                    Status::Warn,
                    &file,
                    format!(
                        "{file} has no [host] table: this containerd (before 1.7.32) rejects it with `invalid host tree` and falls back to HTTPS"
                    ),
                );
            }
        }
    }
    out
}

#[async_trait]
impl Check for ContainerdConfigValid {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = match crate::facts::host_facts_to_judge(ctx).await {
            Ok(hosts) => hosts,
            Err(outcome) => return outcome,
        };
        let mut all: Vec<Finding> = hosts
            .values()
            .flat_map(|f| findings(&NodeFacts::from_host(f)))
            .collect();
        all.sort_by_key(|f| std::cmp::Reverse(f.status));
        let Some(lead) = all.first() else {
            return Outcome::pass(format!(
                "the registry configuration of {} node(s) parses and is consistent",
                hosts.len()
            ));
        };
        let vars = Vars::from([
            ("node", lead.node.clone()),
            ("file", lead.file.clone()),
            ("why", lead.why.clone()),
        ]);
        let message = all
            .iter()
            .map(|f| format!("node {}: {}", f.node, f.why))
            .collect::<Vec<_>>()
            .join("; ");
        Outcome::of(lead.status, message)
            .remediate("rem.containerd-config", ctx.distribution().await, &vars)
            .subjects(
                all.iter()
                    .filter(|f| f.status == lead.status)
                    .map(|f| format!("node/{}", f.node)),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::host::{FileFact, HostFacts};

    fn node(files: &[(&str, &str)], k3s: &str) -> NodeFacts {
        let mut f = HostFacts {
            schema: "mcp-doctor.host-facts/v1".into(),
            node: "mcp-worker-2".into(),
            collected_at: String::new(),
            files: Default::default(),
            disks: Default::default(),
            versions: Default::default(),
        };
        for (p, c) in files {
            f.files.insert(
                p.to_string(),
                FileFact {
                    mode: 0o644,
                    uid: 0,
                    size: c.len() as u64,
                    content: Some(c.to_string()),
                    sha256: Vec::new(),
                },
            );
        }
        f.versions.insert("k3s".into(), k3s.into());
        NodeFacts::from_host(&f)
    }

    #[test]
    fn a_mirror_key_with_a_scheme_fails() {
        let n = node(
            &[(
                K3S_REGISTRIES,
                "mirrors:\n  \"http://registry.local:32000\":\n    endpoint: [\"http://registry.local:32000\"]\n",
            )],
            "k3s version v1.32.3+k3s1",
        );
        let f = findings(&n);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].why
                .contains("\"http://registry.local:32000\" is a URL"),
            "{}",
            f[0].why
        );
    }

    #[test]
    fn malformed_yaml_fails_with_a_line() {
        let n = node(
            &[(K3S_REGISTRIES, "mirrors:\n  a:\n    endpoint: [\n")],
            "k3s version v1.32.3+k3s1",
        );
        let f = findings(&n);
        assert_eq!(f[0].status, Status::Fail);
        assert!(
            f[0].why.starts_with(&format!("{K3S_REGISTRIES}:")),
            "{}",
            f[0].why
        );
    }

    #[test]
    fn wildcard_on_an_old_k3s_warns() {
        let n = node(
            &[(
                K3S_REGISTRIES,
                "mirrors:\n  \"*\":\n    endpoint: [\"http://m:5000\"]\n",
            )],
            "k3s version v1.28.6+k3s1",
        );
        assert_eq!(findings(&n)[0].status, Status::Warn);
    }
}
