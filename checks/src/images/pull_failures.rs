use std::collections::BTreeMap;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use mcp_doctor_remediations::{RegistryAccess, Vars};
use serde_json::{Value, json};

use crate::check::{Check, Context};
use crate::containerd::config::NodeFacts;
use crate::containerd::fix::{self, NODE_CA_FILE, needs_etc_hosts};
use crate::containerd::mirror_match::{BundledRegistry, predict_on, why};
use crate::containerd::reference::{self, split_port};
use crate::containerd::simulate::{ClientFlags, plan};
use crate::containerd::trust::{Trust, node_trust};
use crate::declare_check;
use crate::evidence::host::HostFacts;
use crate::evidence::kinds;
use crate::facts::{node_label, node_name};
use crate::model::{CheckMeta, Outcome};
use crate::platform::{layout, list_in};

declare_check! {
    /// ### What it checks
    /// Every container in the platform namespaces (as the platform checks detect them: legacy or split
    /// layout, `mcp-runtime`, `registry`, `mcp-servers`) waiting with `ErrImagePull`, `ImagePullBackOff` or
    /// `InvalidImageName`, and every `CrashLoopBackOff` container whose last termination says `exec format
    /// error`. Each is classified from the container status message and the pod's Events (`Failed`,
    /// `BackOff`), matching the strings kubelet and containerd print: `http: server gave HTTP response to HTTPS
    /// client`, `no such host`, `connection refused`, `401 Unauthorized` / `403 Forbidden`, `x509: certificate
    /// signed by unknown authority`, `doesn't contain any IP SANs`, `not found` / `manifest unknown`, `exec
    /// format error` (the image's architecture against the node's `kubernetes.io/arch`). Where node facts
    /// exist, the node's registry configuration for the image host is simulated and named (the mirror entry,
    /// hosts.toml, or its absence). Events are supporting evidence: without them the status messages decide.
    ///
    /// ### Why it matters
    /// A pull failure is a node problem disguised as a pod problem: the same image pulls on one node and not
    /// on another, and the message says which node setting is wrong once it is read exactly.
    ///
    /// ### What a failure looks like
    /// `pod mcp-servers/weather-6d8f7c9b5-q2x7m on node mcp-worker-2: registry.local:32000/mcp-servers/weather:0.3.2:
    /// the registry speaks plain HTTP but containerd used HTTPS (http: server gave HTTP response to HTTPS
    /// client); node config: no mirror entry for "registry.local:32000" in /etc/rancher/k3s/registries.yaml`
    ///
    /// ### How to fix
    /// The remediation of the cause (`rem.containerd-mirror`, `rem.registry-hosts-entry`,
    /// `rem.containerd-ca-trust`, `rem.registry-pull-host-ip`, `rem.image-pull-refused`, `rem.image-pull-auth`,
    /// `rem.platform-image-pull`, `rem.mixed-architecture`), with the node snippet generated for the
    /// distribution where the node's configuration is the cause.
    pub struct ImagesPullFailures {
        id: "images.pull-failures",
        title: "No platform container is stuck pulling its image",
        category: "images",
        modes: Doctor,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NAMESPACES, kinds::PODS, kinds::EVENTS, kinds::NODES, kinds::SERVICES, kinds::SECRETS],
        read_scope: PlatformNamespaces,
    }
}

/// What went wrong with a pull, from the strings kubelet and containerd print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    ArchMismatch,
    HttpToHttps,
    X509IpSans,
    X509Unknown,
    NoSuchHost,
    Refused,
    Auth,
    NotFound,
    InvalidName,
    Other,
}

impl Cause {
    fn of(reason: &str, text: &str) -> Cause {
        let t = text.to_ascii_lowercase();
        let has = |s: &str| t.contains(s);
        if has("exec format error") {
            Cause::ArchMismatch
        } else if has("server gave http response to https client") {
            Cause::HttpToHttps
        } else if has("doesn't contain any ip sans") {
            Cause::X509IpSans
        } else if has("x509: certificate signed by unknown authority") {
            Cause::X509Unknown
        } else if has("no such host") {
            Cause::NoSuchHost
        } else if has("connection refused") {
            Cause::Refused
        } else if has("401 unauthorized")
            || has("403 forbidden")
            || has("authorization failed")
            || has("unauthorized: ")
            || has("denied:")
        {
            Cause::Auth
        } else if has("not found") || has("manifest unknown") {
            Cause::NotFound
        } else if reason == "InvalidImageName" {
            Cause::InvalidName
        } else {
            Cause::Other
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            Cause::ArchMismatch => {
                "the image is built for another CPU architecture (exec format error)"
            }
            Cause::HttpToHttps => {
                "the registry speaks plain HTTP but containerd used HTTPS (http: server gave HTTP response to HTTPS client)"
            }
            Cause::X509IpSans => {
                "the image host is an IP address the registry certificate does not cover (x509: cannot validate certificate ... doesn't contain any IP SANs)"
            }
            Cause::X509Unknown => {
                "the node does not trust the CA of the registry certificate (x509: certificate signed by unknown authority)"
            }
            Cause::NoSuchHost => "the node cannot resolve the registry name (no such host)",
            Cause::Refused => "nothing listens at the registry address (connection refused)",
            Cause::Auth => "the registry refused the node's credentials (401/403)",
            Cause::NotFound => "the image or tag does not exist in the registry (not found)",
            Cause::InvalidName => "the image reference is not valid (InvalidImageName)",
            Cause::Other => "the pull failed",
        }
    }

    /// The node's registry configuration is the cause (the fix is on the node).
    fn on_node(self) -> bool {
        matches!(
            self,
            Cause::HttpToHttps | Cause::X509Unknown | Cause::NoSuchHost
        )
    }
}

struct Failure {
    namespace: String,
    pod: String,
    owner: Option<String>,
    node: String,
    image: String,
    host: String,
    cause: Cause,
    message: String,
}

/// The Deployment that owns a pod through its ReplicaSet (`<deployment>-<hash>`).
fn owning_deployment(pod: &Pod) -> Option<String> {
    let rs = pod
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.kind == "ReplicaSet")?;
    rs.name.rsplit_once('-').map(|(d, _)| d.to_string())
}

/// The messages of the Events about one pod, newest last as listed.
fn event_messages(events: &[Value], namespace: &str, pod: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| {
            e.pointer("/involvedObject/kind").and_then(Value::as_str) == Some("Pod")
                && e.pointer("/involvedObject/name").and_then(Value::as_str) == Some(pod)
                && e.pointer("/involvedObject/namespace")
                    .and_then(Value::as_str)
                    == Some(namespace)
        })
        .filter_map(|e| e.get("message").and_then(Value::as_str).map(String::from))
        .collect()
}

/// A container stuck on its image (or crash-looping), with its waiting reason and the status text.
fn stuck(cs: &ContainerStatus) -> Option<(String, String)> {
    let waiting = cs.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.clone().unwrap_or_default();
    match reason.as_str() {
        "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" => {
            Some((reason, waiting.message.clone().unwrap_or_default()))
        }
        // A crash loop counts only when its last termination or the pod's Events say `exec format error`
        // (the caller decides, with the Events).
        "CrashLoopBackOff" => {
            let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            let text = last
                .map(|t| {
                    format!(
                        "{} {}",
                        t.reason.as_deref().unwrap_or(""),
                        t.message.as_deref().unwrap_or("")
                    )
                })
                .unwrap_or_default();
            Some((reason, text))
        }
        _ => None,
    }
}

/// What the node's registry configuration does with the image host, in its words.
fn node_config(facts: &HostFacts, image: &str) -> Option<String> {
    let r = reference::parse(image).ok()?;
    let n = NodeFacts::from_host(facts);
    let p = plan(
        &n.effective,
        n.containerd_version,
        &r,
        &ClientFlags::default(),
    );
    let first = p.endpoints.first()?;
    Some(format!(
        "containerd sends {} to {} ({}): {}",
        r.domain,
        first.url(),
        first.source,
        why(&n, &r.domain, p.dir.as_deref())
    ))
}

#[async_trait]
impl Check for ImagesPullFailures {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (layout, _) = match layout(ctx).await {
            Ok(l) => l,
            Err(o) => return o,
        };
        let pods: Vec<Pod> = match list_in(ctx, &kinds::PODS, &layout.all).await {
            Ok(p) => p,
            Err(o) => return o,
        };
        // Events are supporting evidence: without them the container statuses decide.
        let (events, events_read): (Vec<Value>, bool) =
            match list_in::<Value>(ctx, &kinds::EVENTS, &layout.all).await {
                Ok(e) => (e, true),
                Err(_) => (Vec::new(), false),
            };
        let nodes = crate::facts::nodes(ctx).await.unwrap_or_default();
        let arch_of = |node: &str| {
            nodes
                .iter()
                .find(|n| node_name(n) == node)
                .and_then(|n| node_label(n, "kubernetes.io/arch"))
                .map(String::from)
        };
        let facts = ctx.evidence.host.nodes().await.ok();
        // Which nodes the simulator says fail too is supporting evidence: the pod statuses decide.
        let (registry, _) = BundledRegistry::read(ctx).await;
        let mut failures = Vec::new();
        for pod in &pods {
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let node = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_else(|| "?".into());
            let statuses = pod.status.iter().flat_map(|s| {
                s.init_container_statuses
                    .iter()
                    .flatten()
                    .chain(s.container_statuses.iter().flatten())
            });
            for cs in statuses {
                let Some((reason, text)) = stuck(cs) else {
                    continue;
                };
                let events = event_messages(&events, &ns, &name);
                let all_text = std::iter::once(text.clone())
                    .chain(events.iter().cloned())
                    .collect::<Vec<_>>()
                    .join("\n");
                let cause = Cause::of(&reason, &all_text);
                if reason == "CrashLoopBackOff" && cause != Cause::ArchMismatch {
                    continue;
                }
                let image = pod
                    .spec
                    .as_ref()
                    .and_then(|s| {
                        s.init_containers
                            .iter()
                            .flatten()
                            .chain(s.containers.iter())
                            .find(|c| c.name == cs.name)
                    })
                    .and_then(|c| c.image.clone())
                    .unwrap_or_else(|| cs.image.clone());
                let host = reference::parse(&image)
                    .map(|r| r.domain)
                    .unwrap_or_default();
                let mut message = format!(
                    "pod {ns}/{name} on node {node}: {image}: {} ({reason})",
                    cause.phrase()
                );
                if cause == Cause::ArchMismatch {
                    message.push_str(&format!(
                        "; node {node} is {}",
                        arch_of(&node).unwrap_or_else(|| "of unknown architecture".into())
                    ));
                } else if let (Cause::X509Unknown, Some(ca), Some(f)) = (
                    cause,
                    registry.ca.as_ref(),
                    facts.as_ref().and_then(|f| f.get(&node)),
                ) {
                    let trust = match node_trust(f, ca) {
                        Trust::Trusted(how) => format!("trusts {} by {how}", ca.source),
                        Trust::Untrusted(why) | Trust::Unknown(why) => why,
                    };
                    message.push_str(&format!("; node config: {trust}"));
                } else if (cause.on_node() || cause == Cause::Refused)
                    && let Some(cfg) = facts
                        .as_ref()
                        .and_then(|f| f.get(&node))
                        .and_then(|f| node_config(f, &image))
                {
                    message.push_str(&format!("; node config: {cfg}"));
                }
                failures.push(Failure {
                    namespace: ns.clone(),
                    pod: name.clone(),
                    owner: owning_deployment(pod),
                    node: node.clone(),
                    image,
                    host,
                    cause,
                    message,
                });
            }
        }
        let Some(lead) = failures.first() else {
            return Outcome::pass(format!(
                "no container in {} is waiting on an image pull or crash-looping on exec format error ({} pod(s))",
                layout.all.join(", "),
                pods.len()
            ))
            .detail("events_read", events_read);
        };
        let same: Vec<&Failure> = failures
            .iter()
            .filter(|f| f.cause == lead.cause && f.host == lead.host)
            .collect();
        // The nodes to fix: where pods failed, and where the simulator predicts the same pull fails the same
        // way (read with the same classifier, so a node predicted to fail differently is not fixed by this).
        let nodes_of: Vec<String> = {
            let mut v: Vec<String> = same.iter().map(|f| f.node.clone()).collect();
            if lead.cause.on_node()
                && let (Some(facts), Ok(r)) = (&facts, reference::parse(&lead.image))
            {
                v.extend(
                    facts
                        .iter()
                        .filter(|(_, f)| {
                            let p = predict_on(f, &r, &registry).1;
                            !p.ok()
                                && Cause::of("ErrImagePull", &p.kubelet_message(&r)) == lead.cause
                        })
                        .map(|(n, _)| n.clone()),
                );
            }
            v.sort();
            v.dedup();
            v
        };
        let name = split_port(&lead.host).0.to_string();
        let (remediation, subjects): (&str, Vec<String>) = match lead.cause {
            Cause::HttpToHttps => (
                "rem.containerd-mirror",
                nodes_of.iter().map(|n| format!("node/{n}")).collect(),
            ),
            Cause::NoSuchHost if needs_etc_hosts(&name) => (
                "rem.registry-hosts-entry",
                nodes_of.iter().map(|n| format!("node/{n}")).collect(),
            ),
            Cause::X509Unknown => (
                "rem.containerd-ca-trust",
                nodes_of.iter().map(|n| format!("node/{n}")).collect(),
            ),
            Cause::X509IpSans => (
                "rem.registry-pull-host-ip",
                vec![format!("secret/registry/registry-internal-tls")],
            ),
            Cause::Refused => (
                "rem.image-pull-refused",
                nodes_of.iter().map(|n| format!("node/{n}")).collect(),
            ),
            Cause::Auth => (
                "rem.image-pull-auth",
                vec![format!("pod/{}/{}", lead.namespace, lead.pod)],
            ),
            Cause::ArchMismatch => (
                "rem.mixed-architecture",
                nodes_of.iter().map(|n| format!("node/{n}")).collect(),
            ),
            _ => (
                "rem.platform-image-pull",
                vec![match &lead.owner {
                    Some(d) => format!("deployment/{}/{d}", lead.namespace),
                    None => format!("pod/{}/{}", lead.namespace, lead.pod),
                }],
            ),
        };
        let arch = arch_of(&lead.node).unwrap_or_default();
        let other_arch: Vec<String> = nodes
            .iter()
            .filter(|n| node_label(n, "kubernetes.io/arch").is_some_and(|a| a != arch))
            .map(|n| node_name(n).to_string())
            .collect();
        let vars = Vars::from([
            ("nodes", crate::tls::cert::and_list(&nodes_of)),
            ("node", lead.node.clone()),
            ("image", lead.image.clone()),
            ("image_host", lead.host.clone()),
            ("name", name.clone()),
            ("address", "127.0.0.1".to_string()),
            ("namespace", lead.namespace.clone()),
            ("pod", lead.pod.clone()),
            (
                "deployment",
                lead.owner.clone().unwrap_or_else(|| lead.pod.clone()),
            ),
            // The pull secret setup was told to use, else the name setup gives the one it creates.
            (
                "secret",
                ctx.config
                    .value("platform_image_pull_secret")
                    .unwrap_or("mcp-runtime-registry-pull-creds")
                    .to_string(),
            ),
            ("why", lead.cause.phrase().to_string()),
            ("ca", "mcp-runtime-ca".to_string()),
            ("ca_file", NODE_CA_FILE.to_string()),
            (
                "fingerprint",
                registry
                    .ca
                    .as_ref()
                    .and_then(|ca| ca.fingerprints.first().cloned())
                    .unwrap_or_default(),
            ),
            ("pull_host", lead.host.clone()),
            (
                "registry_host",
                ctx.config
                    .public_hosts()
                    .registry
                    .map(|s| s.value)
                    .unwrap_or_else(|| "registry.<domain>".into()),
            ),
            // The architecture to keep: the other nodes', when this node is the odd one out.
            (
                "arch",
                if other_arch.is_empty() {
                    arch.clone()
                } else {
                    other_arch_label(&nodes, &other_arch)
                },
            ),
        ]);
        let message = failures
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let mut out = Outcome::fail(message)
            .detail("events_read", events_read)
            .detail(
                "failures",
                failures
                    .iter()
                    .map(|f| json!({"pod": format!("{}/{}", f.namespace, f.pod), "node": f.node, "image": f.image, "cause": format!("{:?}", f.cause)}))
                    .collect::<Vec<_>>(),
            )
            .remediate(remediation, ctx.distribution().await, &vars)
            .subjects(subjects);
        if (lead.cause.on_node() || lead.cause == Cause::Refused)
            && let Some(facts) = &facts
        {
            let failing: Vec<&HostFacts> = nodes_of.iter().filter_map(|n| facts.get(n)).collect();
            let ca = (lead.cause == Cause::X509Unknown).then(|| NODE_CA_FILE.to_string());
            let mut access: RegistryAccess = fix::access_for(
                &lead.host,
                &failing,
                facts,
                fix::registry_node_port(ctx).await,
                ca,
            );
            if lead.cause == Cause::X509Unknown {
                access.endpoint = format!("https://{}", lead.host);
            }
            out = out.snippet(fix::snippet(ctx, facts, &[access], &nodes_of).await);
        }
        out
    }
}

/// The architecture label the other nodes share (`amd64`), for the fix that keeps them.
fn other_arch_label(nodes: &[k8s_openapi::api::core::v1::Node], names: &[String]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in nodes
        .iter()
        .filter(|n| names.iter().any(|x| x == node_name(n)))
    {
        if let Some(a) = node_label(n, "kubernetes.io/arch") {
            *counts.entry(a).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, c)| *c)
        .map(|(a, _)| a.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_and_containerd_strings_are_classified() {
        let cases = [
            (
                "ErrImagePull",
                "failed to do request: Head \"https://registry.local:32000/v2/x/manifests/1\": http: server gave HTTP response to HTTPS client",
                Cause::HttpToHttps,
            ),
            (
                "ErrImagePull",
                "dial tcp: lookup registry.local: no such host",
                Cause::NoSuchHost,
            ),
            (
                "ImagePullBackOff",
                "dial tcp 10.43.39.164:5000: connect: connection refused",
                Cause::Refused,
            ),
            (
                "ErrImagePull",
                "pulling from host registry.example.com failed with status code [manifests v1]: 401 Unauthorized",
                Cause::Auth,
            ),
            (
                "ErrImagePull",
                "tls: failed to verify certificate: x509: certificate signed by unknown authority",
                Cause::X509Unknown,
            ),
            (
                "ErrImagePull",
                "x509: cannot validate certificate for 10.43.12.34 because it doesn't contain any IP SANs",
                Cause::X509IpSans,
            ),
            (
                "ErrImagePull",
                "registry.example.com/op:v0.9.3: not found",
                Cause::NotFound,
            ),
            (
                "CrashLoopBackOff",
                "StartError exec: \"/manager\": exec format error: unknown",
                Cause::ArchMismatch,
            ),
            (
                "InvalidImageName",
                "couldn't parse image name \"Registry.local/X\"",
                Cause::InvalidName,
            ),
        ];
        for (reason, text, want) in cases {
            assert_eq!(Cause::of(reason, text), want, "{text}");
        }
    }
}
