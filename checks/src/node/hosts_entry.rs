use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use mcp_doctor_remediations::{RegistryAccess, Vars};

use crate::check::{Check, Context};
use crate::containerd::config::{K3S_REGISTRIES, NodeFacts};
use crate::containerd::fix::{self, needs_etc_hosts};
use crate::containerd::reference::{self, ImageRef, split_port};
use crate::containerd::simulate::{ClientFlags, plan};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};
use crate::platform::platform_images;
use crate::tls::cert::and_list;

declare_check! {
    /// ### What it checks
    /// On the dev registry path, every registry name containerd on a node dials and that only `/etc/hosts`
    /// can resolve (`registry.local`, any `*.local`, `*.svc.cluster.local`: the node's resolver is not
    /// CoreDNS) is in that node's `/etc/hosts`. The names are: the first host containerd tries for each
    /// image the platform and its MCP servers use (after that node's mirrors, as `containerd.mirror-match`
    /// simulates them; the configured `MCP_REGISTRY_ENDPOINT` / `MCP_REGISTRY_HOST` counts as one), and the
    /// mirror endpoints in the node's `registries.yaml`. In-cluster service names (`*.svc.cluster.local`) are
    /// `containerd.mirror-match`'s: their fix is a mirror, not a hosts line. Node facts carry no DNS answers, so public names
    /// are left to the `dns.*` checks; a node whose `/etc/hosts` was not collected is a warning, never a pass.
    ///
    /// ### Why it matters
    /// The kubelet pulls through the node's own resolver, not CoreDNS. The seed's dev path maps
    /// `registry.local` to 127.0.0.1 on every node; a node without the line fails every pull scheduled on it
    /// with `dial tcp: lookup registry.local: no such host`, and only the pods that land there break.
    ///
    /// ### What a failure looks like
    /// `node mcp-worker-2 cannot resolve registry.local: its /etc/hosts has no registry.local line (containerd
    /// dials http://registry.local:32000/v2 for registry.local:32000/mcp-servers/weather:0.3.2); mcp-cp-1,
    /// mcp-ingress-1 and mcp-worker-1 map it to 127.0.0.1`
    ///
    /// ### How to fix
    /// Add the line on the listed nodes (remediation `rem.registry-hosts-entry`, with the generated snippet for
    /// the distribution): `127.0.0.1 registry.local`, or point the mirror at `http://127.0.0.1:<NodePort>` so no
    /// name has to resolve.
    pub struct NodeHostsEntry {
        id: "node.hosts-entry",
        title: "Each node resolves the dev registry name",
        category: "node",
        modes: Both,
        depends_on: [],
        reads: [kinds::NAMESPACES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::DEPLOYMENTS, kinds::PODS, kinds::MCP_SERVERS, kinds::SERVICES],
        read_scope: PlatformNamespaces,
    }
}

/// Why a node needs a name: what containerd dials it for.
type Needs = BTreeMap<String, String>;

/// The names only `/etc/hosts` resolves that containerd on this node dials, each with the reason. In-cluster
/// service names (`*.svc.cluster.local`) are left out: their documented fix is a mirror to the NodePort
/// (`containerd.mirror-match`), not a hosts line.
fn needed_names(n: &NodeFacts, images: &BTreeMap<String, ImageRef>) -> Needs {
    let mut out = Needs::new();
    let mut need = |name: &str, why: String| {
        let name = name.to_ascii_lowercase();
        if needs_etc_hosts(&name) && !name.ends_with(".svc.cluster.local") {
            out.entry(name).or_insert(why);
        }
    };
    for r in images.values() {
        let p = plan(
            &n.effective,
            n.containerd_version,
            r,
            &ClientFlags::default(),
        );
        if let Some(ep) = p.endpoints.first() {
            need(
                split_port(&ep.host).0,
                format!("containerd dials {} for {r}", ep.url()),
            );
        }
    }
    if let Some(reg) = &n.registries_yaml {
        for (key, m) in &reg.mirrors {
            for ep in &m.endpoint {
                let rest = ep.split_once("://").map(|(_, r)| r).unwrap_or(ep);
                let host = rest.split('/').next().unwrap_or(rest);
                need(
                    split_port(host).0,
                    format!("{K3S_REGISTRIES} mirrors \"{key}\" to {ep}"),
                );
            }
        }
    }
    out
}

struct Missing {
    node: String,
    name: String,
    why: String,
}

#[async_trait]
impl Check for NodeHostsEntry {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = match crate::facts::host_facts_to_judge(ctx).await {
            Ok(hosts) => hosts,
            Err(outcome) => return outcome,
        };
        let images: BTreeMap<String, ImageRef> = match platform_images(ctx).await {
            Ok(raw) => raw
                .iter()
                .filter_map(|i| reference::parse(i).ok())
                .map(|r| (r.domain.clone(), r))
                .collect(),
            Err(o) => return o,
        };
        // The configured registry host is pulled like an image host.
        let mut images = images;
        for v in ["registry_endpoint", "registry_host"]
            .iter()
            .filter_map(|k| ctx.config.value(k))
        {
            let host = crate::config::registry_url::RegistryAddress::parse(v).host_port();
            if let Ok(r) = reference::parse(&format!("{host}/mcp-runtime-operator:latest")) {
                images.entry(r.domain.clone()).or_insert(r);
            }
        }
        let mut missing = Vec::new();
        let mut uncollected = Vec::new();
        let mut checked = BTreeSet::new();
        for (node, facts) in hosts.iter() {
            let needs = needed_names(&NodeFacts::from_host(facts), &images);
            if needs.is_empty() {
                continue;
            }
            if !facts.has_etc_hosts() {
                uncollected.push(node.clone());
                continue;
            }
            let mapped = facts.etc_hosts();
            for (name, why) in needs {
                checked.insert(name.clone());
                if !mapped.contains_key(&name) {
                    missing.push(Missing {
                        node: node.clone(),
                        name,
                        why,
                    });
                }
            }
        }
        let Some(lead) = missing.first() else {
            if !uncollected.is_empty() {
                return Outcome::warn(format!(
                    "cannot tell whether {} resolve the registry name: their /etc/hosts was not collected",
                    and_list(&uncollected)
                ))
                .remediate("rem.collect-host-facts", ctx.distribution().await, &Vars::new())
                .subjects(uncollected.iter().map(|n| format!("node/{n}")));
            }
            if checked.is_empty() {
                return Outcome::skip(
                    "no registry name that only /etc/hosts resolves is used (no registry.local or other .local \
                     host in the images, mirrors or configuration); public names are the dns.* checks' job",
                );
            }
            let names: Vec<String> = checked.into_iter().collect();
            return Outcome::pass(format!(
                "every node maps {} in /etc/hosts",
                and_list(&names)
            ));
        };
        let nodes: Vec<String> = missing
            .iter()
            .filter(|m| m.name == lead.name)
            .map(|m| m.node.clone())
            .collect();
        let having: Vec<String> = hosts
            .iter()
            .filter(|(_, f)| f.etc_hosts().contains_key(&lead.name))
            .map(|(n, f)| format!("{n} ({})", f.etc_hosts()[&lead.name].join(", ")))
            .collect();
        let address = hosts
            .values()
            .find_map(|f| f.etc_hosts().get(&lead.name)?.first().cloned())
            .unwrap_or_else(|| "127.0.0.1".into());
        let message = missing
            .iter()
            .map(|m| {
                format!(
                    "node {} cannot resolve {}: its /etc/hosts has no {} line ({}); pulls there fail with \
                     `dial tcp: lookup {}: no such host`",
                    m.node, m.name, m.name, m.why, m.name
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let message = if having.is_empty() {
            message
        } else {
            format!("{message}; {} map it", and_list(&having))
        };
        let image_host = images
            .keys()
            .find(|h| split_port(h).0 == lead.name)
            .cloned()
            .unwrap_or_else(|| lead.name.clone());
        let endpoint = if fix::plain_http(&image_host) {
            format!("http://{image_host}")
        } else {
            format!("https://{image_host}")
        };
        let access = RegistryAccess {
            host: image_host,
            endpoint,
            ca_file: None,
            hosts_line: Some((address.clone(), lead.name.clone())),
        };
        let vars = Vars::from([
            ("nodes", and_list(&nodes)),
            ("name", lead.name.clone()),
            ("address", address),
        ]);
        Outcome::fail(message)
            .remediate("rem.registry-hosts-entry", ctx.distribution().await, &vars)
            .snippet(fix::snippet(ctx, &hosts, &[access], &nodes).await)
            .subjects(missing.iter().map(|m| format!("node/{}", m.node)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::test_support::{Case, expect, facts_with_files};

    const MIRROR: &str = "mirrors:\n  \"registry.local:32000\":\n    endpoint:\n      - \"http://registry.local:32000\"\n";

    fn case(worker_hosts: &str) -> Case {
        Case::new()
            .no_workloads()
            .file(
                "host/mcp-cp-1.json",
                facts_with_files(
                    "mcp-cp-1",
                    &[
                        (K3S_REGISTRIES, MIRROR),
                        ("/etc/hosts", "127.0.0.1 localhost registry.local\n"),
                    ],
                )
                .to_string(),
            )
            .file(
                "host/mcp-worker-2.json",
                facts_with_files(
                    "mcp-worker-2",
                    &[(K3S_REGISTRIES, MIRROR), ("/etc/hosts", worker_hosts)],
                )
                .to_string(),
            )
    }

    #[tokio::test]
    async fn a_node_without_the_line_fails_and_gets_it() {
        let o = case("127.0.0.1 localhost\n").run(&NodeHostsEntry).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "node mcp-worker-2 cannot resolve registry.local",
                "mcp-cp-1 (127.0.0.1) map it",
            ],
        );
        assert_eq!(rem, "rem.registry-hosts-entry");
        let snippet = o.remediation.unwrap().snippet.unwrap();
        assert!(snippet.contains("127.0.0.1 registry.local"), "{snippet}");
        assert_eq!(o.subjects, ["node/mcp-worker-2"]);
    }

    #[tokio::test]
    async fn every_node_with_the_line_passes() {
        let o = case("127.0.0.1 localhost\n10.0.0.32 registry.local # lab\n")
            .run(&NodeHostsEntry)
            .await;
        expect(&o, Status::Pass, &["registry.local"]);
    }
}
