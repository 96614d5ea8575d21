//! What the node checks share to print a registry fix: which distribution to write it for, whether the
//! production rules apply, and how nodes should reach an image host. The text itself comes from the one
//! generator, `mcp_doctor_remediations::registry_snippet`.

use std::collections::BTreeMap;

use mcp_doctor_remediations::{Distribution, RegistryAccess, registry_snippet};
use serde_json::Value;

use super::config::{Distribution as ConfigWriter, NodeFacts};
use super::reference::{is_localhost, split_port};
use crate::check::Context;
use crate::config::registry_url::dev_reason;
use crate::evidence::HostFacts;
use crate::evidence::kinds;
use crate::model::Profile;

/// Where the generated fixes put the registry's CA certificate on a node: the system trust store's source
/// directory (so `update-ca-certificates` also adds it to the roots), named by hosts.toml `ca` and
/// registries.yaml `ca_file`.
pub const NODE_CA_FILE: &str = "/usr/local/share/ca-certificates/mcp-runtime-ca.crt";

/// The production rules apply: `--profile prod`, or setup's `--strict-prod` (`MCP_STRICT_PROD`).
pub fn production(ctx: &Context) -> bool {
    ctx.profile == Profile::Prod || ctx.config.flag("strict_prod")
}

/// A dev-style registry host (`registry.local`, `*.local`, an IP, localhost): the bundled registry on the
/// dev path, which speaks plain HTTP.
pub fn plain_http(host: &str) -> bool {
    dev_reason(host).is_some()
}

/// A name only `/etc/hosts` can resolve on a node: `.local` names (no public DNS, and the node's resolver
/// is not the cluster's, so `*.svc.cluster.local` neither).
pub fn needs_etc_hosts(name: &str) -> bool {
    name.ends_with(".local") && name.parse::<std::net::IpAddr>().is_err() && !is_localhost(name)
}

/// The distribution a node fix is written for: the detected one, else what the node facts show (k3s files
/// mean k3s; otherwise plain containerd, as on kubeadm).
pub async fn fix_distribution(ctx: &Context, hosts: &BTreeMap<String, HostFacts>) -> Distribution {
    if let Some(d) = ctx.distribution().await {
        return d;
    }
    if hosts
        .values()
        .any(|f| NodeFacts::from_host(f).distribution == ConfigWriter::K3s)
    {
        Distribution::K3s
    } else {
        Distribution::Generic
    }
}

/// The NodePort of the bundled registry's Service (`registry/registry`), which every node reaches on
/// 127.0.0.1 through kube-proxy; None when there is no such Service or it cannot be read.
pub async fn registry_node_port(ctx: &Context) -> Option<u64> {
    let svc = ctx
        .evidence
        .kube
        .get(&kinds::SERVICES, Some("registry"), "registry")
        .await
        .ok()??;
    svc.pointer("/spec/ports/0/nodePort")
        .and_then(Value::as_u64)
}

/// How `nodes` should reach `host`: a plain-HTTP dev registry through its name when every node resolves it,
/// else through the registry's NodePort on 127.0.0.1 (or the host's own port there); a name only
/// `/etc/hosts` resolves gets the line the other nodes already have (127.0.0.1 otherwise); any other host
/// over HTTPS, trusting `ca_file` when given.
pub fn access_for(
    host: &str,
    nodes: &[&HostFacts],
    all: &BTreeMap<String, HostFacts>,
    node_port: Option<u64>,
    ca_file: Option<String>,
) -> RegistryAccess {
    let name = split_port(host).0.to_ascii_lowercase();
    let resolves_everywhere =
        !needs_etc_hosts(&name) || nodes.iter().all(|f| f.etc_hosts().contains_key(&name));
    let known_address = all
        .values()
        .find_map(|f| f.etc_hosts().get(&name).and_then(|a| a.first().cloned()));
    let (endpoint, hosts_line) = if !plain_http(host) {
        (format!("https://{host}"), None)
    } else if resolves_everywhere {
        (format!("http://{host}"), None)
    } else if let Some(port) = node_port
        .map(|p| p.to_string())
        .or_else(|| split_port(host).1.map(String::from))
    {
        (format!("http://127.0.0.1:{port}"), None)
    } else {
        (
            format!("http://{host}"),
            Some((known_address.unwrap_or_else(|| "127.0.0.1".into()), name)),
        )
    };
    RegistryAccess {
        host: host.to_string(),
        endpoint,
        ca_file,
        hosts_line,
    }
}

/// The generated configuration that gives `nodes` the access described, for this cluster's distribution
/// and profile.
pub async fn snippet(
    ctx: &Context,
    hosts: &BTreeMap<String, HostFacts>,
    access: &[RegistryAccess],
    nodes: &[String],
) -> String {
    registry_snippet(
        fix_distribution(ctx, hosts).await,
        access,
        nodes,
        production(ctx),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containerd::config::{CONTAINERD_CONFIG, K3S_REGISTRIES};
    use crate::containerd::mirror_match::{BundledRegistry, predict_on};
    use crate::containerd::reference;

    fn facts(files: &[(&str, &str)], k3s: bool) -> HostFacts {
        let mut v = crate::test_support::facts_with_files("mcp-worker-2", files);
        if !k3s {
            v["versions"] = serde_json::json!({ "containerd": "containerd 1.6.20~ds1" });
        }
        serde_json::from_value(v).unwrap()
    }

    /// The part of a snippet between a `# <path>` comment line and the next blank-line-separated comment.
    fn section<'a>(snippet: &'a str, header: &str) -> &'a str {
        let start = snippet.find(header).expect(header) + header.len();
        let rest = snippet[start..].trim_start_matches(|c| c != '\n');
        rest.split("\n\n#").next().unwrap_or(rest)
    }

    /// What the generated fix says, applied to a node that fails, makes the simulated pull succeed.
    #[test]
    fn the_generated_fix_makes_the_failing_pull_succeed() {
        let r = reference::parse("registry.local:32000/mcp-servers/weather:0.3.2").unwrap();
        let hosts_line = "127.0.0.1 localhost registry.local\n";
        let broken = facts(&[("/etc/hosts", hosts_line)], true);
        assert!(!predict_on(&broken, &r, &BundledRegistry::default()).1.ok());
        let all = BTreeMap::from([("mcp-worker-2".to_string(), broken.clone())]);
        let access = access_for(&r.domain, &[&broken], &all, None, None);

        let k3s = registry_snippet(Distribution::K3s, std::slice::from_ref(&access), &[], false);
        let yaml = section(
            &k3s,
            "registries.yaml on every node (merge with existing entries)",
        );
        let fixed = facts(&[("/etc/hosts", hosts_line), (K3S_REGISTRIES, yaml)], true);
        let (_, p) = predict_on(&fixed, &r, &BundledRegistry::default());
        assert!(p.ok(), "{k3s}\n{p:?}");

        let generic = registry_snippet(Distribution::Generic, &[access], &[], false);
        let config = section(&generic, "cannot be combined with config_path.");
        let hosts_toml = section(&generic, "hosts.toml on every node");
        let path = format!("/etc/containerd/certs.d/{}/hosts.toml", r.domain);
        let fixed = facts(
            &[
                ("/etc/hosts", hosts_line),
                (CONTAINERD_CONFIG, config),
                (&path, hosts_toml),
            ],
            false,
        );
        let (_, p) = predict_on(&fixed, &r, &BundledRegistry::default());
        assert!(p.ok(), "{generic}\n{p:?}");
    }
}
