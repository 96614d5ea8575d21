use async_trait::async_trait;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{Scope, kinds, list_typed};
use crate::model::{CheckMeta, Outcome};

/// The namespaces the platform installs into.
pub const PLATFORM_NAMESPACES: [&str; 4] =
    ["mcp-runtime", "registry", "mcp-sentinel", "mcp-servers"];
/// The platform's CRD.
pub const MCPSERVER_CRD: &str = "mcpservers.mcpruntime.org";

declare_check! {
    /// ### What it checks
    /// None of the platform namespaces (`mcp-runtime`, `registry`, `mcp-sentinel`, `mcp-servers`) and not
    /// the `mcpservers.mcpruntime.org` CRD is stuck Terminating, and names the finalizers and remaining
    /// content that hold it.
    ///
    /// ### Why it matters
    /// A reinstall into a namespace that is still being deleted fails with `object is being deleted`, and a
    /// CRD stuck on its finalizer blocks every MCPServer. The namespace's own conditions say what is left.
    ///
    /// ### What a failure looks like
    /// `namespace mcp-runtime is stuck Terminating since 2026-11-20T09:14:02Z: Some content in the namespace
    /// has finalizers remaining: mcpruntime.org/finalizer in 2 resource instances`
    ///
    /// ### How to fix
    /// Let the operator finish (it removes its finalizers), or remove them by hand from the objects named,
    /// e.g. `kubectl -n mcp-runtime patch mcpserver <name> --type=merge -p '{"metadata":{"finalizers":null}}'`.
    pub struct StuckTerminating {
        id: "cluster.stuck-terminating",
        title: "Nothing of the platform stuck Terminating",
        category: "cluster",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NAMESPACES, kinds::CUSTOM_RESOURCE_DEFINITIONS],
    }
}

#[async_trait]
impl Check for StuckTerminating {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let kube = ctx.evidence.kube.as_ref();
        let namespaces: Vec<Namespace> =
            match list_typed(kube, &kinds::NAMESPACES, &Scope::Cluster).await {
                Ok(n) => n,
                Err(e) => return unreadable("namespaces", &e),
            };
        let crds: Vec<CustomResourceDefinition> =
            match list_typed(kube, &kinds::CUSTOM_RESOURCE_DEFINITIONS, &Scope::Cluster).await {
                Ok(c) => c,
                Err(e) => return unreadable("CustomResourceDefinitions", &e),
            };
        let mut stuck = Vec::new();
        let mut subjects: Vec<String> = Vec::new();
        for ns in &namespaces {
            let name = ns.metadata.name.as_deref().unwrap_or("");
            if !PLATFORM_NAMESPACES.contains(&name) {
                continue;
            }
            let terminating = ns.metadata.deletion_timestamp.is_some()
                || ns.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating");
            if !terminating {
                continue;
            }
            let since = ns
                .metadata
                .deletion_timestamp
                .as_ref()
                .map(|t| format!(" since {}", t.0))
                .unwrap_or_default();
            let held_by: Vec<String> = ns
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .filter(|c| {
                    c.status == "True"
                        && matches!(
                            c.type_.as_str(),
                            "NamespaceFinalizersRemaining"
                                | "NamespaceContentRemaining"
                                | "NamespaceDeletionContentFailure"
                                | "NamespaceDeletionDiscoveryFailure"
                        )
                })
                .filter_map(|c| c.message.clone())
                .collect();
            let finalizers = ns
                .spec
                .as_ref()
                .and_then(|s| s.finalizers.clone())
                .unwrap_or_default();
            let why = if held_by.is_empty() {
                format!("finalizers {}", finalizers.join(", "))
            } else {
                held_by.join("; ")
            };
            stuck.push(format!(
                "namespace {name} is stuck Terminating{since}: {why}"
            ));
            subjects.push(format!("namespace/{name}"));
        }
        if let Some(crd) = crds
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(MCPSERVER_CRD))
            && let Some(ts) = &crd.metadata.deletion_timestamp
        {
            let finalizers = crd.metadata.finalizers.clone().unwrap_or_default();
            stuck.push(format!(
                "CRD {MCPSERVER_CRD} is stuck Terminating since {}: finalizers {}",
                ts.0,
                finalizers.join(", ")
            ));
            subjects.push(format!("customresourcedefinition/{MCPSERVER_CRD}"));
        }
        if stuck.is_empty() {
            return Outcome::pass("no platform namespace or CRD is Terminating");
        }
        let mut vars = Vars::new();
        vars.insert(
            "namespace",
            namespaces
                .iter()
                .filter_map(|n| n.metadata.name.clone())
                .find(|n| {
                    PLATFORM_NAMESPACES.contains(&n.as_str())
                        && stuck.iter().any(|s| s.contains(&format!("namespace {n} ")))
                })
                .unwrap_or_else(|| "mcp-runtime".into()),
        );
        Outcome::fail(stuck.join("; "))
            .detail("stuck", &stuck)
            .remediate("rem.stuck-terminating", ctx.distribution().await, &vars)
            .subjects(subjects)
    }
}
