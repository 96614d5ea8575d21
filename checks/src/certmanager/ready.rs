use async_trait::async_trait;
use mcp_doctor_remediations::Vars;
use serde_json::Value;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{Scope, kinds};
use crate::model::{CheckMeta, Outcome};
use crate::tls::tls_not_requested;

declare_check! {
    /// ### What it checks
    /// With TLS requested: the three cert-manager deployments, `cert-manager`, `cert-manager-cainjector`
    /// and `cert-manager-webhook` (in any namespace, normally `cert-manager`), have all their replicas
    /// ready. Absent is fine when setup will install cert-manager itself; with
    /// `--skip-cert-manager-install` they must already exist and be ready.
    ///
    /// ### Why it matters
    /// Without a ready controller nothing is issued; without a ready webhook every Certificate or Issuer
    /// that setup applies is rejected (`failed calling webhook "webhook.cert-manager.io"`), and setup stops.
    ///
    /// ### What a failure looks like
    /// `--skip-cert-manager-install is set but cert-manager is not installed: no cert-manager,
    /// cert-manager-cainjector or cert-manager-webhook deployment exists`
    ///
    /// `cert-manager-webhook in cert-manager has 0/1 ready replicas`
    ///
    /// ### How to fix
    /// Install cert-manager (or drop `--skip-cert-manager-install` so setup installs it), or look at why its
    /// pods are not ready: `kubectl -n cert-manager get pods`, `kubectl -n cert-manager describe deploy`.
    pub struct Ready {
        id: "certmanager.ready",
        title: "cert-manager controller, cainjector and webhook are ready",
        category: "certmanager",
        modes: Setup,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::DEPLOYMENTS],
    }
}

const COMPONENTS: [&str; 3] = [
    "cert-manager",
    "cert-manager-cainjector",
    "cert-manager-webhook",
];

#[async_trait]
impl Check for Ready {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        tls_not_requested(ctx)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let deployments = match ctx
            .evidence
            .kube
            .list(&kinds::DEPLOYMENTS, &Scope::AllNamespaces)
            .await
        {
            Ok(d) => d,
            Err(e) => return unreadable("deployments in all namespaces", &e),
        };
        let skip_install = ctx.config.flag("skip_cert_manager_install");
        let found: Vec<(&str, &Value)> = COMPONENTS
            .iter()
            .filter_map(|name| {
                deployments
                    .iter()
                    .filter(|d| d.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
                    .min_by_key(|d| {
                        d.pointer("/metadata/namespace").and_then(Value::as_str)
                            != Some("cert-manager")
                    })
                    .map(|d| (*name, d))
            })
            .collect();
        let distribution = ctx.distribution().await;
        let mut vars = Vars::new();
        if found.is_empty() {
            if skip_install {
                return Outcome::fail(
                    "--skip-cert-manager-install is set but cert-manager is not installed: no cert-manager, cert-manager-cainjector or cert-manager-webhook deployment exists",
                )
                .remediate("rem.cert-manager-install", distribution, &vars)
                .subject("namespace/cert-manager");
            }
            return Outcome::pass(
                "cert-manager is not installed yet; setup installs it (no --skip-cert-manager-install)",
            );
        }
        let mut problems = Vec::new();
        let mut namespace = "cert-manager".to_string();
        for name in COMPONENTS {
            match found.iter().find(|(n, _)| *n == name) {
                None => problems.push(format!("{name} deployment is missing")),
                Some((_, d)) => {
                    namespace = d
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or("cert-manager")
                        .to_string();
                    let want = d
                        .pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1);
                    let ready = d
                        .pointer("/status/readyReplicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    if ready < want || want == 0 {
                        problems.push(format!(
                            "{name} in {namespace} has {ready}/{want} ready replicas"
                        ));
                    }
                }
            }
        }
        vars.insert("namespace", namespace.clone());
        if problems.is_empty() {
            return Outcome::pass(format!(
                "cert-manager, cert-manager-cainjector and cert-manager-webhook are ready in {namespace}"
            ));
        }
        Outcome::fail(problems.join("; "))
            .detail("problems", &problems)
            .remediate("rem.cert-manager-not-ready", distribution, &vars)
            .subject(format!("namespace/{namespace}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Status;
    use crate::test_support::{Case, expect};

    fn dep(name: &str, ready: i64) -> Value {
        json!({"metadata": {"name": name, "namespace": "cert-manager"}, "spec": {"replicas": 1},
               "status": {"replicas": 1, "readyReplicas": ready}})
    }

    #[tokio::test]
    async fn absent_is_fine_unless_install_is_skipped() {
        let case = || {
            Case::new().flag("with_tls", "true").objects(
                &kinds::DEPLOYMENTS,
                Scope::AllNamespaces,
                vec![],
            )
        };
        let o = case().run(&Ready).await;
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        let o = case()
            .flag("skip_cert_manager_install", "true")
            .run(&Ready)
            .await;
        expect(&o, Status::Fail, &["--skip-cert-manager-install"]);
    }

    #[tokio::test]
    async fn an_unready_webhook_fails() {
        let o = Case::new()
            .flag("with_tls", "true")
            .objects(
                &kinds::DEPLOYMENTS,
                Scope::AllNamespaces,
                vec![
                    dep("cert-manager", 1),
                    dep("cert-manager-cainjector", 1),
                    dep("cert-manager-webhook", 0),
                ],
            )
            .run(&Ready)
            .await;
        expect(
            &o,
            Status::Fail,
            &["cert-manager-webhook in cert-manager has 0/1 ready replicas"],
        );
    }
}
