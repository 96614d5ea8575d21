use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::list_cm;
use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{Scope, kinds};
use crate::model::{CheckMeta, Outcome, Status};
use crate::tls::{Finding, conclude, describe_claimant, name_of, namespace_of};

declare_check! {
    /// ### What it checks
    /// No TLS Secret is claimed by more than one Certificate (`spec.secretName`, per namespace), and no
    /// Ingress in the `registry` namespace carries a `cert-manager.io/cluster-issuer` (or
    /// `cert-manager.io/issuer`) annotation: registry TLS has one explicit owner, `registry/registry-cert`.
    ///
    /// ### Why it matters
    /// With the annotation, cert-manager's ingress-shim creates a second Certificate for `registry-tls`.
    /// Two Certificates writing one Secret issue in turn, overwrite each other's certificate and burn the
    /// Let's Encrypt duplicate-certificate budget; setup refuses to apply TLS while another Certificate
    /// references `registry-tls`.
    ///
    /// ### What a failure looks like
    /// `Secret registry/registry-tls is claimed by 2 Certificates: registry/registry-cert and
    /// registry/registry-tls (created by ingress-shim from Ingress registry/registry)`
    ///
    /// ### How to fix
    /// Remove the annotation from the Ingress, then delete the stale Certificate (remediation
    /// `rem.tls-secret-double-owner` prints both commands for the objects found).
    pub struct SingleOwner {
        id: "certmanager.single-owner",
        title: "Each TLS Secret has one Certificate; the registry Ingress has no issuer annotation",
        category: "certmanager",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::CERTIFICATES, kinds::INGRESSES, kinds::CUSTOM_RESOURCE_DEFINITIONS],
    }
}

const ISSUER_ANNOTATIONS: [&str; 2] = ["cert-manager.io/cluster-issuer", "cert-manager.io/issuer"];

#[async_trait]
impl Check for SingleOwner {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let certificates = match list_cm(ctx, &kinds::CERTIFICATES).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Outcome::pass(
                    "cert-manager is not installed (no certificates.cert-manager.io CRD): no Certificate claims a Secret",
                );
            }
            Err(o) => return o,
        };
        let ingresses = match ctx
            .evidence
            .kube
            .list(&kinds::INGRESSES, &Scope::Namespace("registry".into()))
            .await
        {
            Ok(i) => i,
            Err(e) => return unreadable("Ingresses in namespace registry", &e),
        };
        let mut by_secret: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
        for c in certificates.iter() {
            if let Some(secret) = c.pointer("/spec/secretName").and_then(Value::as_str) {
                by_secret
                    .entry((namespace_of(c).to_string(), secret.to_string()))
                    .or_default()
                    .push(c);
            }
        }
        let annotated: Vec<(&Value, &str, String)> = ingresses
            .iter()
            .filter_map(|i| {
                ISSUER_ANNOTATIONS.iter().find_map(|a| {
                    i.pointer("/metadata/annotations")
                        .and_then(|m| m.get(*a))
                        .and_then(Value::as_str)
                        .map(|v| (i, *a, v.to_string()))
                })
            })
            .collect();
        let mut findings = Vec::new();
        for ((ns, secret), claims) in &by_secret {
            if claims.len() < 2 {
                continue;
            }
            let keep = claims
                .iter()
                .find(|c| name_of(c) == "registry-cert")
                .or_else(|| claims.iter().find(|c| !from_ingress(c)))
                .copied()
                .unwrap_or(claims[0]);
            let stale = claims
                .iter()
                .find(|c| name_of(c) != name_of(keep))
                .copied()
                .unwrap_or(claims[1]);
            let names: Vec<String> = claims.iter().map(|c| describe_claimant(c)).collect();
            let ingress = ingress_owner(stale).unwrap_or("<ingress>").to_string();
            findings.push(
                Finding::new(
                    Status::Fail,
                    format!(
                        "Secret {ns}/{secret} is claimed by {} Certificates: {}; cert-manager issues for each in turn and overwrites the other's certificate",
                        claims.len(),
                        crate::tls::cert::and_list(&names)
                    ),
                    "rem.tls-secret-double-owner",
                )
                .var("namespace", ns.clone())
                .var("secret", secret.clone())
                .var("keep", name_of(keep))
                .var("stale", name_of(stale))
                .var("ingress", ingress)
                .subject(format!("secret/{ns}/{secret}")),
            );
        }
        for (ingress, annotation, value) in &annotated {
            let name = name_of(ingress);
            let secrets: Vec<String> = ingress
                .pointer("/spec/tls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("secretName").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
            let secret = secrets
                .first()
                .cloned()
                .unwrap_or_else(|| "registry-tls".into());
            findings.push(
                Finding::new(
                    Status::Fail,
                    format!(
                        "Ingress registry/{name} carries {annotation}={value}: ingress-shim creates a second Certificate for Secret registry/{secret} next to registry/registry-cert (registry TLS must have one explicit owner)"
                    ),
                    "rem.tls-secret-double-owner",
                )
                .var("namespace", "registry")
                .var("secret", secret.clone())
                .var("keep", "registry-cert")
                .var("stale", secret.clone())
                .var("ingress", name)
                // The Secret, not the Ingress: the same root cause as a duplicate Certificate for it.
                .subject(format!("secret/registry/{secret}")),
            );
        }
        conclude(
            findings,
            format!(
                "{} TLS Secret(s) have one Certificate each; no registry Ingress carries an issuer annotation",
                by_secret.len()
            ),
            ctx.distribution().await,
        )
    }
}

fn from_ingress(c: &Value) -> bool {
    ingress_owner(c).is_some()
}

fn ingress_owner(c: &Value) -> Option<&str> {
    c.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("kind").and_then(Value::as_str) == Some("Ingress"))
        .and_then(|r| r.get("name").and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::{Case, expect};

    fn case(certs: Vec<Value>, ingresses: Vec<Value>) -> Case {
        Case::new()
            .objects(
                &kinds::CUSTOM_RESOURCE_DEFINITIONS,
                Scope::Cluster,
                vec![json!({"metadata": {"name": "certificates.cert-manager.io"}})],
            )
            .objects(&kinds::CERTIFICATES, Scope::AllNamespaces, certs)
            .objects(&kinds::INGRESSES, Scope::AllNamespaces, ingresses)
    }

    fn cert(name: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "registry"}, "spec": {"secretName": "registry-tls"}})
    }

    #[tokio::test]
    async fn an_issuer_annotation_on_the_registry_ingress_fails_before_a_second_certificate_exists()
    {
        let ingress = json!({"metadata": {"name": "registry", "namespace": "registry",
                                          "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}},
                             "spec": {"tls": [{"hosts": ["registry.example.com"], "secretName": "registry-tls"}]}});
        let o = case(vec![cert("registry-cert")], vec![ingress])
            .run(&SingleOwner)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &["Ingress registry/registry carries cert-manager.io/cluster-issuer=letsencrypt-prod"],
        );
        assert_eq!(rem, "rem.tls-secret-double-owner");
        assert_eq!(o.subjects, vec!["secret/registry/registry-tls"]);
    }

    #[tokio::test]
    async fn one_owner_per_secret_passes() {
        let o = case(vec![cert("registry-cert")], vec![])
            .run(&SingleOwner)
            .await;
        assert_eq!(o.status, Status::Pass, "{}", o.message);
    }
}
