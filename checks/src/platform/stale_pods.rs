use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use mcp_doctor_remediations::Vars;

use super::list_in;
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// No Failed pods (Evicted, or exited with an error and never restarted) are left behind in the
    /// platform namespaces. Pods of other namespaces are never counted.
    ///
    /// ### Why it matters
    /// Evicted pods keep their objects until someone deletes them: they clutter `kubectl get pods`, hide the
    /// real replicas and point at a node that ran out of memory or disk.
    ///
    /// ### What a failure looks like
    /// `1 Failed pod left in platform namespaces: mcp-sentinel/mcp-sentinel-ui-6b7c9d-2xkq4 (Evicted: The
    /// node was low on resource: ephemeral-storage. ...)` (a warning).
    ///
    /// ### How to fix
    /// Find why they were evicted (`nodes.pressure`), then delete them:
    /// `kubectl -n <namespace> delete pods --field-selector=status.phase=Failed`.
    pub struct StalePods {
        id: "platform.stale-pods",
        title: "No Failed or Evicted pods left in platform namespaces",
        category: "platform",
        modes: Doctor,
        depends_on: ["platform.namespaces"],
        reads: [kinds::PODS],
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for StalePods {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (layout, _) = match super::layout(ctx).await {
            Ok(l) => l,
            Err(o) => return o,
        };
        let pods: Vec<Pod> = match list_in(ctx, &kinds::PODS, &layout.all).await {
            Ok(p) => p,
            Err(o) => return o,
        };
        let failed: Vec<(String, String, String)> = pods
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed"))
            .map(|p| {
                let s = p.status.as_ref();
                let reason = s
                    .and_then(|s| s.reason.clone())
                    .unwrap_or_else(|| "Failed".into());
                let why = s
                    .and_then(|s| s.message.clone())
                    .map(|m| format!("{reason}: {}", m.trim()))
                    .unwrap_or(reason);
                (
                    p.metadata.namespace.clone().unwrap_or_default(),
                    p.metadata.name.clone().unwrap_or_default(),
                    why,
                )
            })
            .collect();
        if failed.is_empty() {
            return Outcome::pass(format!("no Failed pods in {}", layout.all.join(", ")));
        }
        let list = failed
            .iter()
            .map(|(ns, n, why)| format!("{ns}/{n} ({why})"))
            .collect::<Vec<_>>();
        let list = facts::listed(&list, ", ");
        let mut vars = Vars::new();
        vars.insert("namespace", failed[0].0.clone());
        Outcome::warn(format!(
            "{} Failed pod{} left in platform namespaces: {list}",
            failed.len(),
            if failed.len() > 1 { "s" } else { "" }
        ))
        .remediate("rem.platform-stale-pods", ctx.distribution().await, &vars)
        .subjects(failed.iter().map(|(ns, n, _)| format!("pod/{ns}/{n}")))
    }
}
