//! Platform checks (doctor mode): the MCP Runtime components after install, read only in the platform
//! namespaces so unrelated workloads never fail the platform.

mod admin_bootstrap;
#[cfg(test)]
mod check_tests;
mod crd;
mod ingresses;
mod mcpservers;
mod namespaces;
mod operator;
mod public_endpoints;
mod sentinel;
mod stale_pods;

pub use admin_bootstrap::AdminBootstrap;
pub use crd::Crd;
pub use ingresses::Ingresses;
pub use mcpservers::McpServers;
pub use namespaces::Namespaces;
pub use operator::Operator;
pub use public_endpoints::PublicEndpoints;
pub use sentinel::Sentinel;
pub use stale_pods::StalePods;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Check;
use crate::check::{Context, unreadable};
use crate::evidence::{ResourceKind, Scope, kinds, list_typed};
use crate::model::Outcome;

/// The operator's namespace and Deployment (both layouts).
pub const OPERATOR_NAMESPACE: &str = "mcp-runtime";
pub const OPERATOR_DEPLOYMENT: &str = "mcp-runtime-operator-controller-manager";
/// Sentinel's API Deployment and its managed Secret.
pub const SENTINEL_API: &str = "mcp-sentinel-api";
pub const SENTINEL_SECRETS: &str = "mcp-sentinel-secrets";
/// The namespace the legacy layout puts every Sentinel component in.
pub const LEGACY_SENTINEL_NAMESPACE: &str = "mcp-sentinel";
/// The split layout's Sentinel namespaces.
pub const SPLIT_SENTINEL_NAMESPACES: [&str; 2] = ["mcp-platform", "mcp-observability"];

/// The platform checks in CHECKS.md row order.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(Namespaces),
        Box::new(Crd),
        Box::new(Operator),
        Box::new(Sentinel),
        Box::new(AdminBootstrap),
        Box::new(Ingresses),
        Box::new(PublicEndpoints),
        Box::new(McpServers),
        Box::new(StalePods),
    ]
}

/// Where the platform lives in this cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `legacy` (everything in mcp-sentinel), `split` (mcp-platform / mcp-observability) or `override`.
    pub name: &'static str,
    /// The namespaces holding Sentinel (API, StatefulSets, its Secret).
    pub sentinel: Vec<String>,
    /// Every platform namespace, in a stable order.
    pub all: Vec<String>,
}

impl Layout {
    fn new(name: &'static str, sentinel: Vec<String>) -> Layout {
        let mut all = vec![OPERATOR_NAMESPACE.to_string(), "registry".to_string()];
        all.extend(sentinel.iter().cloned());
        all.push("mcp-servers".to_string());
        Layout {
            name,
            sentinel,
            all,
        }
    }

    /// Every namespace either layout (or the override) may use, for when the namespace list cannot be read.
    pub fn candidates(override_ns: Option<&str>) -> Vec<String> {
        let mut all = Layout::detect(override_ns, &[]).all;
        for ns in Layout::detect(None, &[SPLIT_SENTINEL_NAMESPACES[0].to_string()]).all {
            if !all.contains(&ns) {
                all.push(ns);
            }
        }
        all
    }

    /// Detects the layout from the namespace names (`--platform-namespace` wins).
    pub fn detect(override_ns: Option<&str>, namespaces: &[String]) -> Layout {
        if let Some(ns) = override_ns.filter(|n| !n.trim().is_empty()) {
            return Layout::new("override", vec![ns.trim().to_string()]);
        }
        let split = SPLIT_SENTINEL_NAMESPACES
            .iter()
            .any(|s| namespaces.iter().any(|n| n == s));
        if split {
            Layout::new(
                "split",
                SPLIT_SENTINEL_NAMESPACES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            )
        } else {
            Layout::new("legacy", vec![LEGACY_SENTINEL_NAMESPACE.to_string()])
        }
    }
}

/// Lists the namespaces and detects the layout; an unreadable namespace list is the check's outcome.
pub async fn layout(ctx: &Context) -> Result<(Layout, Vec<Namespace>), Outcome> {
    let namespaces: Vec<Namespace> = list_typed(
        ctx.evidence.kube.as_ref(),
        &kinds::NAMESPACES,
        &Scope::Cluster,
    )
    .await
    .map_err(|e| unreadable("namespaces", &e))?;
    let names: Vec<String> = namespaces
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    let layout = Layout::detect(ctx.config.value("platform_namespace"), &names);
    Ok((layout, namespaces))
}

/// The namespaces the platform-scoped reads go to: the detected layout's, or every namespace either layout
/// (or the override) may use when the namespace list cannot be read. Listing a namespace that does not exist
/// answers an empty list, so reading the candidates judges the same platform without a cluster-wide read.
pub async fn namespaces_to_read(ctx: &Context) -> Vec<String> {
    match layout(ctx).await {
        Ok((layout, _)) => layout.all,
        Err(_) => Layout::candidates(ctx.config.value("platform_namespace")),
    }
}

/// Something the platform runs that names images: a Deployment's pod template, a Pod (a StatefulSet's
/// pods are among the Pods) or an MCPServer.
#[derive(Debug, Clone)]
pub struct Workload {
    /// `Deployment`, `Pod` or `MCPServer`.
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    /// The pod spec (a Deployment's template); `Null` for an MCPServer, whose pods carry its spec.
    pub pod_spec: Value,
    /// The images it pulls: init containers and containers, or the MCPServer's `spec.image`.
    pub images: Vec<String>,
}

/// The Deployments, Pods and MCPServers of the platform namespaces (MCPServers live in `mcp-servers`, one of
/// them), each listed per namespace, never cluster-wide. MCPServers are listed only when their CRD is
/// installed; any namespace that cannot be read makes the whole answer unreadable.
pub async fn platform_workloads(ctx: &Context) -> Result<Vec<Workload>, Outcome> {
    let namespaces = namespaces_to_read(ctx).await;
    let str_at = |o: &Value, p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut out = Vec::new();
    for (kind, spec_at) in [
        (&kinds::DEPLOYMENTS, "/spec/template/spec"),
        (&kinds::PODS, "/spec"),
    ] {
        for o in list_in::<Value>(ctx, kind, &namespaces).await? {
            let pod_spec = o.pointer(spec_at).cloned().unwrap_or(Value::Null);
            out.push(Workload {
                kind: kind.kind,
                namespace: str_at(&o, "/metadata/namespace"),
                name: str_at(&o, "/metadata/name"),
                images: pod_spec_images(&pod_spec),
                pod_spec,
            });
        }
    }
    if crate::certmanager::crd_installed(ctx, &kinds::MCP_SERVERS).await? {
        for s in list_in::<Value>(ctx, &kinds::MCP_SERVERS, &namespaces).await? {
            out.push(Workload {
                kind: kinds::MCP_SERVERS.kind,
                namespace: str_at(&s, "/metadata/namespace"),
                name: str_at(&s, "/metadata/name"),
                pod_spec: Value::Null,
                images: s
                    .pointer("/spec/image")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .into_iter()
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// Every image string the platform's workloads and MCPServers name (repeats included).
pub async fn platform_images(ctx: &Context) -> Result<Vec<String>, Outcome> {
    Ok(platform_workloads(ctx)
        .await?
        .into_iter()
        .flat_map(|w| w.images)
        .collect())
}

/// The images of a pod spec, init containers first as kubelet starts them.
fn pod_spec_images(spec: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .map(String::from)
        .collect()
}

/// Lists a kind in each of the given namespaces only (never cluster-wide); any namespace that cannot be
/// read makes the whole answer unreadable, so no check passes on half the platform.
pub async fn list_in<T: DeserializeOwned>(
    ctx: &Context,
    kind: &'static ResourceKind,
    namespaces: &[String],
) -> Result<Vec<T>, Outcome> {
    let mut out = Vec::new();
    for ns in namespaces {
        let items: Vec<T> = list_typed(
            ctx.evidence.kube.as_ref(),
            kind,
            &Scope::Namespace(ns.clone()),
        )
        .await
        .map_err(|e| unreadable(&format!("{} in namespace {ns}", kind.plural), &e))?;
        out.extend(items);
    }
    Ok(out)
}

/// Why a pod is not running well, from its container statuses: `ImagePullBackOff (...)`,
/// `CrashLoopBackOff (... restarts, last exit ...)`; None when no container is waiting on a problem.
pub fn pod_problem(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let statuses = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for cs in statuses {
        let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let reason = waiting.reason.as_deref().unwrap_or("");
        if !matches!(
            reason,
            "ImagePullBackOff"
                | "ErrImagePull"
                | "InvalidImageName"
                | "CrashLoopBackOff"
                | "CreateContainerConfigError"
                | "RunContainerError"
        ) {
            continue;
        }
        let mut text = format!("container {} {reason}", cs.name);
        if reason == "CrashLoopBackOff" {
            text.push_str(&format!(" ({} restarts", cs.restart_count));
            if let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
                text.push_str(&format!(", last exit code {}", t.exit_code));
                if let Some(m) = t.message.as_deref().filter(|m| !m.trim().is_empty()) {
                    text.push_str(&format!(": {}", m.trim()));
                }
            }
            text.push(')');
        } else if let Some(m) = waiting.message.as_deref() {
            text.push_str(&format!(": {m}"));
        } else {
            text.push_str(&format!(" ({})", cs.image));
        }
        return Some(text);
    }
    None
}

/// How many restarts, the last one how recent, make a container flapping even while it runs and is Ready.
/// Judged by recency, never by the lifetime total: a container that crashed three times last week and has
/// run since is healthy (mcp-runtime's doctor fails such a pod forever).
pub const FLAPPING_RESTARTS: i32 = 3;
pub const FLAPPING_WINDOW_SECS: i64 = 15 * 60;

/// The containers of `pod` that restarted at least [`FLAPPING_RESTARTS`] times, the last time within
/// [`FLAPPING_WINDOW_SECS`] of `now` (Unix seconds): `container manager restarted 7 times, the last 4 min
/// ago (exit code 2: ...)`.
pub fn flapping(pod: &Pod, now: i64) -> Vec<String> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    status
        .container_statuses
        .iter()
        .flatten()
        .filter(|cs| cs.restart_count >= FLAPPING_RESTARTS)
        .filter_map(|cs| {
            let last = cs.last_state.as_ref()?.terminated.as_ref()?;
            let ago = now - last.finished_at.as_ref()?.0.as_second();
            if !(0..=FLAPPING_WINDOW_SECS).contains(&ago) {
                return None;
            }
            let why = match last.reason.as_deref().or(last.message.as_deref()) {
                Some(r) if !r.trim().is_empty() => format!(": {}", r.trim()),
                _ => String::new(),
            };
            Some(format!(
                "container {} restarted {} times, the last {} min ago (exit code {}{why})",
                cs.name,
                cs.restart_count,
                ago / 60,
                last.exit_code
            ))
        })
        .collect()
}

/// Whether a pod's waiting reason is an image pull failure.
pub fn is_pull_failure(problem: &str) -> bool {
    ["ImagePullBackOff", "ErrImagePull", "InvalidImageName"]
        .iter()
        .any(|r| problem.contains(r))
}

/// The pods of a workload: those whose name starts with `<name>-` in its namespace.
pub fn pods_of<'a>(pods: &'a [Pod], namespace: &str, name: &str) -> Vec<&'a Pod> {
    let prefix = format!("{name}-");
    pods.iter()
        .filter(|p| {
            p.metadata.namespace.as_deref() == Some(namespace)
                && p.metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_detected_from_namespaces() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let legacy = Layout::detect(None, &names(&["mcp-runtime", "mcp-sentinel"]));
        assert_eq!(legacy.name, "legacy");
        assert_eq!(legacy.sentinel, vec!["mcp-sentinel"]);
        let split = Layout::detect(None, &names(&["mcp-runtime", "mcp-platform"]));
        assert_eq!(split.name, "split");
        assert!(split.all.contains(&"mcp-observability".to_string()));
        let o = Layout::detect(Some("sentinel-prod"), &names(&["mcp-platform"]));
        assert_eq!(o.sentinel, vec!["sentinel-prod"]);
    }
}
