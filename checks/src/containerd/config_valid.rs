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
    /// containerd older than 1.7.32; no `"*"` mirror meets a k3s older than the March 2024 releases; and on
    /// k3s, that what k3s rendered at its last start (its `config.toml` and `certs.d`) is what
    /// `registries.yaml` renders to now: k3s reads `registries.yaml` only when it starts, so an edit without a
    /// restart changes nothing. The details name, per node, the files the verdict rests on (or that k3s's
    /// rendering was modelled because its rendered files were not collected).
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
    for (host, how) in &n.stale_render {
        push(
            Status::Warn,
            K3S_REGISTRIES,
            format!(
                "k3s was not restarted since {K3S_REGISTRIES} was edited (\"{host}\": {how}): containerd follows what k3s rendered at its last start until `systemctl restart k3s` (k3s-agent on agents)"
            ),
        );
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
        let nodes: Vec<NodeFacts> = hosts.values().map(NodeFacts::from_host).collect();
        let rests_on: serde_json::Map<String, serde_json::Value> = nodes
            .iter()
            .map(|n| (n.node.clone(), serde_json::json!(n.rests_on)))
            .collect();
        let mut all: Vec<Finding> = nodes.iter().flat_map(findings).collect();
        all.sort_by_key(|f| std::cmp::Reverse(f.status));
        let Some(lead) = all.first() else {
            // Say when the verdict rests on a model of k3s's rendering rather than the rendered files.
            let modelled: Vec<&str> = nodes
                .iter()
                .filter(|n| n.rests_on.iter().any(|r| r.contains("not collected")))
                .map(|n| n.node.as_str())
                .collect();
            let basis = if modelled.is_empty() {
                String::new()
            } else {
                format!(
                    " (on {}: judged from the files present; what k3s/containerd renders was not collected, so it is modelled)",
                    modelled.join(", ")
                )
            };
            return Outcome::pass(format!(
                "the registry configuration of {} node(s) parses and is consistent{basis}",
                hosts.len()
            ))
            .detail("rests_on", rests_on);
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
            .detail("rests_on", rests_on)
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

    const RENDERED_TOML: &str = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/var/lib/rancher/k3s/agent/etc/containerd/certs.d\"\n";
    const DEV_MIRROR: &str =
        "mirrors:\n  \"registry.local:32000\":\n    endpoint: [\"http://registry.local:32000\"]\n";
    /// As k3s 1.29 renders the mirror: the endpoint with `/v2` and `override_path`.
    const DEV_HOSTS_TOML: &str = "server = \"https://registry.local:32000\"\n\n[host.\"http://registry.local:32000/v2\"]\n  capabilities = [\"pull\", \"resolve\"]\n  override_path = true\n";

    #[test]
    fn registries_yaml_edited_without_a_restart_warns_and_names_the_difference() {
        let n = node(
            &[
                (K3S_REGISTRIES, DEV_MIRROR),
                (super::super::config::K3S_CONTAINERD_CONFIG, RENDERED_TOML),
            ],
            "k3s version v1.29.3+k3s1",
        );
        let f = findings(&n);
        assert_eq!(
            f.len(),
            1,
            "{:?}",
            f.iter().map(|f| &f.why).collect::<Vec<_>>()
        );
        assert_eq!(f[0].status, Status::Warn);
        assert!(
            f[0].why.contains("k3s was not restarted")
                && f[0].why.contains("\"registry.local:32000\"")
                && f[0]
                    .why
                    .contains("says http://registry.local:32000, containerd runs with no entry"),
            "{}",
            f[0].why
        );
        assert!(
            n.rests_on
                .iter()
                .any(|r| r.ends_with("containerd/config.toml"))
        );
    }

    #[test]
    fn a_render_matching_registries_yaml_is_not_stale_and_rests_on_the_rendered_files() {
        let hosts =
            "/var/lib/rancher/k3s/agent/etc/containerd/certs.d/registry.local:32000/hosts.toml";
        let n = node(
            &[
                (K3S_REGISTRIES, DEV_MIRROR),
                (super::super::config::K3S_CONTAINERD_CONFIG, RENDERED_TOML),
                (hosts, DEV_HOSTS_TOML),
            ],
            "k3s version v1.29.3+k3s1",
        );
        assert!(n.stale_render.is_empty(), "{:?}", n.stale_render);
        assert!(findings(&n).is_empty());
        assert!(n.rests_on.iter().any(|r| r == hosts), "{:?}", n.rests_on);
    }

    #[test]
    fn without_the_rendered_files_the_verdict_says_it_models_k3s() {
        let n = node(&[(K3S_REGISTRIES, DEV_MIRROR)], "k3s version v1.29.3+k3s1");
        assert!(n.stale_render.is_empty());
        assert!(
            n.rests_on
                .iter()
                .any(|r| r.contains("as k3s renders it") && r.contains("not collected")),
            "{:?}",
            n.rests_on
        );
    }
}
