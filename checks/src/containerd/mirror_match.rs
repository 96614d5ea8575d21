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
use crate::image_registry::{ServedScheme, served_scheme};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// For every image host the platform and its MCP servers use (the containers of Deployments
    /// and Pods in the platform namespaces (a StatefulSet's pods are among the Pods), and MCPServer `spec.image`), simulates on each node
    /// what containerd does with that node's registry configuration (k3s `registries.yaml` as k3s renders it
    /// for its version, containerd `config.toml` legacy mirrors or `config_path`, `certs.d/*/hosts.toml`):
    /// which `certs.d` directory matches (`host_port_`, `host:port`, `_default`, exact and case-sensitive),
    /// the ordered endpoints with scheme, TLS settings and capabilities, the upstream fallback, and the
    /// version quirks (localhost rules, server-only hosts.toml before 1.7.32). What the registry speaks comes
    /// from the cluster, not from how its host looks: the bundled registry (its pull host and dev-style hosts
    /// such as `registry.local`, `*.local`, an IP, localhost) speaks HTTPS with a certificate from
    /// `mcp-runtime-ca` exactly when `registry.reachable`'s `/v2/` probe answered over TLS or, without an
    /// answer, when Secret `registry/registry-internal-tls` exists (`registry.mode`'s rule), plain HTTP
    /// otherwise; with an external registry dev-style hosts are taken to speak plain HTTP. Other registries
    /// speak HTTPS with a public certificate. `.local` names resolve only through the node's `/etc/hosts`.
    /// Workloads, MCPServers and the registry's Secret are read per platform namespace; an unreadable one is
    /// an `error`/`skip` naming it (the Secret only when a pull from the bundled registry depends on it).
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
    /// registry then serves a certificate from `mcp-runtime-ca`). A node that mirrors the HTTPS bundled
    /// registry over `http://` gets `400 Bad Request` (Go's answer to HTTP on a TLS port); its fix is the
    /// `https://` endpoint trusting the CA.
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

/// What the bundled registry speaks and which CA signs its certificate, as the cluster says.
#[derive(Debug, Clone, Default)]
pub(crate) struct BundledRegistry {
    /// The scheme it serves (`registry.reachable`'s `/v2/` answer, else `registry.mode`'s rule); None for
    /// an external registry, whose dev-style hosts are then taken to speak plain HTTP.
    pub served: Option<ServedScheme>,
    /// The internal CA, when nodes pull from the registry pod over HTTPS.
    pub ca: Option<RegistryCa>,
}

impl BundledRegistry {
    /// Reads both; the second value is the outcome of a check that needs the scheme when it cannot be told
    /// (Secret `registry/registry-internal-tls` unreadable), so no pull from the bundled registry is
    /// predicted on a guess while pulls from other registries still are.
    pub(crate) async fn read(ctx: &Context) -> (BundledRegistry, Option<Outcome>) {
        let (served, unknown) = match served_scheme(ctx).await {
            Ok(served) => (served, None),
            Err(outcome) => (None, Some(outcome)),
        };
        let ca = bundled_registry_ca(ctx).await.ok();
        (BundledRegistry { served, ca }, unknown)
    }

    fn https(&self) -> bool {
        self.served.as_ref().is_some_and(|s| s.https)
    }

    /// Whether the bundled registry answers on `host`: its pull host, or a dev-style host.
    fn answers_on(&self, host: &str) -> bool {
        plain_http(host) || self.ca.as_ref().is_some_and(|ca| ca.pull_host == host)
    }
}

/// The network as this node sees it, for the endpoints of one plan: the bundled registry answers on its
/// pull host and on dev-style hosts (`registry.local`, `*.local`, an IP, localhost) over the scheme the
/// cluster says it serves, with a certificate from `mcp-runtime-ca` when that is HTTPS; other hosts speak
/// HTTPS with a public certificate; all serve the image. `.local` names resolve only through `/etc/hosts`.
fn world_for(
    facts: &HostFacts,
    endpoints: &[super::simulate::Endpoint],
    r: &ImageRef,
    bundled: &BundledRegistry,
) -> World {
    let mut w = World::default();
    let hosts = facts.etc_hosts();
    let image = match (&r.digest, &r.tag) {
        (Some(d), _) => format!("{}@{d}", r.path),
        (_, t) => format!("{}:{}", r.path, t.as_deref().unwrap_or("latest")),
    };
    for ep in endpoints {
        let (name, port) = split_port(&ep.host);
        if !needs_etc_hosts(name) {
            w.names.insert(name.to_string());
        } else if !hosts.contains_key(name) {
            continue;
        }
        let pull_host = bundled
            .ca
            .as_ref()
            .is_some_and(|ca| ca.pull_host == ep.host);
        let proto = if !bundled.answers_on(&ep.host) {
            Proto::Https { ca: String::new() }
        } else if bundled.https() || (bundled.served.is_none() && pull_host) {
            // Trusted only where the node has the CA for this host (`containerd.ca-trust`).
            let trusted = bundled.ca.as_ref().is_some_and(|ca| {
                let here = RegistryCa {
                    pull_host: ep.host.clone(),
                    ..ca.clone()
                };
                matches!(node_trust(facts, &here), Trust::Trusted(_))
            });
            Proto::Https {
                ca: if trusted {
                    String::new()
                } else {
                    UNTRUSTED_CA.into()
                },
            }
        } else {
            Proto::Http
        };
        let default_port = match proto {
            Proto::Http => "80",
            Proto::Https { .. } => "443",
        };
        w.listeners.insert(
            format!("{name}:{}", port.unwrap_or(default_port)),
            Listener {
                proto,
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
    bundled: &BundledRegistry,
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
    /// Why the node has no working entry for the host.
    why: String,
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
    if let Some(how) = n.stale_render_of(host) {
        return format!(
            "k3s was not restarted since {K3S_REGISTRIES} was edited ({how}): containerd runs with what k3s \
             rendered at its last start"
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
/// CA is `containerd.ca-trust`'s (`rem.containerd-ca-trust`); a registries.yaml that k3s has not rendered
/// since it was edited is `containerd.config-valid`'s too (`rem.containerd-config`: restart k3s); anything
/// else needs a mirror.
fn cause(n: &NodeFacts, facts: &HostFacts, host: &str, class: Class) -> &'static str {
    let name = split_port(host).0;
    if class == Class::X509UnknownAuthority {
        "rem.containerd-ca-trust"
    } else if n
        .registries_yaml
        .as_ref()
        .is_some_and(|reg| reg.mirrors.keys().any(|k| k.contains("://")))
        || n.stale_render_of(host).is_some()
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
        let (bundled, scheme_unknown) = BundledRegistry::read(ctx).await;
        let mut findings = Vec::new();
        let mut simulated = Vec::new();
        for (node, facts) in hosts.iter() {
            let n = NodeFacts::from_host(facts);
            for (host, r) in &by_host {
                let (pl, p) = predict_on(facts, r, &bundled);
                if let Some(outcome) = &scheme_unknown
                    && pl.endpoints.iter().any(|e| bundled.answers_on(&e.host))
                {
                    return outcome.clone();
                }
                simulated.push(json!({
                    "node": node,
                    "image_host": host,
                    "image": r.to_string(),
                    "endpoints": pl.endpoints.iter().map(|e| format!("{} ({})", e.url(), e.source)).collect::<Vec<_>>(),
                    "ok": p.ok(),
                    "tried": p.tried,
                }));
                if !p.ok() {
                    let mut why = why(&n, host, pl.dir.as_deref());
                    // containerd spoke HTTP to a port that speaks HTTPS: say what says it does.
                    if p.class == Class::Status(400)
                        && let Some(served) = bundled.served.as_ref().filter(|s| s.https)
                    {
                        why = format!("the registry speaks HTTPS ({}); {why}", served.because);
                    }
                    findings.push(Finding {
                        node: node.clone(),
                        class: p.class,
                        host: host.clone(),
                        image: r.to_string(),
                        message: format!("node {node}: {r} would fail: {} ({why})", p.message),
                        why,
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
        let vars = Vars::from([
            ("nodes", nodes.join(", ")),
            ("node", lead.node.clone()),
            ("file", K3S_REGISTRIES.to_string()),
            ("image_host", lead.host.clone()),
            ("image", lead.image.clone()),
            ("name", split_port(&lead.host).0.to_string()),
            ("why", lead.why.clone()),
            ("ca", "mcp-runtime-ca".into()),
            (
                "fingerprint",
                bundled
                    .ca
                    .as_ref()
                    .and_then(|ca| ca.fingerprints.first().cloned())
                    .unwrap_or_default(),
            ),
            ("ca_file", fix::NODE_CA_FILE.into()),
        ]);
        // An untrusted certificate, or plain HTTP to the HTTPS registry: the fix is HTTPS trusting the CA.
        let needs_tls = lead.class == Class::X509UnknownAuthority
            || (lead.class == Class::Status(400) && bundled.https());
        let mut access = fix::access_for(
            &lead.host,
            &failing,
            &hosts,
            fix::registry_node_port(ctx).await,
            needs_tls.then(|| fix::NODE_CA_FILE.to_string()),
        );
        if needs_tls {
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

#[cfg(test)]
mod tests {
    use crate::test_support::test_ca_pem as ca_pem;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::{Value, json};

    use super::*;
    use crate::evidence::host::pem_fingerprints;
    use crate::evidence::{HttpAnswer, HttpProbe, Scope};
    use crate::model::{Mode, Status};
    use crate::test_support::{Case, expect, facts_with_files};

    const NODE: &str = "mcp-worker-1";
    const HOSTS: &str = "127.0.0.1 localhost\n10.0.0.11 registry.local\n";

    /// k3s mirroring `host` over plain HTTP, as the dev path writes it.
    fn http_mirror(host: &str) -> String {
        format!("mirrors:\n  \"{host}\":\n    endpoint:\n      - \"http://{host}\"\n")
    }

    /// A doctor run: one platform pod pulling `image`, node `NODE` with `files`, and the bundled registry's
    /// Secret `registry/registry-internal-tls` holding `ca` when given.
    fn case(image: &str, files: &[(&str, &str)], ca: Option<&str>) -> Case {
        let secrets = ca
            .map(|ca| {
                json!({
                    "metadata": { "name": "registry-internal-tls", "namespace": "registry" },
                    "type": "kubernetes.io/tls",
                    "data": { "ca.crt": STANDARD.encode(ca) },
                })
            })
            .into_iter()
            .collect();
        Case::new()
            .mode(Mode::Doctor)
            .objects(&kinds::SECRETS, Scope::AllNamespaces, secrets)
            .objects(&kinds::DEPLOYMENTS, Scope::AllNamespaces, vec![])
            .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, vec![])
            .objects(
                &kinds::PODS,
                Scope::AllNamespaces,
                vec![json!({
                    "metadata": { "name": "weather-0", "namespace": "mcp-servers" },
                    "spec": { "containers": [{ "name": "server", "image": image }] },
                })],
            )
            .file(
                &format!("host/{NODE}.json"),
                facts_with_files(NODE, files).to_string(),
            )
    }

    /// The part of a snippet after a `# <header>` line, up to the next comment block.
    fn section<'a>(snippet: &'a str, header: &str) -> &'a str {
        let start = snippet.find(header).expect(header) + header.len();
        let rest = snippet[start..].trim_start_matches(|c| c != '\n');
        rest.split("\n\n#").next().unwrap_or(rest)
    }

    /// A bundled-https registry on a dev-style pull host that the node mirrors over http://: containerd
    /// gets Go's `400 Bad Request`, the check says the registry speaks HTTPS and why, and its fix (https
    /// endpoint trusting the CA file), applied with the CA installed, makes the simulated pull succeed.
    async fn http_mirror_of_the_https_registry_fails_and_the_fix_works(host: &str) {
        let image = format!("{host}/mcp-servers/weather:0.3.2");
        let ca = ca_pem();
        let o = case(
            &image,
            &[("/etc/hosts", HOSTS), (K3S_REGISTRIES, &http_mirror(host))],
            Some(&ca),
        )
        .run(&ContainerdMirrorMatch)
        .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                &format!("node {NODE}: {image} would fail"),
                "400 Bad Request",
                "the registry speaks HTTPS (Secret registry/registry-internal-tls exists)",
            ],
        );
        assert_eq!(rem, "rem.containerd-mirror");
        let snippet = o
            .remediation
            .expect("remediation")
            .snippet
            .expect("snippet");
        assert!(snippet.contains(&format!("https://{host}")), "{snippet}");
        assert!(snippet.contains(fix::NODE_CA_FILE), "{snippet}");

        let yaml = section(
            &snippet,
            "registries.yaml on every node (merge with existing entries)",
        );
        let mut fixed: Value =
            facts_with_files(NODE, &[("/etc/hosts", HOSTS), (K3S_REGISTRIES, yaml)]);
        fixed["files"][fix::NODE_CA_FILE] = json!({ "mode": 0o644, "uid": 0, "size": ca.len(),
                                                    "sha256": pem_fingerprints(ca.as_bytes()) });
        let o = case(&image, &[], Some(&ca))
            .file(&format!("host/{NODE}.json"), fixed.to_string())
            .run(&ContainerdMirrorMatch)
            .await;
        assert_eq!(o.status, Status::Pass, "{yaml}\n{o:#?}");
    }

    #[tokio::test]
    async fn an_http_mirror_of_the_https_registry_on_a_local_name_fails_with_400() {
        http_mirror_of_the_https_registry_fails_and_the_fix_works("registry.local:32000").await;
    }

    #[tokio::test]
    async fn an_http_mirror_of_the_https_registry_on_an_ip_fails_with_400() {
        http_mirror_of_the_https_registry_fails_and_the_fix_works("10.0.0.11:32000").await;
    }

    #[tokio::test]
    async fn the_http_mirror_passes_when_the_cluster_says_the_registry_speaks_http() {
        let host = "registry.local:32000";
        let o = case(
            &format!("{host}/mcp-servers/weather:0.3.2"),
            &[("/etc/hosts", HOSTS), (K3S_REGISTRIES, &http_mirror(host))],
            None,
        )
        .run(&ContainerdMirrorMatch)
        .await;
        assert_eq!(o.status, Status::Pass, "{o:#?}");
    }

    /// `registry.reachable`'s recorded `/v2/` answer outranks the Secret: Go's 400 to plain HTTP means the
    /// registry speaks HTTPS even where `registry-internal-tls` is absent.
    #[tokio::test]
    async fn a_recorded_https_answer_outranks_the_mode() {
        let host = "registry.local:32000";
        let probe = HttpProbe {
            method: "GET".into(),
            url: "http://10.0.0.11:32000/v2/".into(),
            connect_to: None,
            headers: vec![("user-agent".into(), "mcp-doctor".into())],
        };
        let go_400 = HttpAnswer {
            status: 400,
            headers: Default::default(),
            body: "Client sent an HTTP request to an HTTPS server.\n".into(),
            body_truncated: false,
            remote_addr: None,
        };
        let o = case(
            &format!("{host}/mcp-servers/weather:0.3.2"),
            &[("/etc/hosts", HOSTS), (K3S_REGISTRIES, &http_mirror(host))],
            None,
        )
        .flag("registry_url", "http://10.0.0.11:32000")
        .http(&probe, Ok(go_400))
        .run(&ContainerdMirrorMatch)
        .await;
        expect(
            &o,
            Status::Fail,
            &[
                "400 Bad Request",
                "the registry speaks HTTPS (http://10.0.0.11:32000/v2/ answered 400",
            ],
        );
    }

    /// Images are read per platform namespace: one that cannot be read is an error naming it, never a pass
    /// on the others' images.
    #[tokio::test]
    async fn a_platform_namespace_that_cannot_be_read_is_not_a_pass() {
        let host = "registry.local:32000";
        let denied = Scope::Namespace("mcp-servers".into());
        let o = case(
            &format!("{host}/mcp-servers/weather:0.3.2"),
            &[("/etc/hosts", HOSTS), (K3S_REGISTRIES, &http_mirror(host))],
            None,
        )
        .list_error(
            &kinds::PODS,
            denied.clone(),
            crate::test_support::forbidden(&kinds::PODS, &denied),
        )
        .run(&ContainerdMirrorMatch)
        .await;
        expect(&o, Status::Error, &["pods in namespace mcp-servers"]);
    }

    /// The registry mode cannot be told (its Secret is unreadable): no prediction on a guess.
    #[tokio::test]
    async fn an_unreadable_registry_secret_is_not_a_pass() {
        let host = "registry.local:32000";
        let o = case(
            &format!("{host}/mcp-servers/weather:0.3.2"),
            &[("/etc/hosts", HOSTS), (K3S_REGISTRIES, &http_mirror(host))],
            None,
        )
        .list_error(
            &kinds::SECRETS,
            Scope::AllNamespaces,
            crate::test_support::forbidden(&kinds::SECRETS, &Scope::AllNamespaces),
        )
        .run(&ContainerdMirrorMatch)
        .await;
        assert_ne!(o.status, Status::Pass, "{o:#?}");
        assert!(o.message.contains("registry-internal-tls"), "{o:#?}");
    }
}
