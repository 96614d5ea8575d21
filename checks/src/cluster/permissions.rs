use std::collections::BTreeMap;

use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{AccessQuestion, Scope};
use crate::model::{CheckMeta, Outcome, ReadScope};

declare_check! {
    /// ### What it checks
    /// Asks the API server (SelfSubjectAccessReview) whether this identity may list every resource the
    /// selected checks read, at the scope each check reads it: cluster-wide, or (for the platform checks)
    /// in each platform namespace of the detected layout, so grants limited to those namespaces are
    /// enough for them. Names the checks that will not be able to run.
    ///
    /// ### Why it matters
    /// A check that cannot read a resource reports `error` or `skip`, never a pass: a read-only CI identity
    /// without access to pods or secrets would otherwise look like a cluster full of errors. This check says
    /// up front which verbs are missing and what that costs.
    ///
    /// ### What a failure looks like
    /// `cannot list pods at the cluster scope (needed by cluster.coredns), cannot list secrets in namespace
    /// mcp-sentinel (needed by platform.admin-bootstrap): those checks will report error`
    ///
    /// ### How to fix
    /// Run with a kubeconfig whose identity may `get`/`list` cluster objects read-only, e.g. bind the
    /// built-in `view` ClusterRole plus `list` on nodes, namespaces and storageclasses.
    pub struct Permissions {
        id: "cluster.permissions",
        title: "Permissions for the selected checks",
        category: "cluster",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [],
    }
}

#[async_trait]
impl Check for Permissions {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let platform_scoped = ctx
            .selected
            .iter()
            .any(|m| m.read_scope == ReadScope::PlatformNamespaces);
        let platform_namespaces = if platform_scoped {
            crate::platform::namespaces_to_read(ctx).await
        } else {
            Vec::new()
        };
        // Question -> the checks that need its answer.
        let mut needed: BTreeMap<AccessQuestion, Vec<&'static str>> = BTreeMap::new();
        for meta in &ctx.selected {
            for kind in meta.reads {
                let scopes = match meta.read_scope {
                    ReadScope::PlatformNamespaces if kind.namespaced => platform_namespaces
                        .iter()
                        .map(|ns| Scope::Namespace(ns.clone()))
                        .collect(),
                    _ => vec![Scope::everywhere(kind)],
                };
                for scope in scopes {
                    let checks = needed
                        .entry(AccessQuestion::list(kind, &scope))
                        .or_default();
                    if !checks.contains(&meta.id) {
                        checks.push(meta.id);
                    }
                }
            }
        }
        let mut denied = Vec::new();
        let mut blocked: Vec<&str> = Vec::new();
        for (question, checks) in &needed {
            match ctx.evidence.kube.access(question).await {
                Ok(answer) if answer.allowed => {}
                Ok(_) => {
                    denied.push(format!(
                        "cannot {question} (needed by {})",
                        checks.join(", ")
                    ));
                    blocked.extend(checks.iter().copied());
                }
                Err(e) => return unreadable(&format!("whether this identity may {question}"), &e),
            }
        }
        if denied.is_empty() {
            let mut kinds: Vec<String> = needed.keys().map(|q| q.resource_key()).collect();
            kinds.dedup();
            let mut message = format!(
                "allowed to list all {} resource types the selected checks read",
                kinds.len()
            );
            if !platform_namespaces.is_empty() {
                message.push_str(&format!(
                    "; the platform checks' reads reviewed in namespaces {}",
                    platform_namespaces.join(", ")
                ));
            }
            return Outcome::pass(message);
        }
        blocked.sort();
        blocked.dedup();
        let mut vars = Vars::new();
        vars.insert("missing", denied.join("\n"));
        Outcome::warn(format!(
            "{}: those checks will report error",
            denied.join(", ")
        ))
        .detail("denied", &denied)
        .detail("affected_checks", &blocked)
        .remediate("rem.read-permissions", ctx.distribution().await, &vars)
    }
}
