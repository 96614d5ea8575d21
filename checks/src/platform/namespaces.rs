use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The platform namespaces exist and are Active. The layout is detected from the cluster: the legacy
    /// one puts all of Sentinel in `mcp-sentinel`, the split one in `mcp-platform` and `mcp-observability`;
    /// both have `mcp-runtime` (operator), `registry` and `mcp-servers`. `--platform-namespace NS` names the
    /// Sentinel namespace when it is neither.
    ///
    /// ### Why it matters
    /// Every other platform check reads only these namespaces; a missing one means setup did not finish
    /// (or a clean-up removed it), and a Terminating one takes everything in it away.
    ///
    /// ### What a failure looks like
    /// `platform namespace mcp-sentinel is missing (legacy layout)` or `platform namespace mcp-runtime is
    /// Terminating`.
    ///
    /// ### How to fix
    /// Re-run `mcp-runtime setup` with the same flags (it creates what is missing); for a Terminating one see
    /// `cluster.stuck-terminating`.
    pub struct Namespaces {
        id: "platform.namespaces",
        title: "Platform namespaces exist and are Active",
        category: "platform",
        modes: Doctor,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NAMESPACES],
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for Namespaces {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (layout, namespaces) = match super::layout(ctx).await {
            Ok(l) => l,
            Err(o) => return o,
        };
        let mut missing = Vec::new();
        let mut terminating = Vec::new();
        for name in &layout.all {
            match namespaces
                .iter()
                .find(|n| n.metadata.name.as_deref() == Some(name))
            {
                None => missing.push(name.clone()),
                Some(ns) => {
                    let phase = ns.status.as_ref().and_then(|s| s.phase.as_deref());
                    if ns.metadata.deletion_timestamp.is_some() || phase == Some("Terminating") {
                        terminating.push(name.clone());
                    }
                }
            }
        }
        let details = |o: Outcome| {
            o.detail("layout", layout.name)
                .detail("namespaces", &layout.all)
        };
        if missing.is_empty() && terminating.is_empty() {
            return details(Outcome::pass(format!(
                "platform namespaces {} are Active ({} layout)",
                layout.all.join(", "),
                layout.name
            )));
        }
        let dist = ctx.distribution().await;
        if !terminating.is_empty() {
            let mut vars = Vars::new();
            vars.insert("namespace", terminating[0].clone());
            let mut msg = terminating
                .iter()
                .map(|n| format!("platform namespace {n} is Terminating"))
                .collect::<Vec<_>>();
            msg.extend(missing.iter().map(|n| format!("{n} is missing")));
            return details(
                Outcome::fail(msg.join("; "))
                    .remediate("rem.stuck-terminating", dist, &vars)
                    .subjects(terminating.iter().map(|n| format!("namespace/{n}"))),
            );
        }
        details(
            Outcome::fail(format!(
                "platform namespace{} {} {} missing ({} layout)",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", "),
                if missing.len() > 1 { "are" } else { "is" },
                layout.name
            ))
            .remediate("rem.platform-rerun-setup", dist, &Vars::new())
            .subjects(missing.iter().map(|n| format!("namespace/{n}"))),
        )
    }
}
