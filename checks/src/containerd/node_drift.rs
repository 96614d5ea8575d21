use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Node, Taint, Toleration};
use mcp_doctor_remediations::Vars;

use super::config::NodeFacts;
use super::fix::{self, needs_etc_hosts};
use super::reference::{self, split_port};
use super::simulate::{ClientFlags, Scheme, plan};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::host::HostFacts;
use crate::evidence::kinds;
use crate::facts::{node_condition, node_name};
use crate::model::{CheckMeta, Outcome};
use crate::platform::platform_workloads;
use crate::tls::cert::and_list;

declare_check! {
    /// ### What it checks
    /// Among the nodes that can schedule platform pods (Ready, not cordoned, and every `NoSchedule` /
    /// `NoExecute` taint tolerated by the platform Deployments' pod templates), the registry configuration is
    /// the same: for every registry host in play (the platform's image hosts, the configured registry, and
    /// every mirror key on any node) the endpoints containerd would try with their TLS settings and CA
    /// fingerprints (as `containerd.mirror-match` simulates them), and the `/etc/hosts` address of each name
    /// only `/etc/hosts` resolves. Nodes without facts are named as not compared (a warning).
    ///
    /// ### Why it matters
    /// "Registry fixes must apply to every node pool that can schedule MCP Runtime pods." One node without the
    /// mirror, the CA or the hosts line makes exactly the pods scheduled there fail, which looks random and
    /// survives every retry that lands elsewhere.
    ///
    /// ### What a failure looks like
    /// `mcp-worker-2 has no mirror for registry.local:32000; mcp-cp-1, mcp-ingress-1 and mcp-worker-1 send it
    /// to http://registry.local:32000/v2`
    ///
    /// ### How to fix
    /// Give the odd nodes what the others have (the remediation of the differing part, with the generated
    /// snippet: `rem.containerd-mirror`, `rem.registry-hosts-entry` or `rem.containerd-ca-trust`), or keep
    /// platform pods off them with a taint.
    pub struct ContainerdNodeDrift {
        id: "containerd.node-drift",
        title: "Every node that runs platform pods has the same registry configuration",
        category: "node",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NODES, kinds::NAMESPACES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::DEPLOYMENTS, kinds::PODS, kinds::MCP_SERVERS, kinds::SERVICES],
        read_scope: PlatformNamespaces,
    }
}

fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect_ok = t
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == taint.effect);
    let key_ok = match t.key.as_deref() {
        None | Some("") => t.operator.as_deref() == Some("Exists"),
        Some(k) => {
            k == taint.key
                && match t.operator.as_deref() {
                    Some("Exists") => true,
                    _ => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
                }
        }
    };
    effect_ok && key_ok
}

/// Why a node cannot run platform pods; None when it can.
fn not_eligible(node: &Node, tolerations: &[Toleration]) -> Option<String> {
    if node_condition(node, "Ready").is_none_or(|c| c.status != "True") {
        return Some("not Ready".into());
    }
    let spec = node.spec.as_ref();
    if spec.and_then(|s| s.unschedulable).unwrap_or(false) {
        return Some("cordoned".into());
    }
    spec.and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .find(|t| {
            matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")
                && !tolerations.iter().any(|tol| tolerates(tol, t))
        })
        .map(|t| format!("tainted {}:{} (not tolerated)", t.key, t.effect))
}

/// One comparable part of a node's registry configuration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Aspect {
    Mirror(String),
    HostsEntry(String),
}

impl Aspect {
    fn remediation(&self, ca_differs: bool) -> &'static str {
        match self {
            Aspect::HostsEntry(_) => "rem.registry-hosts-entry",
            Aspect::Mirror(_) if ca_differs => "rem.containerd-ca-trust",
            Aspect::Mirror(_) => "rem.containerd-mirror",
        }
    }
}

/// The node's value for each aspect: the endpoints (with TLS settings and CA fingerprints) per registry
/// host, and the `/etc/hosts` addresses per name only `/etc/hosts` resolves.
fn profile(facts: &HostFacts, hosts: &BTreeSet<String>) -> BTreeMap<Aspect, String> {
    let n = NodeFacts::from_host(facts);
    let mapped = facts.etc_hosts();
    let mut out = BTreeMap::new();
    for host in hosts {
        let Ok(r) = reference::parse(&format!("{host}/mcp-doctor/drift-probe:latest")) else {
            continue;
        };
        let p = plan(
            &n.effective,
            n.containerd_version,
            &r,
            &ClientFlags::default(),
        );
        let endpoints: Vec<String> = p
            .endpoints
            .iter()
            // The registry's own HTTPS upstream, tried last anyway, is not configuration unless it carries TLS
            // settings.
            .filter(|e| {
                e.source != "default"
                    && (e.mirror || e.scheme == Scheme::Http || e.skip_verify || !e.ca.is_empty())
            })
            .map(|e| {
                let mut s = e.url();
                if e.skip_verify {
                    s.push_str(" (skip_verify)");
                }
                for ca in &e.ca {
                    let fp = facts.files.get(ca).and_then(|f| f.sha256.first().cloned());
                    s.push_str(&format!(" (ca {})", fp.unwrap_or_else(|| ca.clone())));
                }
                s
            })
            .collect();
        out.insert(Aspect::Mirror(host.clone()), endpoints.join(", "));
        let name = split_port(host).0.to_string();
        if needs_etc_hosts(&name) {
            let addrs = mapped.get(&name).map(|a| a.join(", ")).unwrap_or_default();
            out.insert(Aspect::HostsEntry(name), addrs);
        }
    }
    out
}

fn describe(aspect: &Aspect, value: &str) -> String {
    match (aspect, value.is_empty()) {
        (Aspect::Mirror(h), true) => format!("no mirror for {h}"),
        (Aspect::Mirror(h), false) => format!("{h} sent to {value}"),
        (Aspect::HostsEntry(n), true) => format!("no /etc/hosts line for {n}"),
        (Aspect::HostsEntry(n), false) => format!("{n} mapped to {value} in /etc/hosts"),
    }
}

#[async_trait]
impl Check for ContainerdNodeDrift {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let facts = match crate::facts::host_facts_to_judge(ctx).await {
            Ok(hosts) => hosts,
            Err(outcome) => return outcome,
        };
        let nodes = match crate::facts::nodes_to_judge(ctx).await {
            Ok(n) => n,
            Err(o) => return o,
        };
        let workloads = match platform_workloads(ctx).await {
            Ok(w) => w,
            Err(o) => return o,
        };
        let tolerations: Vec<Toleration> = workloads
            .iter()
            .filter(|w| w.kind == kinds::DEPLOYMENTS.kind)
            .flat_map(|d| {
                d.pod_spec
                    .get("tolerations")
                    .cloned()
                    .and_then(|t| serde_json::from_value::<Vec<Toleration>>(t).ok())
                    .unwrap_or_default()
            })
            .collect();
        let images: Vec<&String> = workloads.iter().flat_map(|w| &w.images).collect();
        let mut registry_hosts: BTreeSet<String> = images
            .iter()
            .filter_map(|i| reference::parse(i).ok())
            .map(|r| r.domain)
            .collect();
        for k in ["registry_endpoint", "registry_host"] {
            if let Some(v) = ctx.config.value(k) {
                registry_hosts
                    .insert(crate::config::registry_url::RegistryAddress::parse(v).host_port());
            }
        }
        for f in facts.values() {
            if let Some(reg) = NodeFacts::from_host(f).registries_yaml {
                registry_hosts.extend(
                    reg.mirrors
                        .into_keys()
                        .filter(|k| k != "*" && !k.contains("://")),
                );
            }
        }
        let mut eligible = Vec::new();
        let mut excluded = Vec::new();
        let mut without_facts = Vec::new();
        for n in nodes.iter() {
            let name = node_name(n).to_string();
            match not_eligible(n, &tolerations) {
                Some(why) => excluded.push(format!("{name} ({why})")),
                None if facts.contains_key(&name) => eligible.push(name),
                None => without_facts.push(name),
            }
        }
        let profiles: BTreeMap<&String, BTreeMap<Aspect, String>> = eligible
            .iter()
            .map(|n| (n, profile(&facts[n], &registry_hosts)))
            .collect();
        let aspects: BTreeSet<&Aspect> = profiles.values().flat_map(|p| p.keys()).collect();
        let mut differences = Vec::new();
        for aspect in aspects {
            let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (node, p) in &profiles {
                groups
                    .entry(p.get(aspect).cloned().unwrap_or_default())
                    .or_default()
                    .push((*node).clone());
            }
            if groups.len() < 2 {
                continue;
            }
            // The configuration most nodes share is the reference (on a tie, the configured one).
            let (reference_value, reference_nodes) = groups
                .iter()
                .max_by_key(|(v, ns)| (ns.len(), !v.is_empty()))
                .map(|(v, ns)| (v.clone(), ns.clone()))
                .unwrap_or_default();
            let odd: Vec<(String, Vec<String>)> = groups
                .into_iter()
                .filter(|(v, _)| *v != reference_value)
                .collect();
            differences.push((aspect.clone(), reference_value, reference_nodes, odd));
        }
        let Some((aspect, reference_value, reference_nodes, odd)) = differences.first() else {
            let mut o = Outcome::pass(format!(
                "the {} node(s) that can run platform pods ({}) share one registry configuration for {}",
                eligible.len(),
                and_list(&eligible),
                and_list(&registry_hosts.iter().cloned().collect::<Vec<_>>())
            ))
            .detail("excluded", &excluded);
            if !without_facts.is_empty() {
                o = Outcome::warn(format!(
                    "{} can run platform pods but have no node facts to compare",
                    and_list(&without_facts)
                ))
                .detail("excluded", &excluded)
                .remediate(
                    "rem.collect-host-facts",
                    ctx.distribution().await,
                    &Vars::new(),
                )
                .subjects(without_facts.iter().map(|n| format!("node/{n}")));
            }
            return o;
        };
        let message = differences
            .iter()
            .map(|(a, rv, rn, odd)| {
                let odd_text = odd
                    .iter()
                    .map(|(v, ns)| {
                        format!(
                            "{} {} {}",
                            and_list(ns),
                            if ns.len() == 1 { "has" } else { "have" },
                            describe(a, v)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                format!(
                    "{odd_text}; {} {} {}",
                    and_list(rn),
                    if rn.len() == 1 { "has" } else { "have" },
                    describe(a, rv)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let odd_nodes: Vec<String> = odd.iter().flat_map(|(_, ns)| ns.clone()).collect();
        let ca_differs = odd.iter().any(|(v, _)| {
            let strip = |s: &str| s.split(" (ca ").next().unwrap_or(s).to_string();
            strip(v) == strip(reference_value)
        });
        // The fix: what the reference nodes have, for the odd ones.
        let access = match aspect {
            Aspect::Mirror(host) | Aspect::HostsEntry(host) => {
                let host = registry_hosts
                    .iter()
                    .find(|h| split_port(h).0 == host.as_str() || *h == host)
                    .cloned()
                    .unwrap_or_else(|| host.clone());
                let endpoint = reference_value
                    .split(", ")
                    .next()
                    .and_then(|e| e.split(' ').next())
                    .filter(|e| !e.is_empty())
                    .map(|e| e.trim_end_matches("/v2").to_string());
                let reference_facts: Vec<&HostFacts> = reference_nodes
                    .iter()
                    .filter_map(|n| facts.get(n))
                    .collect();
                let mut a = fix::access_for(&host, &reference_facts, &facts, None, None);
                if let (Aspect::Mirror(_), Some(e)) = (aspect, endpoint) {
                    a.endpoint = e;
                }
                if let Aspect::HostsEntry(name) = aspect
                    && !reference_value.is_empty()
                {
                    a.hosts_line = Some((
                        reference_value
                            .split(", ")
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                        name.clone(),
                    ));
                }
                if ca_differs {
                    a.ca_file = Some(fix::NODE_CA_FILE.into());
                }
                a
            }
        };
        let vars = Vars::from([
            ("nodes", and_list(&odd_nodes)),
            ("node", odd_nodes.first().cloned().unwrap_or_default()),
            ("image_host", access.host.clone()),
            ("image", access.host.clone()),
            ("name", split_port(&access.host).0.to_string()),
            (
                "address",
                access
                    .hosts_line
                    .as_ref()
                    .map(|(a, _)| a.clone())
                    .unwrap_or_default(),
            ),
            ("why", message.clone()),
            ("ca", "mcp-runtime-ca".into()),
            ("ca_file", fix::NODE_CA_FILE.into()),
        ]);
        // Nodes whose registries.yaml already holds the entry k3s has not rendered since the edit: restarting
        // k3s is the fix (containerd.config-valid's finding), not another snippet.
        let not_restarted = matches!(aspect, Aspect::Mirror(_))
            && odd_nodes.iter().all(|n| {
                facts.get(n).is_some_and(|f| {
                    NodeFacts::from_host(f)
                        .stale_render_of(&access.host)
                        .is_some()
                })
            });
        let outcome = Outcome::fail(message)
            .detail("excluded", &excluded)
            .detail("without_facts", &without_facts)
            .subjects(odd_nodes.iter().map(|n| format!("node/{n}")));
        if not_restarted {
            return outcome.remediate("rem.containerd-config", ctx.distribution().await, &vars);
        }
        let snippet = fix::snippet(ctx, &facts, &[access], &odd_nodes).await;
        outcome
            .remediate(
                aspect.remediation(ca_differs),
                ctx.distribution().await,
                &vars,
            )
            .snippet(snippet)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::test_support::node;

    fn typed(v: Value) -> Node {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn cordoned_not_ready_and_untolerated_taints_are_not_eligible() {
        assert_eq!(not_eligible(&typed(node("mcp-worker-1")), &[]), None);
        let mut cordoned = node("mcp-worker-2");
        cordoned["spec"]["unschedulable"] = true.into();
        assert_eq!(
            not_eligible(&typed(cordoned), &[]).as_deref(),
            Some("cordoned")
        );
        let mut tainted = node("gpu-1");
        tainted["spec"]["taints"] =
            serde_json::json!([{"key": "gpu", "value": "true", "effect": "NoSchedule"}]);
        let tainted = typed(tainted);
        assert_eq!(
            not_eligible(&tainted, &[]).as_deref(),
            Some("tainted gpu:NoSchedule (not tolerated)")
        );
        let tolerate = Toleration {
            key: Some("gpu".into()),
            operator: Some("Exists".into()),
            ..Toleration::default()
        };
        assert_eq!(not_eligible(&tainted, &[tolerate]), None);
    }
}
