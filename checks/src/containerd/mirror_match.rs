use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use mcp_doctor_remediations::Vars;
use serde_json::json;

use super::config::{Distribution, K3S_REGISTRIES, NodeFacts};
use super::fix::{self, needs_etc_hosts, plain_http};
use super::reference::{self, ImageRef, split_port};
use super::simulate::{
    Behavior, Class, ClientFlags, Listener, Prediction, Proto, World, plan, predict,
};
use super::trust::{RegistryCa, Trust, bundled_registry_ca, node_trust};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::host::HostFacts;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// For every image host the platform and its MCP servers use (the containers of Deployments
    /// and Pods in the platform namespaces (a StatefulSet's pods are among the Pods), and MCPServer `spec.image`), simulates on each node
    /// what containerd does with that node's registry configuration (k3s `registries.yaml` as k3s renders it
    /// for its version, containerd `config.toml` legacy mirrors or `config_path`, `certs.d/*/hosts.toml`):
    /// which `certs.d` directory matches (`host_port_`, `host:port`, `_default`, exact and case-sensitive),
    /// the ordered endpoints with scheme, TLS settings and capabilities, the upstream fallback, and the
    /// version quirks (localhost rules, server-only hosts.toml before 1.7.32). A dev-style registry
    /// (`registry.local`, `*.local`, an IP, localhost) is taken to speak plain HTTP; other registries HTTPS
    /// with a public certificate. `.local` names resolve only through the node's `/etc/hosts`.
    ///
    /// ### Why it matters
    /// The kubelet pulls through containerd on the node that runs the pod, not from where setup pushed.
    /// Without a mirror entry containerd speaks HTTPS to `registry.local:32000` and every pod from the
    /// platform registry sits in `ImagePullBackOff`; one node of three without the entry makes only the
    /// pods scheduled there fail, which looks random.
    ///
    /// ### What a failure looks like
    /// `node mcp-worker-2: registry.local:32000/mcp/server:1.0 would fail: failed to do request: Head
    /// "https://registry.local:32000/v2/mcp/server/manifests/1.0": http: server gave HTTP response to HTTPS
    /// client (no mirror entry for "registry.local:32000" in /etc/rancher/k3s/registries.yaml)`
    ///
    /// ### How to fix
    /// Add the mirror on the listed nodes (remediation `rem.containerd-mirror`, with the snippet generated for
    /// the distribution: k3s `registries.yaml`, kind `containerdConfigPatches` + `hosts.toml`, minikube
    /// `--insecure-registry`, Docker Desktop `daemon.json`, kubeadm `config.toml` + `hosts.toml`), then restart
    /// the runtime where the distribution needs it. When the cause is another check's finding the remediation
    /// is that check's, so the report shows one root cause: a mirror key written as a URL
    /// (`rem.containerd-config`), a `.local` name missing from `/etc/hosts` (`rem.registry-hosts-entry`), a
    /// bundled HTTPS registry whose CA the node does not trust (`rem.containerd-ca-trust`; the simulated
    /// registry then serves a certificate from `mcp-runtime-ca`).
    pub struct ContainerdMirrorMatch {
        id: "containerd.mirror-match",
        title: "containerd on every node can pull the platform's images",
        category: "node",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NAMESPACES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::DEPLOYMENTS, kinds::PODS, kinds::MCP_SERVERS, kinds::SERVICES, kinds::SECRETS],
        read_scope: PlatformNamespaces,
    }
}

/// The network as this node sees it, for the endpoints of one plan: dev-style hosts speak plain HTTP,
/// others HTTPS with a public certificate, all serving the image; `.local` names resolve only through
/// `/etc/hosts`.
fn world_for(
    facts: &HostFacts,
    endpoints: &[super::simulate::Endpoint],
    r: &ImageRef,
    bundled: Option<&RegistryCa>,
) -> World {
    let mut w = World::default();
    let hosts = facts.etc_hosts();
    let image = match (&r.digest, &r.tag) {
        (Some(d), _) => format!("{}@{d}", r.path),
        (_, t) => format!("{}:{}", r.path, t.as_deref().unwrap_or("latest")),
    };
    for ep in endpoints {
        let (name, port) = split_port(&ep.host);
        let http = plain_http(&ep.host);
        let port = port.unwrap_or(if http { "80" } else { "443" });
        if !needs_etc_hosts(name) {
            w.names.insert(name.to_string());
        } else if !hosts.contains_key(name) {
            continue;
        }
        // The bundled registry over HTTPS serves a certificate from mcp-runtime-ca, trusted only where the
        // node has the CA (`containerd.ca-trust`).
        let internal = bundled.filter(|ca| ca.pull_host == ep.host);
        let port = match internal {
            Some(_) => split_port(&ep.host).1.unwrap_or("443"),
            None => port,
        };
        w.listeners.insert(
            format!("{name}:{port}"),
            Listener {
                proto: match internal {
                    Some(ca) => Proto::Https {
                        ca: match node_trust(facts, ca) {
                            Trust::Trusted(_) => String::new(),
                            _ => UNTRUSTED_CA.into(),
                        },
                    },
                    None if http => Proto::Http,
                    None => Proto::Https { ca: String::new() },
                },
                behavior: Behavior::Registry(BTreeSet::from([image.clone()])),
            },
        );
    }
    w
}

/// The CA name of a registry the node does not trust (no node CA file ends with it).
const UNTRUSTED_CA: &str = "mcp-runtime-ca (not trusted by this node)";

/// What containerd on this node does with `r`: plan with the node's configuration, then run it against
/// the network as the node sees it.
pub(crate) fn predict_on(
    facts: &HostFacts,
    r: &ImageRef,
    bundled: Option<&RegistryCa>,
) -> (super::simulate::Plan, Prediction) {
    let n = NodeFacts::from_host(facts);
    let pl = plan(
        &n.effective,
        n.containerd_version,
        r,
        &ClientFlags::default(),
    );
    let world = world_for(facts, &pl.endpoints, r, bundled);
    let p = predict(&pl, r, &world);
    (pl, p)
}

struct Finding {
    node: String,
    class: Class,
    host: String,
    image: String,
    message: String,
}

/// Why a node has no working entry for `host`, in its configuration's words.
pub(crate) fn why(n: &NodeFacts, host: &str, dir: Option<&str>) -> String {
    if let Some(reg) = &n.registries_yaml
        && let Some(key) = reg.mirrors.keys().find(|k| {
            k.contains("://")
                && k.split("://").nth(1).map(|r| r.trim_end_matches('/')) == Some(host)
        })
    {
        return format!(
            "the {K3S_REGISTRIES} mirror key \"{key}\" is a URL: containerd looks the registry up as \
             \"{host}\", so it never matches"
        );
    }
    match (dir, n.distribution) {
        (Some(d), _) => format!("the endpoints in {d}/hosts.toml do not work"),
        (None, Distribution::K3s) => format!("no mirror entry for \"{host}\" in {K3S_REGISTRIES}"),
        (None, Distribution::Containerd) => {
            format!("no certs.d/{host}/hosts.toml or registry.mirrors entry for \"{host}\"")
        }
    }
}

/// Why the lead finding fails, as the remediation that fixes it: a mirror key written as a URL is
/// `containerd.config-valid`'s finding (one root cause, `rem.containerd-config`); a registry name the failing
/// nodes cannot resolve is `node.hosts-entry`'s (`rem.registry-hosts-entry`); an untrusted bundled registry
/// CA is `containerd.ca-trust`'s (`rem.containerd-ca-trust`); anything else needs a mirror.
fn cause(n: &NodeFacts, facts: &HostFacts, host: &str, class: Class) -> &'static str {
    let name = split_port(host).0;
    if class == Class::X509UnknownAuthority {
        "rem.containerd-ca-trust"
    } else if n
        .registries_yaml
        .as_ref()
        .is_some_and(|reg| reg.mirrors.keys().any(|k| k.contains("://")))
    {
        "rem.containerd-config"
    } else if needs_etc_hosts(name) && !facts.etc_hosts().contains_key(name) {
        "rem.registry-hosts-entry"
    } else {
        "rem.containerd-mirror"
    }
}

#[async_trait]
impl Check for ContainerdMirrorMatch {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = match crate::facts::host_facts_to_judge(ctx).await {
            Ok(hosts) => hosts,
            Err(outcome) => return outcome,
        };
        let images = match crate::platform::platform_images(ctx).await {
            Ok(i) => i,
            Err(o) => return o,
        };
        // One sample reference per registry host.
        let mut by_host: BTreeMap<String, ImageRef> = BTreeMap::new();
        let mut invalid = Vec::new();
        for raw in &images {
            match reference::parse(raw) {
                Ok(r) => {
                    by_host.entry(r.domain.clone()).or_insert(r);
                }
                Err(e) => invalid.push(format!("{raw}: {e}")),
            }
        }
        if by_host.is_empty() {
            return Outcome::skip(
                "no images in the platform namespaces or MCPServers to check against the nodes' registry \
                 configuration",
            )
            .detail("invalid_references", &invalid);
        }
        let bundled = bundled_registry_ca(ctx).await.ok();
        let mut findings = Vec::new();
        let mut simulated = Vec::new();
        for (node, facts) in hosts.iter() {
            let n = NodeFacts::from_host(facts);
            for (host, r) in &by_host {
                let (pl, p) = predict_on(facts, r, bundled.as_ref());
                simulated.push(json!({
                    "node": node,
                    "image_host": host,
                    "image": r.to_string(),
                    "endpoints": pl.endpoints.iter().map(|e| format!("{} ({})", e.url(), e.source)).collect::<Vec<_>>(),
                    "ok": p.ok(),
                    "tried": p.tried,
                }));
                if !p.ok() {
                    findings.push(Finding {
                        node: node.clone(),
                        class: p.class,
                        host: host.clone(),
                        image: r.to_string(),
                        message: format!(
                            "node {node}: {r} would fail: {} ({})",
                            p.message,
                            why(&n, host, pl.dir.as_deref())
                        ),
                    });
                }
            }
        }
        let Some(lead) = findings.first() else {
            return Outcome::pass(format!(
                "containerd on {} node(s) reaches all {} image host(s): {}",
                hosts.len(),
                by_host.len(),
                by_host.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
            .detail("simulated", &simulated)
            .detail("invalid_references", &invalid);
        };
        let nodes: Vec<&str> = findings
            .iter()
            .filter(|f| f.host == lead.host)
            .map(|f| f.node.as_str())
            .collect();
        let failing: Vec<&HostFacts> = nodes.iter().filter_map(|n| hosts.get(*n)).collect();
        let Some(lead_facts) = hosts.get(&lead.node) else {
            return Outcome::error(format!("no facts for node {}", lead.node));
        };
        let lead_node = NodeFacts::from_host(lead_facts);
        let remediation = cause(&lead_node, lead_facts, &lead.host, lead.class);
        let why_lead = lead
            .message
            .rsplit_once(" (")
            .map(|(_, w)| w.trim_end_matches(')').to_string())
            .unwrap_or_default();
        let vars = Vars::from([
            ("nodes", nodes.join(", ")),
            ("node", lead.node.clone()),
            ("file", K3S_REGISTRIES.to_string()),
            ("image_host", lead.host.clone()),
            ("image", lead.image.clone()),
            ("name", split_port(&lead.host).0.to_string()),
            ("why", why_lead),
            ("ca", "mcp-runtime-ca".into()),
            (
                "fingerprint",
                bundled
                    .as_ref()
                    .and_then(|ca| ca.fingerprints.first().cloned())
                    .unwrap_or_default(),
            ),
            ("ca_file", fix::NODE_CA_FILE.into()),
        ]);
        let untrusted = lead.class == Class::X509UnknownAuthority;
        let mut access = fix::access_for(
            &lead.host,
            &failing,
            &hosts,
            fix::registry_node_port(ctx).await,
            untrusted.then(|| fix::NODE_CA_FILE.to_string()),
        );
        if untrusted {
            access.endpoint = format!("https://{}", lead.host);
        }
        let names: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        let snippet = fix::snippet(ctx, &hosts, &[access], &names).await;
        let message = findings
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Outcome::fail(message)
            .detail("simulated", &simulated)
            .detail("invalid_references", &invalid)
            .remediate(remediation, ctx.distribution().await, &vars)
            .snippet(snippet)
            .subjects(findings.iter().map(|f| format!("node/{}", f.node)))
    }
}
