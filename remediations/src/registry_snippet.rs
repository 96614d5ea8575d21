//! The one generator of node registry configuration snippets: from the registry hosts a check observed
//! (the image host, how nodes reach it, the CA they must trust, the `/etc/hosts` line they need), the exact
//! configuration for the distribution the cluster runs: k3s/rke2 `registries.yaml`, kind
//! `containerdConfigPatches` plus `hosts.toml`, minikube `--insecure-registry`, Docker Desktop `daemon.json`,
//! kubeadm/containerd `config.toml` plus `hosts.toml`. Every check that prints a registry fix uses it.
//!
//! Under the production profile it never writes an insecure entry: plain-HTTP endpoints become HTTPS with the
//! named CA, and `/etc/hosts` lines are replaced by a note to publish the name in DNS.

use crate::Distribution;

/// One registry host the nodes must be able to pull from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAccess {
    /// The registry host exactly as images name it (`registry.local:32000`).
    pub host: String,
    /// Where containerd should send requests for it (`http://127.0.0.1:32000`, `https://registry.local:32000`).
    pub endpoint: String,
    /// A CA certificate file the node must trust for the endpoint (its path on the node).
    pub ca_file: Option<String>,
    /// An `/etc/hosts` line the nodes need: (address, name).
    pub hosts_line: Option<(String, String)>,
}

impl RegistryAccess {
    fn plain_http(&self) -> bool {
        self.endpoint.starts_with("http://")
    }

    /// The access as the production profile allows it: HTTPS only, name resolution through DNS.
    pub fn hardened(&self) -> RegistryAccess {
        let endpoint = match self.endpoint.strip_prefix("http://") {
            Some(_) => format!("https://{}", self.host),
            None => self.endpoint.clone(),
        };
        RegistryAccess {
            host: self.host.clone(),
            endpoint,
            ca_file: self.ca_file.clone(),
            hosts_line: None,
        }
    }

    /// `host:port` of the endpoint (what k3s/containerd key `configs` by).
    fn endpoint_host(&self) -> &str {
        let rest = self
            .endpoint
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&self.endpoint);
        rest.split('/').next().unwrap_or(rest)
    }
}

/// The configuration that gives `nodes` access to every registry in `access`, for `distribution`.
pub fn registry_snippet(
    distribution: Distribution,
    access: &[RegistryAccess],
    nodes: &[String],
    prod: bool,
) -> String {
    let access: Vec<RegistryAccess> = if prod {
        access.iter().map(RegistryAccess::hardened).collect()
    } else {
        access.to_vec()
    };
    let mut out = String::new();
    if prod {
        out.push_str(
            "# production profile: HTTPS with a trusted CA, no insecure or plain-HTTP entries, the registry name in DNS\n",
        );
    }
    match distribution {
        Distribution::K3s => registries_yaml(&mut out, &access, "k3s", "k3s-agent"),
        Distribution::Rke2 => registries_yaml(&mut out, &access, "rke2", "rke2-agent"),
        Distribution::Kind => kind(&mut out, &access, nodes),
        Distribution::Minikube => minikube(&mut out, &access, prod),
        Distribution::DockerDesktop => docker_desktop(&mut out, &access, prod),
        Distribution::Generic => containerd(&mut out, &access),
    }
    etc_hosts(&mut out, &access, distribution);
    if prod {
        for a in &access {
            out.push_str(&format!(
                "# publish {} in DNS (every node resolves it) and serve it with a certificate the CA above issued\n",
                split_host(&a.host)
            ));
        }
    }
    out.trim_end().to_string()
}

fn split_host(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(']') => h,
        _ => host,
    }
}

fn registries_yaml(out: &mut String, access: &[RegistryAccess], dist: &str, agent: &str) {
    out.push_str(&format!(
        "# /etc/rancher/{dist}/registries.yaml on every node (merge with existing entries)\n"
    ));
    out.push_str(&registries_yaml_document(access));
    out.push_str(&format!(
        "\n# then, on each node ({dist} reads registries.yaml only at start):\nsudo systemctl restart {dist}    # {agent} on agent nodes\n"
    ));
}

/// The k3s/rke2 `registries.yaml` entries (`mirrors`, and `configs` for a CA) that give nodes access to
/// `access`, as a YAML document: what the registry snippet shows and what the installer's
/// `write-registry-config` step merges into the file. The production profile's hardening is the caller's
/// ([`registry_snippet`] applies it before calling).
pub fn registries_yaml_document(access: &[RegistryAccess]) -> String {
    let mut out = String::from("mirrors:\n");
    for a in access {
        out.push_str(&format!(
            "  \"{}\":\n    endpoint:\n      - \"{}\"\n",
            a.host, a.endpoint
        ));
    }
    let with_ca: Vec<&RegistryAccess> = access.iter().filter(|a| a.ca_file.is_some()).collect();
    if !with_ca.is_empty() {
        out.push_str("configs:\n");
        for a in with_ca {
            out.push_str(&format!(
                "  \"{}\":\n    tls:\n      ca_file: \"{}\"\n",
                a.endpoint_host(),
                a.ca_file.as_deref().unwrap_or_default()
            ));
        }
    }
    out
}

fn hosts_toml(a: &RegistryAccess) -> String {
    let mut t = format!(
        "server = \"{}://{}\"\n\n[host.\"{}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
        if a.plain_http() { "http" } else { "https" },
        a.host,
        a.endpoint
    );
    if let Some(ca) = &a.ca_file {
        t.push_str(&format!("  ca = \"{ca}\"\n"));
    }
    t
}

fn containerd(out: &mut String, access: &[RegistryAccess]) {
    out.push_str(
        "# /etc/containerd/config.toml on every node (containerd 1.x; 2.x reads certs.d by default).\n\
         # Remove any registry.mirrors/configs tables there: they cannot be combined with config_path.\n\
         [plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n",
    );
    for a in access {
        out.push_str(&format!(
            "\n# /etc/containerd/certs.d/{}/hosts.toml on every node\n{}",
            a.host,
            hosts_toml(a)
        ));
    }
    out.push_str(
        "\n# then, on each node (config.toml is read at start; hosts.toml on every pull):\nsudo systemctl restart containerd\n",
    );
}

fn kind(out: &mut String, access: &[RegistryAccess], nodes: &[String]) {
    out.push_str(
        "# kind cluster config (new clusters: kind create cluster --config kind.yaml)\n\
         kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\ncontainerdConfigPatches:\n- |-\n  \
         [plugins.\"io.containerd.grpc.v1.cri\".registry]\n    config_path = \"/etc/containerd/certs.d\"\n",
    );
    let nodes = if nodes.is_empty() {
        "$(kind get nodes)".to_string()
    } else {
        nodes.join(" ")
    };
    out.push_str(
        "\n# on the running cluster's nodes (hosts.toml is read on every pull, no restart):\n",
    );
    for a in access {
        out.push_str(&format!(
            "for node in {nodes}; do\n  docker exec \"$node\" mkdir -p \"/etc/containerd/certs.d/{h}\"\n  cat <<'EOF' | docker exec -i \"$node\" cp /dev/stdin \"/etc/containerd/certs.d/{h}/hosts.toml\"\n{}EOF\ndone\n",
            hosts_toml(a),
            h = a.host
        ));
        if let Some(ca) = &a.ca_file {
            out.push_str(&format!(
                "# and copy the CA into each node: docker cp ca.crt \"$node:{ca}\"\n"
            ));
        }
    }
}

fn minikube(out: &mut String, access: &[RegistryAccess], prod: bool) {
    if prod {
        out.push_str(
            "# minikube installs the CAs in ~/.minikube/certs into the node at start:\nmkdir -p ~/.minikube/certs && cp ca.crt ~/.minikube/certs/mcp-runtime-ca.pem\nminikube start --embed-certs\n",
        );
        return;
    }
    let flags: Vec<String> = access
        .iter()
        .map(|a| format!("--insecure-registry={}", a.host))
        .collect();
    out.push_str(&format!(
        "# minikube reads --insecure-registry only when the cluster is created:\nminikube delete\nminikube start {}\n",
        flags.join(" ")
    ));
}

fn docker_desktop(out: &mut String, access: &[RegistryAccess], prod: bool) {
    if prod {
        for a in access {
            out.push_str(&format!(
                "# trust the CA for {h} (Docker Desktop reads ~/.docker/certs.d), then restart Docker Desktop:\nmkdir -p ~/.docker/certs.d/{h} && cp ca.crt ~/.docker/certs.d/{h}/ca.crt\n",
                h = a.host
            ));
        }
        return;
    }
    let hosts: Vec<String> = access.iter().map(|a| format!("\"{}\"", a.host)).collect();
    out.push_str(&format!(
        "# Docker Desktop > Settings > Docker Engine: merge into daemon.json, then Apply & Restart\n{{\n  \"insecure-registries\": [{}]\n}}\n",
        hosts.join(", ")
    ));
}

fn etc_hosts(out: &mut String, access: &[RegistryAccess], distribution: Distribution) {
    let lines: Vec<String> = access
        .iter()
        .filter_map(|a| a.hosts_line.as_ref())
        .map(|(ip, name)| format!("{ip} {name}"))
        .collect();
    if lines.is_empty() {
        return;
    }
    let text = lines.join("\n");
    match distribution {
        Distribution::Kind => out.push_str(&format!(
            "\n# /etc/hosts inside each node container\nfor node in $(kind get nodes); do docker exec \"$node\" sh -c 'printf \"%s\\n\" \"{}\" >> /etc/hosts'; done\n",
            lines.join("\" \"")
        )),
        Distribution::Minikube => out.push_str(&format!(
            "\n# /etc/hosts inside the minikube node\nminikube ssh -- \"printf '%s\\n' '{}' | sudo tee -a /etc/hosts\"\n",
            lines.join("' '")
        )),
        Distribution::DockerDesktop => {
            out.push_str(&format!("\n# /etc/hosts on this machine\n{text}\n"))
        }
        _ => out.push_str(&format!("\n# /etc/hosts on every node\n{text}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> Vec<RegistryAccess> {
        vec![RegistryAccess {
            host: "registry.local:32000".into(),
            endpoint: "http://127.0.0.1:32000".into(),
            ca_file: None,
            hosts_line: Some(("127.0.0.1".into(), "registry.local".into())),
        }]
    }

    #[test]
    fn k3s_mirrors_the_exact_host_and_restarts() {
        let s = registry_snippet(Distribution::K3s, &dev(), &[], false);
        assert!(
            s.contains(
                "  \"registry.local:32000\":\n    endpoint:\n      - \"http://127.0.0.1:32000\""
            ),
            "{s}"
        );
        assert!(s.contains("127.0.0.1 registry.local"), "{s}");
        assert!(s.contains("sudo systemctl restart k3s"), "{s}");
    }

    #[test]
    fn each_distribution_gets_its_own_mechanism() {
        let nodes = vec!["kind-control-plane".to_string()];
        let kind = registry_snippet(Distribution::Kind, &dev(), &nodes, false);
        assert!(kind.contains("containerdConfigPatches:"), "{kind}");
        assert!(
            kind.contains("for node in kind-control-plane; do"),
            "{kind}"
        );
        assert!(kind.contains("[host.\"http://127.0.0.1:32000\"]"), "{kind}");
        let mk = registry_snippet(Distribution::Minikube, &dev(), &[], false);
        assert!(
            mk.contains("minikube start --insecure-registry=registry.local:32000"),
            "{mk}"
        );
        let dd = registry_snippet(Distribution::DockerDesktop, &dev(), &[], false);
        assert!(
            dd.contains("\"insecure-registries\": [\"registry.local:32000\"]"),
            "{dd}"
        );
        let g = registry_snippet(Distribution::Generic, &dev(), &[], false);
        assert!(
            g.contains("config_path = \"/etc/containerd/certs.d\""),
            "{g}"
        );
        assert!(
            g.contains("/etc/containerd/certs.d/registry.local:32000/hosts.toml"),
            "{g}"
        );
        assert!(g.contains("sudo systemctl restart containerd"), "{g}");
    }

    #[test]
    fn production_recommends_tls_instead_of_insecure_entries() {
        let mut a = dev();
        a[0].ca_file = Some("/etc/rancher/k3s/mcp-runtime-ca.crt".into());
        let s = registry_snippet(Distribution::K3s, &a, &[], true);
        assert!(!s.contains("http://"), "{s}");
        assert!(s.contains("- \"https://registry.local:32000\""), "{s}");
        assert!(
            s.contains("ca_file: \"/etc/rancher/k3s/mcp-runtime-ca.crt\""),
            "{s}"
        );
        assert!(!s.contains("127.0.0.1 registry.local"), "{s}");
        let dd = registry_snippet(Distribution::DockerDesktop, &a, &[], true);
        assert!(!dd.contains("insecure-registries"), "{dd}");
    }
}
