use async_trait::async_trait;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context, unreadable};
use crate::cluster::MCPSERVER_CRD;
use crate::declare_check;
use crate::evidence::{Scope, kinds, list_typed};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The `mcpservers.mcpruntime.org` CustomResourceDefinition exists, is not being deleted, and has the
    /// conditions `NamesAccepted` and `Established` True.
    ///
    /// ### Why it matters
    /// Without an Established CRD the API server refuses every MCPServer and the operator has nothing to
    /// reconcile.
    ///
    /// ### What a failure looks like
    /// `CRD mcpservers.mcpruntime.org is missing` or `CRD mcpservers.mcpruntime.org is not Established:
    /// NamesAccepted=False (MultipleNamesConflict ...)`.
    ///
    /// ### How to fix
    /// Re-run `mcp-runtime setup` (it applies the CRD), or apply the CRD from the release's
    /// `config/crd/bases`.
    pub struct Crd {
        id: "platform.crd",
        title: "The MCPServer CRD is Established",
        category: "platform",
        modes: Doctor,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::CUSTOM_RESOURCE_DEFINITIONS],
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for Crd {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let crds: Vec<CustomResourceDefinition> = match list_typed(
            ctx.evidence.kube.as_ref(),
            &kinds::CUSTOM_RESOURCE_DEFINITIONS,
            &Scope::Cluster,
        )
        .await
        {
            Ok(c) => c,
            Err(e) => return unreadable("CustomResourceDefinitions", &e),
        };
        let subject = format!("customresourcedefinition/{MCPSERVER_CRD}");
        let dist = ctx.distribution().await;
        let Some(crd) = crds
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(MCPSERVER_CRD))
        else {
            return Outcome::fail(format!("CRD {MCPSERVER_CRD} is missing"))
                .remediate("rem.platform-rerun-setup", dist, &Vars::new())
                .subject(subject);
        };
        if crd.metadata.deletion_timestamp.is_some() {
            let mut vars = Vars::new();
            vars.insert("namespace", "mcp-servers".to_string());
            return Outcome::fail(format!("CRD {MCPSERVER_CRD} is being deleted"))
                .remediate("rem.stuck-terminating", dist, &vars)
                .subject(subject);
        }
        let conditions = crd
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let bad: Vec<String> = ["NamesAccepted", "Established"]
            .iter()
            .filter_map(|t| match conditions.iter().find(|c| c.type_ == *t) {
                Some(c) if c.status == "True" => None,
                Some(c) => Some(format!(
                    "{t}={} ({}{})",
                    c.status,
                    c.reason.as_deref().unwrap_or(""),
                    c.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )),
                None => Some(format!("{t} not reported")),
            })
            .collect();
        if bad.is_empty() {
            let versions: Vec<String> = crd
                .spec
                .versions
                .iter()
                .filter(|v| v.served)
                .map(|v| v.name.clone())
                .collect();
            return Outcome::pass(format!(
                "CRD {MCPSERVER_CRD} is Established (serves {})",
                versions.join(", ")
            ));
        }
        Outcome::fail(format!(
            "CRD {MCPSERVER_CRD} is not Established: {}",
            bad.join("; ")
        ))
        .remediate("rem.platform-rerun-setup", dist, &Vars::new())
        .subject(subject)
    }
}
