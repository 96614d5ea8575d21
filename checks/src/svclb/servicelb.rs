//! k3s ServiceLB's rules, as k3s implements them (`pkg/cloudprovider/servicelb.go`), and the findings the
//! `svclb.*` and `ingress.*` checks share, so two checks about the same cause point to the same remediation
//! about the same subjects (and the report shows one root cause).
//!
//! - For every Service of type LoadBalancer (without a `loadBalancerClass`) ServiceLB applies a DaemonSet
//!   `svclb-<service>-<first 8 chars of the Service uid>` in its namespace (`kube-system` by default, since
//!   k3s v1.24.3 / PR #5657; before that, `svclb-<service>` in the Service's own namespace). Its pods carry
//!   `svccontroller.k3s.cattle.io/svcname` and `.../svcnamespace`, one container `lb-<proto>-<port>` per
//!   Service port, each with `hostPort` = the Service port.
//! - If any node carries the label key `svccontroller.k3s.cattle.io/enablelb` (whatever its value), the
//!   DaemonSet gets `nodeSelector: enablelb=true` and the DaemonSet label `.../nodeselector=true`: only
//!   nodes labelled `true` run svclb pods. Otherwise every node does.
//! - `status.loadBalancer.ingress` lists the nodes that run a Ready svclb pod: their ExternalIPs when at
//!   least one of those nodes has one, otherwise their InternalIPs (filtered by the Service's IP families).
//! - A host port already taken on a node (another pod's `hostPort`, e.g. a second LoadBalancer on 80,
//!   k3s #1969) leaves that node's svclb pod Pending with the scheduler's
//!   `didn't have free ports for the requested pod ports` (k3s #2270), and the node is not advertised.
//! - `--disable servicelb` (or `--disable-cloud-controller`) on the server: no DaemonSets, and the Service
//!   stays `<pending>` unless another provider (MetalLB, kube-vip, a cloud) serves it.

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use mcp_doctor_remediations::Vars;

use crate::check::Context;
use crate::facts::{self, PUBLIC_INGRESS_LABELS, is_public_ingress, node_label, node_name};
use crate::ingress::traefik::{lb_ingress, service_name, service_ref};
use crate::model::{Outcome, Status};

pub const ENABLELB: &str = "svccontroller.k3s.cattle.io/enablelb";
pub const SVCNAME: &str = "svccontroller.k3s.cattle.io/svcname";
pub const SVCNAMESPACE: &str = "svccontroller.k3s.cattle.io/svcnamespace";
/// The k3s annotation that records a node's k3s arguments (a JSON array of strings).
pub const NODE_ARGS: &str = "k3s.io/node-args";

/// `enablelb`'s value on a node, when the label is there.
pub fn enablelb(node: &Node) -> Option<&str> {
    node_label(node, ENABLELB)
}

/// Whether ServiceLB restricts itself to `enablelb=true` nodes: any node carries the label key.
pub fn selector_on(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| enablelb(n).is_some())
}

/// Whether ServiceLB runs its pods on this node.
pub fn eligible(node: &Node, selector_on: bool) -> bool {
    !selector_on || enablelb(node) == Some("true")
}

/// The nodes that should answer on 80/443: those labelled public ingress, else those with `enablelb=true`.
pub fn designated(nodes: &[Node]) -> Vec<&Node> {
    let public: Vec<&Node> = nodes.iter().filter(|n| is_public_ingress(n)).collect();
    if !public.is_empty() {
        return public;
    }
    nodes
        .iter()
        .filter(|n| enablelb(n) == Some("true"))
        .collect()
}

/// `[enablelb=true, public ingress]`: the labels that decide a node's role.
pub fn describe_labels(node: &Node) -> String {
    let mut parts = vec![match enablelb(node) {
        Some(v) => format!("enablelb={v}"),
        None => "no enablelb label".to_string(),
    }];
    let public: Vec<&str> = PUBLIC_INGRESS_LABELS
        .iter()
        .copied()
        .filter(|k| node_label(node, k) == Some("true"))
        .collect();
    match public.len() {
        0 => {}
        2 => parts.push("public ingress".into()),
        _ => parts.push(format!("{}=true only", public[0])),
    }
    format!("[{}]", parts.join(", "))
}

/// The k3s server node whose recorded arguments (`k3s.io/node-args`) disable a packaged component
/// (`--disable traefik`, `--disable=servicelb`, `--disable traefik,servicelb`, the older `--no-deploy`), and
/// the argument as `--disable <component>`.
pub fn k3s_disables(nodes: &[Node], component: &str) -> Option<(String, String)> {
    nodes.iter().find_map(|node| {
        let raw = node.metadata.annotations.as_ref()?.get(NODE_ARGS)?;
        let args: Vec<String> = serde_json::from_str(raw).ok()?;
        let hit = args.iter().enumerate().any(|(i, arg)| {
            let value = match arg.as_str() {
                "--disable" | "--no-deploy" => args.get(i + 1).map(String::as_str),
                a => a
                    .strip_prefix("--disable=")
                    .or_else(|| a.strip_prefix("--no-deploy=")),
            };
            value.is_some_and(|v| v.split(',').any(|x| x.trim() == component))
        });
        hit.then(|| {
            (
                node_name(node).to_string(),
                format!("--disable {component}"),
            )
        })
    })
}

/// The k3s server node whose arguments disable ServiceLB (`--disable servicelb`, or
/// `--disable-cloud-controller`, which also stops ServiceLB), and that argument.
pub fn disabled_by(nodes: &[Node]) -> Option<(String, String)> {
    k3s_disables(nodes, "servicelb").or_else(|| {
        nodes.iter().find_map(|node| {
            let raw = node.metadata.annotations.as_ref()?.get(NODE_ARGS)?;
            let args: Vec<String> = serde_json::from_str(raw).ok()?;
            args.iter()
                .any(|a| a == "--disable-cloud-controller")
                .then(|| {
                    (
                        node_name(node).to_string(),
                        "--disable-cloud-controller".to_string(),
                    )
                })
        })
    })
}

/// One node address as `(type, address)`.
pub fn addresses(node: &Node) -> Vec<(String, String)> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == "ExternalIP" || a.type_ == "InternalIP")
        .map(|a| (a.type_.clone(), a.address.clone()))
        .collect()
}

/// A svclb pod, read the way `kubectl describe` shows it.
#[derive(Debug, Clone)]
pub struct LbPod<'a> {
    pub pod: &'a Pod,
    pub namespace: String,
    pub name: String,
    /// `spec.nodeName`, or for a pod the scheduler could not place, the node its DaemonSet made it for.
    pub node: Option<String>,
    pub phase: String,
    pub ready: bool,
    pub host_ports: Vec<i32>,
    /// The `PodScheduled=False` message (`0/4 nodes are available: 1 node(s) didn't have free ports ...`).
    pub unscheduled: Option<String>,
}

impl LbPod<'_> {
    /// `pod/<ns>/<name>`.
    pub fn reference(&self) -> String {
        format!("pod/{}/{}", self.namespace, self.name)
    }

    /// Running and Ready: this node answers.
    pub fn answers(&self) -> bool {
        self.phase == "Running" && self.ready
    }

    pub fn ports_text(&self) -> String {
        join_ports(&self.host_ports)
    }
}

fn join_ports(ports: &[i32]) -> String {
    ports
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn host_ports(pod: &Pod) -> Vec<i32> {
    let mut ports: Vec<i32> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| p.host_port)
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

/// The node a DaemonSet pod is for: `spec.nodeName`, else its `matchFields metadata.name` affinity.
fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = &spec.node_name {
        return Some(n.clone());
    }
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|f| f.key == "metadata.name")
        .and_then(|f| f.values.as_ref()?.first().cloned())
}

fn read_pod(pod: &Pod) -> LbPod<'_> {
    let status = pod.status.as_ref();
    let conditions = status.and_then(|s| s.conditions.as_ref());
    let ready = conditions
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let unscheduled = conditions
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        .map(|c| {
            c.message
                .clone()
                .or_else(|| c.reason.clone())
                .unwrap_or_default()
        });
    LbPod {
        pod,
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        node: target_node(pod),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".into()),
        ready,
        host_ports: host_ports(pod),
        unscheduled,
    }
}

/// Whether ServiceLB's reasoning can involve this pod: an svclb pod (of any Service), or a pod holding a
/// host port, which can keep an svclb pod from its node. [`lb_pods`] and [`port_holders`] look at no other.
pub fn involves_servicelb(pod: &Pod) -> bool {
    pod.metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(SVCNAME))
        || !host_ports(pod).is_empty()
}

/// The svclb pods serving a Service: labelled with its name and namespace (or, before k3s moved them to
/// kube-system, with its name in its own namespace).
pub fn lb_pods<'a>(pods: &'a [Pod], svc: &Service) -> Vec<LbPod<'a>> {
    let name = svc.metadata.name.as_deref().unwrap_or("");
    let namespace = svc.metadata.namespace.as_deref().unwrap_or("default");
    let mut out: Vec<LbPod> = pods
        .iter()
        .filter(|p| {
            let labels = p.metadata.labels.as_ref();
            let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
            label(SVCNAME) == Some(name)
                && match label(SVCNAMESPACE) {
                    Some(ns) => ns == namespace,
                    None => p.metadata.namespace.as_deref() == Some(namespace),
                }
        })
        .map(read_pod)
        .collect();
    out.sort_by(|a, b| (&a.node, &a.name).cmp(&(&b.node, &b.name)));
    out
}

/// The addresses k3s advertises for these pods: the ExternalIPs of the nodes running a Ready svclb pod
/// when any of them has one, else their InternalIPs; sorted.
pub fn advertised(nodes: &[Node], pods: &[LbPod]) -> Vec<String> {
    let answering: BTreeSet<&str> = pods
        .iter()
        .filter(|p| p.answers())
        .filter_map(|p| p.node.as_deref())
        .collect();
    let mut external = Vec::new();
    let mut internal = Vec::new();
    for node in nodes.iter().filter(|n| answering.contains(node_name(n))) {
        for (t, a) in addresses(node) {
            if t == "ExternalIP" {
                external.push(a);
            } else {
                internal.push(a);
            }
        }
    }
    let mut ips = if external.is_empty() {
        internal
    } else {
        external
    };
    ips.sort();
    ips.dedup();
    ips
}

/// Node by node: the labels, the svclb pod and its phase and host ports, and what answers where, e.g.
/// `mcp-ingress-1 [enablelb=true, public ingress]: svclb-traefik-4c5e2f1a-lz6tk Running, host ports 80/443,
/// answers on 10.0.0.21, 203.0.113.10`.
pub fn node_lines(nodes: &[Node], pods: &[LbPod], conflicts: &[Pod]) -> Vec<String> {
    node_states(nodes, pods, conflicts)
        .into_iter()
        .map(|(name, state)| format!("{name} {state}"))
        .collect()
}

/// [`node_lines`] for a one-line message: nodes in the same state share a line
/// (`mcp-cp-1, mcp-worker-1 [no enablelb label]: no svclb pod (...), nothing on 80/443`), so a 5,000-node
/// cluster whose ServiceLB is pinned to one node takes two lines. Each line names its first node, and the
/// lines name ten between them (a message shows at most ten lines), counting the rest.
pub fn node_lines_grouped(nodes: &[Node], pods: &[LbPod], conflicts: &[Pod]) -> Vec<String> {
    // In the order each state first appears; the index keeps grouping linear in the nodes.
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (name, state) in node_states(nodes, pods, conflicts) {
        match index.get(&state) {
            Some(&i) => groups[i].1.push(name),
            None => {
                index.insert(state.clone(), groups.len());
                groups.push((state, vec![name]));
            }
        }
    }
    // Each line names its first node; the rest of the ten go to the lines in order.
    let mut spare = facts::LISTED_IN_A_MESSAGE.saturating_sub(groups.len());
    groups
        .into_iter()
        .map(|(state, names)| {
            let more = spare.min(names.len() - 1);
            spare -= more;
            format!("{} {state}", facts::listed_at_most(&names, ", ", 1 + more))
        })
        .collect()
}

/// Each node's name and its ServiceLB state: labels, svclb pods, what answers on 80/443.
fn node_states<'a>(nodes: &'a [Node], pods: &[LbPod], conflicts: &[Pod]) -> Vec<(&'a str, String)> {
    let selector = selector_on(nodes);
    nodes
        .iter()
        .map(|node| {
            let name = node_name(node);
            let labels = describe_labels(node);
            let here: Vec<&LbPod> = pods
                .iter()
                .filter(|p| p.node.as_deref() == Some(name))
                .collect();
            if here.is_empty() {
                let why = if eligible(node, selector) {
                    "eligible, but ServiceLB made none"
                } else {
                    "not eligible: enablelb=true is set on other nodes"
                };
                return (
                    name,
                    format!("{labels}: no svclb pod ({why}), nothing on 80/443"),
                );
            }
            let addrs: Vec<String> = addresses(node).into_iter().map(|(_, a)| a).collect();
            let pods_text: Vec<String> = here
                .iter()
                .map(|p| {
                    if p.answers() {
                        format!(
                            "{} Running, host ports {}, answers on {}",
                            p.name,
                            p.ports_text(),
                            addrs.join(", ")
                        )
                    } else {
                        let why = pending_reason(p, conflicts);
                        format!("{} {}{why}, nothing on {}", p.name, p.phase, p.ports_text())
                    }
                })
                .collect();
            (name, format!("{labels}: {}", pods_text.join("; ")))
        })
        .collect()
}

/// The pods on a node that hold any of the given host ports (other than `except`).
pub fn port_holders<'a>(
    pods: &'a [Pod],
    node: &str,
    ports: &[i32],
    except: &str,
) -> Vec<(&'a Pod, Vec<i32>)> {
    pods.iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
        .filter(|p| p.metadata.name.as_deref() != Some(except))
        .filter(|p| {
            !matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            )
        })
        .filter_map(|p| {
            let held: Vec<i32> = host_ports(p)
                .into_iter()
                .filter(|hp| ports.contains(hp))
                .collect();
            (!held.is_empty()).then_some((p, held))
        })
        .collect()
}

fn pod_ref(pod: &Pod) -> String {
    format!(
        "pod/{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.name.as_deref().unwrap_or("?")
    )
}

/// ` (host port 80 held by pod docs/nginx-docs-...; scheduler: ...)` or the waiting reason.
fn pending_reason(p: &LbPod, all: &[Pod]) -> String {
    match &p.unscheduled {
        Some(msg) if msg.contains("free ports") => {
            let holders = p
                .node
                .as_deref()
                .map(|n| port_holders(all, n, &p.host_ports, &p.name))
                .unwrap_or_default();
            if holders.is_empty() {
                format!(" (a host port of {} is taken)", p.ports_text())
            } else {
                format!(" (host port {})", describe_holders(&holders))
            }
        }
        Some(msg) => format!(" ({msg})"),
        None => waiting_reason(p.pod)
            .map(|w| format!(" ({w})"))
            .unwrap_or_default(),
    }
}

fn describe_holders(holders: &[(&Pod, Vec<i32>)]) -> String {
    holders
        .iter()
        .map(|(pod, ports)| {
            format!(
                "{} held by pod {}/{}",
                join_ports(ports),
                pod.metadata.namespace.as_deref().unwrap_or("default"),
                pod.metadata.name.as_deref().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A cause several checks report the same way: message, remediation and subjects.
#[derive(Debug, Clone)]
pub struct Finding {
    pub status: Status,
    pub message: String,
    pub remediation: &'static str,
    pub vars: Vars,
    pub subjects: Vec<String>,
    pub snippet: Option<String>,
}

impl Finding {
    /// The finding as an outcome, with its remediation rendered for the detected distribution.
    pub async fn outcome(self, ctx: &Context) -> Outcome {
        let o = Outcome::of(self.status, self.message)
            .remediate(self.remediation, ctx.distribution().await, &self.vars)
            .subjects(self.subjects);
        match self.snippet {
            Some(s) => o.snippet(s),
            None => o,
        }
    }

    /// The same finding with another message (a check may word it from its angle), same fix and subjects.
    pub fn reworded(mut self, message: String) -> Finding {
        self.message = message;
        self
    }
}

/// ServiceLB is disabled on the server: nothing serves LoadBalancer Services.
pub fn disabled_finding(server: &str, arg: &str, pending: &[String]) -> Finding {
    let names: Vec<&str> = pending
        .iter()
        .map(|s| s.strip_prefix("service/").unwrap_or(s))
        .collect();
    let stays = match names.as_slice() {
        [] => "LoadBalancer Services will stay <pending>".to_string(),
        [one] => format!("Service {one} stays <pending>"),
        many => format!("Services {} stay <pending>", facts::listed(many, ", ")),
    };
    let message = format!(
        "k3s ServiceLB is disabled ({arg} on {server}) and no other LoadBalancer provider runs: {stays}"
    );
    Finding {
        status: Status::Fail,
        message,
        remediation: "rem.servicelb-disabled",
        vars: Vars::from([("server", server.to_string()), ("arg", arg.to_string())]),
        subjects: vec![format!("node/{server}")],
        snippet: None,
    }
}

/// The first svclb pod that does not answer, explained: a taken host port (naming the pods holding it),
/// a taint or another scheduling message, or a container that does not start.
pub fn stuck_pod_finding(svc: &Service, pods: &[LbPod], all: &[Pod]) -> Option<Finding> {
    let stuck = pods.iter().find(|p| !p.answers())?;
    let node = stuck.node.clone().unwrap_or_else(|| "?".into());
    let svc_name = service_name(svc);
    let mut subjects = vec![format!("node/{node}"), stuck.reference()];
    let mut vars = Vars::from([
        ("node", node.clone()),
        ("pod", stuck.name.clone()),
        ("pod_namespace", stuck.namespace.clone()),
        ("ports", stuck.ports_text()),
        ("service", svc_name.clone()),
    ]);
    let scheduler = stuck.unscheduled.clone().unwrap_or_default();
    if scheduler.contains("free ports") {
        let holders = port_holders(all, &node, &stuck.host_ports, &stuck.name);
        subjects.extend(holders.iter().map(|(p, _)| pod_ref(p)));
        let held: Vec<i32> = holders
            .iter()
            .flat_map(|(_, ports)| ports.clone())
            .collect();
        let ports = if held.is_empty() {
            stuck.ports_text()
        } else {
            join_ports(&held)
        };
        let by = if holders.is_empty() {
            "another pod or hostPort on that node".to_string()
        } else {
            describe_holders(&holders)
        };
        let holder_cmds: Vec<String> = holders
            .iter()
            .map(|(p, _)| {
                format!(
                    "  kubectl -n {} get pod {} -o wide    # owned by: {}",
                    p.metadata.namespace.as_deref().unwrap_or("default"),
                    p.metadata.name.as_deref().unwrap_or("?"),
                    owner(p)
                )
            })
            .collect();
        vars.insert("held_ports", ports.clone());
        vars.insert(
            "holders",
            if holder_cmds.is_empty() {
                format!("  kubectl get pods -A -o wide --field-selector spec.nodeName={node}")
            } else {
                holder_cmds.join("\n")
            },
        );
        return Some(Finding {
            status: Status::Fail,
            message: format!(
                "svclb pod {}/{} for Service {svc_name} is {} on {node}: host port {ports} is already taken \
                 ({by}), so {node} does not answer on {} (scheduler: {scheduler})",
                stuck.namespace,
                stuck.name,
                stuck.phase,
                stuck.ports_text()
            ),
            remediation: "rem.svclb-host-port",
            vars,
            subjects,
            snippet: None,
        });
    }
    let why = if !scheduler.is_empty() {
        format!("scheduler: {scheduler}")
    } else {
        waiting_reason(stuck.pod).unwrap_or_else(|| "not Ready".into())
    };
    vars.insert("why", why.clone());
    Some(Finding {
        status: Status::Fail,
        message: format!(
            "svclb pod {}/{} for Service {svc_name} is {} on {node} ({why}), so {node} does not answer on {}",
            stuck.namespace,
            stuck.name,
            stuck.phase,
            stuck.ports_text()
        ),
        remediation: "rem.svclb-pod-stuck",
        vars,
        subjects,
        snippet: None,
    })
}

fn owner(pod: &Pod) -> String {
    pod.metadata
        .owner_references
        .as_ref()
        .and_then(|o| o.first())
        .map(|o| format!("{} {}", o.kind, o.name))
        .unwrap_or_else(|| "nothing (a bare pod)".into())
}

fn waiting_reason(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find_map(|c| {
            let w = c.state.as_ref()?.waiting.as_ref()?;
            Some(
                format!(
                    "{} {}",
                    w.reason.as_deref().unwrap_or(""),
                    w.message.as_deref().unwrap_or("")
                )
                .trim()
                .to_string(),
            )
        })
}

/// The node label layout differs from the seed's (ServiceLB pinned to the one public ingress node): what is
/// wrong, and the exact `kubectl label` commands that pin it. None when it matches.
pub fn pin_finding(nodes: &[Node]) -> Option<Finding> {
    let selector = selector_on(nodes);
    let eligible_nodes: Vec<&str> = nodes
        .iter()
        .filter(|n| eligible(n, selector))
        .map(node_name)
        .collect();
    let public: Vec<&Node> = nodes.iter().filter(|n| is_public_ingress(n)).collect();
    let enabled: Vec<&str> = nodes
        .iter()
        .filter(|n| enablelb(n) == Some("true"))
        .map(node_name)
        .collect();
    // The node that should be the only one: the public-labelled one, else the only enablelb=true node.
    let target: Option<&Node> = match (public.as_slice(), enabled.as_slice()) {
        ([one], _) => Some(one),
        ([], [one]) => nodes.iter().find(|n| node_name(n) == *one),
        _ => None,
    };
    let target_name = target.map(|n| node_name(n).to_string());

    let mut problems = Vec::new();
    let mut status = Status::Warn;
    if !selector {
        problems.push(format!(
            "no node carries {ENABLELB}: ServiceLB runs svclb pods on every node ({}), so 80 and 443 answer \
             on all {} of them",
            facts::listed(&eligible_nodes, ", "),
            eligible_nodes.len()
        ));
    } else if enabled.is_empty() {
        status = Status::Fail;
        let labelled: Vec<String> = nodes
            .iter()
            .filter_map(|n| Some(format!("{}={}", node_name(n), enablelb(n)?)))
            .collect();
        problems.push(format!(
            "no node has {ENABLELB}=true ({}): ServiceLB has no node to run on and LoadBalancer Services \
             stay <pending>",
            facts::listed(&labelled, ", ")
        ));
    } else if enabled.len() > 1 {
        problems.push(format!(
            "{} nodes carry {ENABLELB}=true ({}): 80 and 443 are spread across them",
            enabled.len(),
            facts::listed(&enabled, ", ")
        ));
    }
    if public.len() > 1 {
        problems.push(format!(
            "{} nodes are labelled the public ingress node ({})",
            public.len(),
            facts::listed(
                &public.iter().map(|n| node_name(n)).collect::<Vec<_>>(),
                ", "
            )
        ));
    }
    if let Some(t) = target {
        let missing: Vec<&str> = std::iter::once(ENABLELB)
            .chain(PUBLIC_INGRESS_LABELS)
            .filter(|k| node_label(t, k) != Some("true"))
            .collect();
        if selector && !missing.is_empty() && !enabled.is_empty() {
            problems.push(format!(
                "{} lacks {}",
                node_name(t),
                missing
                    .iter()
                    .map(|k| format!("{k}=true"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if problems.is_empty() {
        return None;
    }

    let ingress = target_name
        .clone()
        .unwrap_or_else(|| "<ingress-node>".to_string());
    let mut commands = vec![format!(
        "  kubectl label node {ingress} {ENABLELB}=true {}=true {}=true --overwrite",
        PUBLIC_INGRESS_LABELS[0], PUBLIC_INGRESS_LABELS[1]
    )];
    let mut subjects: Vec<String> = Vec::new();
    if let Some(t) = &target_name {
        subjects.push(format!("node/{t}"));
    }
    for n in nodes {
        let name = node_name(n);
        if Some(name) == target_name.as_deref() {
            continue;
        }
        if enablelb(n).is_some() {
            commands.push(format!("  kubectl label node {name} {ENABLELB}-"));
        }
        if is_public_ingress(n) && target_name.is_some() {
            commands.push(format!(
                "  kubectl label node {name} {}- {}-",
                PUBLIC_INGRESS_LABELS[0], PUBLIC_INGRESS_LABELS[1]
            ));
        }
        if eligible(n, selector) || is_public_ingress(n) {
            subjects.push(format!("node/{name}"));
        }
    }
    Some(Finding {
        status,
        message: facts::listed(&problems, "; "),
        remediation: "rem.svclb-pin-ingress-node",
        vars: Vars::from([("node", ingress), ("commands", commands.join("\n"))]),
        subjects,
        snippet: None,
    })
}

/// The Service's advertised addresses (`status.loadBalancer.ingress`).
pub fn svc_addresses(svc: &Service) -> Vec<String> {
    let mut v = lb_ingress(svc);
    v.sort();
    v
}

/// Why a LoadBalancer Service on k3s has no address: ServiceLB disabled (and nothing else serving it), no
/// node eligible, a svclb pod that cannot run, or no svclb pods at all.
pub fn pending_cause(
    nodes: &[Node],
    all_pods: &[Pod],
    svc: &Service,
    others: &[String],
    pending: &[String],
) -> Finding {
    let svc_name = service_name(svc);
    if let Some((server, arg)) = disabled_by(nodes) {
        if others.is_empty() {
            return disabled_finding(&server, &arg, pending);
        }
        return Finding {
            status: Status::Fail,
            message: format!(
                "k3s ServiceLB is disabled ({arg} on {server}) and {} has not given Service {svc_name} an \
                 address",
                others.join(", ")
            ),
            remediation: "rem.lb-provider-pending",
            vars: Vars::from([("service", svc_name), ("providers", others.join(", "))]),
            subjects: vec![service_ref(svc)],
            snippet: None,
        };
    }
    if let Some(f) = pin_finding(nodes).filter(|f| f.status == Status::Fail) {
        return f;
    }
    let pods = lb_pods(all_pods, svc);
    if let Some(f) = stuck_pod_finding(svc, &pods, all_pods) {
        return f;
    }
    let class = svc
        .spec
        .as_ref()
        .and_then(|s| s.load_balancer_class.clone());
    let message = match (&class, pods.is_empty()) {
        (Some(class), _) => format!(
            "Service {svc_name} sets loadBalancerClass {class}, which k3s ServiceLB ignores, and nothing else \
             gave it an address"
        ),
        (None, true) => format!(
            "k3s ServiceLB created no svclb pods for Service {svc_name} (no svclb-{}-* DaemonSet pods \
             labelled {SVCNAME}={})",
            svc.metadata.name.as_deref().unwrap_or("?"),
            svc.metadata.name.as_deref().unwrap_or("?")
        ),
        (None, false) => format!(
            "svclb pods for Service {svc_name} run but its status.loadBalancer is empty: the k3s cloud \
             controller has not updated it"
        ),
    };
    Finding {
        status: Status::Fail,
        message,
        remediation: "rem.servicelb-no-daemonset",
        vars: Vars::from([
            ("service", svc_name),
            (
                "name",
                svc.metadata.name.clone().unwrap_or_else(|| "?".into()),
            ),
        ]),
        subjects: vec![service_ref(svc)],
        snippet: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ingress::testing::{TRAEFIK_UID, lb_service, node_at, svclb_pod};

    fn parsed<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn only_svclb_pods_and_host_port_holders_involve_servicelb() {
        let pod = |labels: serde_json::Value, ports: serde_json::Value| -> Pod {
            parsed(json!({
                "metadata": { "name": "p", "namespace": "apps", "labels": labels },
                "spec": { "containers": [{ "name": "c", "image": "nginx", "ports": ports }] },
            }))
        };
        assert!(involves_servicelb(&pod(
            json!({ SVCNAME: "traefik" }),
            json!([])
        )));
        assert!(involves_servicelb(&pod(
            json!({}),
            json!([{ "containerPort": 80, "hostPort": 80 }])
        )));
        assert!(!involves_servicelb(&pod(
            json!({ "app": "web" }),
            json!([{ "containerPort": 8080 }])
        )));
    }

    fn server(args: &[&str]) -> Node {
        let mut n = node_at("mcp-cp-1", "10.0.0.11", None, &[]);
        n["metadata"]["annotations"] = json!({ NODE_ARGS: serde_json::to_string(args).unwrap() });
        parsed(n)
    }

    #[test]
    fn disable_flags_are_read_in_every_spelling() {
        for args in [
            &["server", "--disable", "servicelb"][..],
            &["server", "--disable=servicelb"],
            &["server", "--disable", "traefik,servicelb"],
            &["server", "--no-deploy", "servicelb"],
        ] {
            assert_eq!(
                disabled_by(&[server(args)]),
                Some(("mcp-cp-1".into(), "--disable servicelb".into())),
                "{args:?}"
            );
        }
        assert_eq!(
            disabled_by(&[server(&["server", "--disable-cloud-controller"])]).map(|d| d.1),
            Some("--disable-cloud-controller".into())
        );
        assert_eq!(
            disabled_by(&[server(&["server", "--disable", "traefik"])]),
            None
        );
        assert_eq!(
            k3s_disables(&[server(&["server", "--disable", "traefik"])], "traefik").map(|d| d.1),
            Some("--disable traefik".into())
        );
    }

    #[test]
    fn k3s_advertises_external_ips_when_any_serving_node_has_one() {
        let nodes: Vec<Node> = vec![
            parsed(node_at(
                "mcp-ingress-1",
                "10.0.0.21",
                Some("203.0.113.10"),
                &[],
            )),
            parsed(node_at("mcp-worker-1", "10.0.0.31", None, &[])),
        ];
        let pods: Vec<Pod> = vec![
            parsed(svclb_pod("kube-system", TRAEFIK_UID, "mcp-ingress-1", "a")),
            parsed(svclb_pod("kube-system", TRAEFIK_UID, "mcp-worker-1", "b")),
        ];
        let svc: Service = parsed(lb_service("kube-system", TRAEFIK_UID, &[]));
        let lb = lb_pods(&pods, &svc);
        assert_eq!(advertised(&nodes, &lb), vec!["203.0.113.10"]);
        // Without the ingress node's pod, only InternalIPs remain.
        assert_eq!(advertised(&nodes, &lb[1..]), vec!["10.0.0.31"]);
    }

    #[test]
    fn old_k3s_svclb_pods_in_the_service_namespace_are_found() {
        // Before k3s v1.24.3 the DaemonSet was svclb-<svc> in the Service's namespace, without svcnamespace.
        let mut old = svclb_pod("traefik", TRAEFIK_UID, "mcp-ingress-1", "a");
        old["metadata"]["namespace"] = json!("traefik");
        old["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove(SVCNAMESPACE);
        let pods: Vec<Pod> = vec![parsed(old)];
        let svc: Service = parsed(lb_service("traefik", TRAEFIK_UID, &[]));
        assert_eq!(lb_pods(&pods, &svc).len(), 1);
        let other: Service = parsed(lb_service("kube-system", TRAEFIK_UID, &[]));
        assert!(lb_pods(&pods, &other).is_empty());
    }

    #[test]
    fn enablelb_false_on_a_node_still_switches_the_selector_on() {
        let mut n = node_at("mcp-worker-1", "10.0.0.31", None, &[]);
        n["metadata"]["labels"][ENABLELB] = json!("false");
        let nodes: Vec<Node> = vec![
            parsed(n),
            parsed(node_at("mcp-worker-2", "10.0.0.32", None, &[])),
        ];
        assert!(selector_on(&nodes));
        assert!(
            !eligible(&nodes[1], true),
            "an unlabelled node is not eligible once any node is labelled"
        );
        let f = pin_finding(&nodes).expect("nothing is eligible");
        assert_eq!(f.status, Status::Fail);
    }
}
